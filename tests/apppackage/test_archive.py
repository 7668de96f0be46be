"""Safe reading and extraction of ``.pyapp`` archives (spec section 2.2)."""

from __future__ import annotations

import stat
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from apppackage import AppPackage, AppPackageError, UnsafeArchive
from apppackage.archive import Limits, extract, open_archive

Entry = tuple[str, bytes] | tuple[zipfile.ZipInfo, bytes]


def write_zip(path: Path, entries: Iterable[Entry], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names written on purpose
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return path


def info(name: str, mode: int) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    zi.external_attr = mode << 16
    zi.compress_type = zipfile.ZIP_DEFLATED
    return zi


def central_record(data: bytes | bytearray, name: str) -> int:
    """The offset of *name*'s central directory record."""
    offset = 0
    while (offset := data.find(b"PK\x01\x02", offset)) >= 0:
        length = struct.unpack_from("<H", data, offset + 28)[0]
        if data[offset + 46 : offset + 46 + length] == name.encode():
            return offset
        offset += 4
    raise AssertionError(f"{name} not in the central directory")


def patch(path: Path, name: str, *, size: int | None = None, flags: int = 0) -> None:
    """Change the declared uncompressed *size* of *name*, or OR *flags* into its header flags."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo(name).header_offset
    central = central_record(data, name)
    assert data[local : local + 4] == b"PK\x03\x04"
    if size is not None:
        struct.pack_into("<I", data, local + 22, size)
        struct.pack_into("<I", data, central + 24, size)
    if flags:
        for offset in (local + 6, central + 8):
            struct.pack_into("<H", data, offset, struct.unpack_from("<H", data, offset)[0] | flags)
    path.write_bytes(bytes(data))


GOOD = [("metadata.yaml", b'pyapp: "1.0"\nname: x\nversion: "1"\n'), ("src/x/__init__.py", b"")]


def hostile(tmp_path: Path, entries: list[Any]) -> Path:
    return write_zip(tmp_path / "in" / "hostile.pyapp", [*GOOD, *entries])


HOSTILE: dict[str, tuple[list[Any], str]] = {
    "absolute": ([("{tmp}/evil.txt", b"x")], "evil.txt' is an absolute path"),
    "drive": ([("C:/evil.txt", b"x")], "entry 'C:/evil.txt' is an absolute path"),
    "dotdot": ([("../evil.txt", b"x")], "entry '../evil.txt' contains a '..' component"),
    "deep-dotdot": ([("src/../../evil.txt", b"x")], "entry 'src/../../evil.txt' contains a '..' component"),
    "backslash": ([("..\\evil.txt", b"x")], "contains a backslash; archives use '/' separators"),
    "symlink": ([(info("src/link", stat.S_IFLNK | 0o777), b"/etc/passwd")], "'src/link' is a symbolic link"),
    "fifo": ([(info("src/fifo", stat.S_IFIFO | 0o644), b"")], "'src/fifo' is not a regular file"),
    "duplicate": ([("src/x/__init__.py", b"again")], "entry 'src/x/__init__.py' appears twice"),
    "duplicate-normalized": ([("src//x/__init__.py", b"again")], "entry 'src//x/__init__.py' appears twice"),
    "bomb": ([("src/zeros.bin", b"\0" * (2 * 1024 * 1024))], "compresses more than 250:1 (a zip bomb?)"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused_and_nothing_is_written(
    tmp_path: Path, case: str, snapshot: Callable[[Path], set[str]]
) -> None:
    entries, reason = HOSTILE[case]
    # An absolute entry names a place inside tmp_path, so that the snapshot would show it.
    entries = [(n.replace("{tmp}", str(tmp_path)) if isinstance(n, str) else n, d) for n, d in entries]
    archive = hostile(tmp_path, entries)
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeArchive) as refused:
        open_archive(archive)
    assert reason in str(refused.value)
    with pytest.raises(UnsafeArchive, match=r"hostile.pyapp is refused"):
        AppPackage(archive)
    with zipfile.ZipFile(archive) as zf, pytest.raises(UnsafeArchive) as refused:
        extract(zf, tmp_path / "out" / "target")
    assert reason in str(refused.value)
    assert snapshot(tmp_path) == before, "nothing was written, inside the target or outside it"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    archive = hostile(
        tmp_path,
        [("/abs", b""), ("../up", b""), (info("ln", stat.S_IFLNK | 0o777), b"x"), ("src/x/__init__.py", b"")],
    )
    with pytest.raises(UnsafeArchive) as refused:
        open_archive(archive)
    assert [(p.file, p.path) for p in refused.value.problems] == [
        ("hostile.pyapp", "/~1abs"),
        ("hostile.pyapp", "/..~1up"),
        ("hostile.pyapp", "/ln"),
        ("hostile.pyapp", "/src~1x~1__init__.py"),
    ]


def test_encrypted_entries_are_refused(tmp_path: Path) -> None:
    archive = hostile(tmp_path, [("src/secret.py", b"x = 1\n")])
    patch(archive, "src/secret.py", flags=0x1)
    with pytest.raises(UnsafeArchive, match=r"entry 'src/secret.py' is encrypted"):
        open_archive(archive)


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (Limits(max_total_size=1000), "extracts to 1234 bytes (limit 1000)"),
        (Limits(max_file_size=500), "entry 'src/b.bin' is 600 bytes (limit 500)"),
        (Limits(max_entries=3), "has 4 entries (limit 3)"),
    ],
)
def test_limits_are_enforced(tmp_path: Path, limits: Limits, reason: str) -> None:
    archive = hostile(tmp_path, [("src/a.bin", b"a" * 600), ("src/b.bin", b"b" * 600)])
    with pytest.raises(UnsafeArchive) as refused:
        AppPackage(archive, limits=limits)
    assert reason in str(refused.value)
    assert len(AppPackage(archive).files()) == 4, "the default limits allow it"


def test_the_ratio_limit_is_adjustable(tmp_path: Path) -> None:
    archive = hostile(tmp_path, [("src/zeros.bin", b"\0" * (2 * 1024 * 1024))])
    with AppPackage(archive, limits=Limits(max_ratio=5000)) as pkg:
        assert len(pkg.read_bytes("src/zeros.bin")) == 2 * 1024 * 1024


def test_not_a_zip_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.pyapp"
    fake.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(UnsafeArchive, match=r"fake.pyapp: is not a readable zip archive"):
        open_archive(fake)
    with pytest.raises(AppPackageError, match="not a package"):
        AppPackage(fake)
    with pytest.raises(AppPackageError, match="no such file or directory"):
        AppPackage(tmp_path / "missing.pyapp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.pyapp"]


def test_an_archive_without_metadata_is_not_a_package(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "x.pyapp", [("src/x.py", b"")])
    with pytest.raises(AppPackageError, match=r"there is no metadata.yaml at its root"):
        AppPackage(archive)


def inflating(tmp_path: Path) -> Path:
    """Good entries, then one whose data inflates past the size its headers declare."""
    archive = hostile(tmp_path, [("src/x/big.py", b"#" * 100_000)])
    patch(archive, "src/x/big.py", size=100)
    return archive


def test_an_entry_inflating_past_its_declared_size_is_refused_on_extraction(
    tmp_path: Path, snapshot: Callable[[Path], set[str]]
) -> None:
    archive = inflating(tmp_path)
    before = snapshot(tmp_path)
    pkg = AppPackage(archive)  # the headers alone look sane
    target = tmp_path / "out" / "target"
    with pytest.raises(UnsafeArchive) as refused:
        pkg.extract(target)
    assert [p.path for p in refused.value.problems] == ["/src~1x~1big.py"]
    assert "entry 'src/x/big.py' is damaged or was tampered with" in str(refused.value)
    assert not target.exists(), "the partly extracted target is removed"
    assert snapshot(tmp_path) - before <= {"out"}
    with pytest.raises(UnsafeArchive, match=r"src/x/big.py"):
        pkg.read_bytes("src/x/big.py")
    pkg.close()


def test_a_damaged_entry_is_refused_when_read(tmp_path: Path) -> None:
    archive = hostile(tmp_path, [("src/x/data.txt", b"0123456789" * 100)])
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        entry = zf.getinfo("src/x/data.txt")
    start = entry.header_offset + 30 + len(entry.filename)
    raw[start : start + 4] = b"\xde\xad\xbe\xef"
    archive.write_bytes(bytes(raw))
    with AppPackage(archive) as pkg, pytest.raises(UnsafeArchive, match=r"src/x/data.txt"):
        pkg.read_bytes("src/x/data.txt")


def test_extraction_writes_the_files_with_safe_modes(tmp_path: Path) -> None:
    archive = hostile(
        tmp_path,
        [
            (info("bin/run", stat.S_IFREG | 0o4775), b"#!/bin/sh\n"),
            (info("data/", stat.S_IFDIR | 0o777), b""),
        ],
    )
    with zipfile.ZipFile(archive) as zf:
        root = extract(zf, tmp_path / "target")
    assert (root / "metadata.yaml").read_bytes() == GOOD[0][1]
    assert stat.S_IMODE((root / "metadata.yaml").stat().st_mode) == 0o644
    assert stat.S_IMODE((root / "bin" / "run").stat().st_mode) == 0o755
    assert (root / "data").is_dir()


@pytest.mark.parametrize(
    ("entries", "path", "reason"),
    [
        (
            [("src/x", b"a file"), ("src/x/y.py", b"")],
            "/src~1x",
            "is a file, but other entries are inside it",
        ),
        ([("src/x/y.py", b""), ("./src/x", b"")], "/.~1src~1x", "is a file, but other entries are inside it"),
        ([(".", b"a file")], "/.", "names the package's root, not a file in it"),
    ],
)
def test_a_file_that_other_entries_take_for_a_directory_is_refused(
    tmp_path: Path, entries: list[Entry], path: str, reason: str, snapshot: Callable[[Path], set[str]]
) -> None:
    # Found by test_properties_archive: extraction failed with FileExistsError or NotADirectoryError.
    archive = hostile(tmp_path, entries)
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeArchive) as refused:
        AppPackage(archive)
    assert [p.path for p in refused.value.problems] == [path]
    assert reason in str(refused.value)
    with zipfile.ZipFile(archive) as zf, pytest.raises(UnsafeArchive, match=reason):
        extract(zf, tmp_path / "out" / "target")
    assert snapshot(tmp_path) - before <= {"out"}


def test_a_name_too_long_to_write_is_refused_at_the_entry(tmp_path: Path) -> None:
    # Found by test_properties_archive: extraction failed with OSError (File name too long).
    name = "src/" + "n" * 300
    archive = hostile(tmp_path, [(name, b"")])
    with AppPackage(archive) as pkg, pytest.raises(UnsafeArchive) as refused:
        pkg.extract(tmp_path / "out" / "target")
    assert [p.path for p in refused.value.problems] == ["/src~1" + "n" * 300]
    assert "cannot be written: File name too long" in str(refused.value)
    assert not (tmp_path / "out" / "target").exists()


def test_archives_written_by_zipfile_writestr_are_accepted(tmp_path: Path) -> None:
    # writestr() records the permissions 0600 and no file type: a regular file.
    archive = write_zip(tmp_path / "plain.pyapp", GOOD)
    with zipfile.ZipFile(archive) as zf:
        assert stat.S_IFMT(zf.getinfo("metadata.yaml").external_attr >> 16) == 0
    assert AppPackage(archive).files() == ["metadata.yaml", "src/x/__init__.py"]


def test_extraction_refuses_a_non_empty_target_and_keeps_it(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "ok.pyapp", GOOD)
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with AppPackage(archive) as pkg, pytest.raises(UnsafeArchive, match="extraction target is not empty"):
        pkg.extract(target)
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]


def test_extracting_the_demo_gives_the_same_package(tmp_path: Path, demo_zip: Path, demo_dir: Path) -> None:
    with AppPackage(demo_zip) as pkg:
        extracted = pkg.extract(tmp_path / "release")
    assert not extracted.is_archive
    assert extracted.description == AppPackage(demo_dir).description
    assert extracted.files() == AppPackage(demo_dir).files()
    assert extracted.verify() == []
    with pytest.raises(AppPackageError, match="is a directory, not an archive"):
        extracted.extract(tmp_path / "again")
