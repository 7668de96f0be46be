"""Properties of the archive reader (spec sections 2.2 and 2.3), on generated ``.pyapp`` zip files.

The zips are written entry by entry with hostile names (``../x``, absolute paths, drive letters,
backslashes, names that are the same once normalized), links and other special files, encrypted
entries, declared sizes larger or smaller than the data, and RECORD files with bad lines. Whatever
the zip, opening it as a package and extracting it ends in the package, or in
:class:`~apppackage.errors.UnsafeArchive` naming every offending member (the rules of section 2.2,
computed here on their own), or :class:`~apppackage.errors.IntegrityError` for RECORD; never in
another exception, and never with a file written outside the target directory.

Derandomized and bounded, like every property test here; ``PYAPP_PROPERTY_EXAMPLES`` asks for more.
"""

from __future__ import annotations

import shutil
import stat
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from properties import bounded

from apppackage import AppPackage, IntegrityError, UnsafeArchive
from apppackage.archive import Limits, extract
from apppackage.errors import pointer
from apppackage.record import hash_bytes, parse_record, render_record

LIMITS = Limits(max_entries=12, max_file_size=2000, max_total_size=5000)
METADATA = b'pyapp: "1.0"\nname: x\nversion: "1"\n'


# -- generated zips -------------------------------------------------------------------------------

SANDBOX = "{sandbox}"  # an absolute name pointing into the test's own directory, where a leak would show

safe_names = st.from_regex(r"(src|static|[a-z]{1,4})(/[a-zA-Z0-9_.é-]{1,6}){0,2}", fullmatch=True)
hostile_names = st.sampled_from(
    [
        "../x", "a/../../x", "a/..", "..", "/abs", f"{SANDBOX}/evil", "//x", "C:/x", "c:x", "a\\b",
        "..\\x", ".", "./", "./src", "src//x", "src/./x", "src/", "src", "metadata.yaml/", "",
        "a" * 300, "src/" + "b" * 256, " ../x", ".../x", "src/\u202ex", "RECORD", "metadata.yaml",
    ]
)  # fmt: skip
names = st.one_of(safe_names, hostile_names, st.tuples(safe_names, hostile_names).map("/".join))
MODES = [0, 0o644, stat.S_IFREG | 0o644, stat.S_IFREG | 0o755, stat.S_IFDIR | 0o755, stat.S_IFLNK | 0o777,
         stat.S_IFIFO | 0o644, stat.S_IFCHR | 0o600, stat.S_IFSOCK | 0o600, stat.S_IFBLK | 0o600]  # fmt: skip


@dataclass(frozen=True)
class Entry:
    name: str
    data: bytes
    mode: int = 0o644
    encrypted: bool = False
    declared: int | None = None  # the uncompressed size written in the headers, when not the data's
    method: int = zipfile.ZIP_DEFLATED


entries = st.builds(
    Entry,
    name=names,
    data=st.binary(max_size=40) | st.sampled_from([b"x" * 1500, b"\0" * 3000]),
    mode=st.sampled_from(MODES),
    encrypted=st.sampled_from([False, False, False, True]),
    declared=st.none() | st.none() | st.sampled_from([0, 1, 2**31, 2**32 - 1]),
    method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
)


def write_zip(path: Path, items: list[Entry], sandbox: Path) -> None:
    """Write *items* as given, then patch the headers (flags, declared sizes) zipfile would not write."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names written on purpose
        with zipfile.ZipFile(path, "w") as zf:
            for item in items:
                info = zipfile.ZipInfo("placeholder", date_time=(2024, 1, 1, 0, 0, 0))
                info.filename = item.name.replace(SANDBOX, str(sandbox))  # as given: no normalizing
                info.external_attr = item.mode << 16
                info.compress_type = item.method
                zf.writestr(info, item.data)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    central = _central_records(data)
    for item, info, at in zip(items, infos, central, strict=True):
        local = info.header_offset
        if item.encrypted:
            for offset in (local + 6, at + 8):
                struct.pack_into("<H", data, offset, struct.unpack_from("<H", data, offset)[0] | 1)
        if item.declared is not None:
            struct.pack_into("<I", data, local + 22, item.declared)
            struct.pack_into("<I", data, at + 24, item.declared)
    path.write_bytes(bytes(data))


def _central_records(data: bytearray) -> list[int]:
    """The offsets of the central directory records, in order."""
    end = data.rfind(b"PK\x05\x06")
    count, _, start = struct.unpack_from("<HII", data, end + 10)
    offsets = []
    for _ in range(count):
        offsets.append(start)
        name, extra, comment = struct.unpack_from("<HHH", data, start + 28)
        start += 46 + name + extra + comment
    return offsets


# -- the rules of section 2.2, on their own ---------------------------------------------------------


def refused_names(items: list[Entry], sandbox: Path) -> set[str]:
    """The entries section 2.2 says a reader must name when it refuses the archive (rules 1-10)."""
    found: set[str] = set()
    seen: set[str] = set()
    for item in items:
        name = item.name.replace(SANDBOX, str(sandbox))
        size = len(item.data) if item.declared is None else item.declared
        kind = stat.S_IFMT(item.mode)
        if (
            not name
            or "\\" in name
            or name.startswith("/")
            or name[1:2] == ":"
            or ".." in name.split("/")
            or kind not in (0, stat.S_IFREG, stat.S_IFDIR)
            or item.encrypted
        ):
            found.add(name)
            continue
        normalized = "/".join(p for p in name.split("/") if p not in ("", "."))
        if normalized in seen:
            found.add(name)
        seen.add(normalized)
        if size > LIMITS.max_file_size:
            found.add(name)
    return found


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pyapp-props-") as name:
        yield Path(name)


def sandbox_in(workdir: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=workdir, prefix="zip-"))


# -- the properties ---------------------------------------------------------------------------------


@bounded(250)
@given(st.lists(entries, max_size=6))
def test_any_zip_is_opened_or_refused_naming_each_offending_member(workdir: Path, items: list[Entry]) -> None:
    sandbox = sandbox_in(workdir)
    archive = sandbox / "app.pyapp"
    write_zip(archive, [Entry("metadata.yaml", METADATA), *items], sandbox)
    expected = refused_names(items, sandbox)
    too_many = len(items) + 1 > LIMITS.max_entries
    too_large = sum(len(i.data) if i.declared is None else i.declared for i in items) > LIMITS.max_total_size
    members = {pointer(i.name.replace(SANDBOX, str(sandbox))) for i in items}
    before = tree(sandbox)
    try:
        package = AppPackage(archive, limits=LIMITS)
    except UnsafeArchive as exc:
        assert {p.file for p in exc.problems} == {"app.pyapp"}
        named = {p.path for p in exc.problems}
        assert {pointer(name) for name in expected} <= named or too_many, exc
        assert named <= members | {""}, exc
        assert expected or too_many or too_large or named - {""}, (
            f"refused for no reason of section 2.2: {exc}"
        )
    else:
        with package:
            assert expected == set() and not too_many, f"accepted with {sorted(expected)}"
            try:
                problems = package.validate() + package.verify()
            except UnsafeArchive as exc:  # an entry whose data does not match its headers, once read
                assert {p.path for p in exc.problems} <= members, exc
            else:
                assert all(p.file and (p.path == "" or p.path.startswith("/")) for p in problems)
    assert tree(sandbox) == before, "opening an archive writes nothing"


@bounded(250)
@given(st.lists(entries, max_size=6))
def test_extraction_writes_the_entries_inside_the_target_or_nothing(
    workdir: Path, items: list[Entry]
) -> None:
    sandbox = sandbox_in(workdir)
    archive = sandbox / "app.pyapp"
    write_zip(archive, items, sandbox)
    target = sandbox / "out" / "target"
    before = tree(sandbox)
    with zipfile.ZipFile(archive) as zf:
        try:
            extract(zf, target, LIMITS)
        except UnsafeArchive as exc:
            assert exc.problems and all(p.path == "" or p.path.startswith("/") for p in exc.problems), exc
            assert not target.exists() or not any(target.iterdir()), "a refused archive leaves nothing"
            assert tree(sandbox) - before <= {"out", "out/target"}
            return
    assert refused_names(items, sandbox) == set()
    written = tree(sandbox) - before
    assert all(path == "out" or path.startswith("out/target") for path in written), sorted(written)
    for item in items:
        dest = target / item.name
        if item.name.endswith("/"):
            assert dest.is_dir()
        else:
            assert dest.read_bytes() == item.data
            assert stat.S_IMODE(dest.stat().st_mode) == (0o755 if item.mode & 0o111 else 0o644)


# -- RECORD ---------------------------------------------------------------------------------------------

record_lines = st.one_of(
    st.text(max_size=40),
    st.tuples(st.text(max_size=10), st.text(max_size=10), st.text(max_size=10)).map(",".join),
    st.sampled_from(["RECORD,,", "a,sha256=x,1", "a,sha256=x,9" + "9" * 5000, '"unclosed,x,1', "a,md5=x,1"]),
    st.text(alphabet='a,\r\n"\0', max_size=20),
)
records = st.lists(record_lines, max_size=6).map("\n".join) | st.binary(max_size=60).map(
    lambda b: b.decode("utf-8", "replace")
)


@bounded(300)
@given(records)
def test_any_record_is_read_or_its_bad_lines_reported(text: str) -> None:
    entries, problems = parse_record(text, "RECORD")
    assert all(p.file == "RECORD" and p.path.startswith("/") and p.message for p in problems), problems
    assert all(e.size is None or e.size >= 0 for e in entries.values())


@bounded(200)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=12).filter(lambda n: n != "RECORD"), st.binary(max_size=8), max_size=5
    )
)
def test_a_record_written_for_any_file_names_reads_back_the_same(files: dict[str, bytes]) -> None:
    entries, problems = parse_record(render_record(files))
    assert problems == []
    assert {name: (e.hash, e.size) for name, e in entries.items() if name != "RECORD"} == {
        name: (hash_bytes(data), len(data)) for name, data in files.items()
    }


FILES = {"metadata.yaml": METADATA, "src/app.py": b"x = 1\n", "static/a.css": b"body {}\n"}


@bounded(100)
@given(records, st.sampled_from(sorted(FILES)), st.binary(min_size=1, max_size=8))
def test_a_package_that_does_not_match_its_record_fails_verification_naming_the_file(
    workdir: Path, text: str, changed: str, extra: bytes
) -> None:
    sandbox = sandbox_in(workdir)
    good = [Entry(name, data) for name, data in FILES.items()]
    write_zip(sandbox / "good.pyapp", [*good, Entry("RECORD", render_record(FILES).encode())], sandbox)
    with AppPackage(sandbox / "good.pyapp") as package:
        assert package.verify() == []
    tampered = [Entry(e.name, e.data + extra if e.name == changed else e.data) for e in good]
    write_zip(sandbox / "bad.pyapp", [*tampered, Entry("RECORD", render_record(FILES).encode())], sandbox)
    with AppPackage(sandbox / "bad.pyapp") as package, pytest.raises(IntegrityError) as refused:
        package.check_integrity()
    assert [p.file for p in refused.value.problems] == [changed]
    write_zip(sandbox / "any.pyapp", [*good, Entry("RECORD", text.encode())], sandbox)
    listed = parse_record(text)[0]
    with AppPackage(sandbox / "any.pyapp") as package:
        problems = package.verify()
        # Each problem names a file: one of the package, RECORD, or one RECORD lists.
        assert all(p.file in {*FILES, "RECORD", *listed} and p.file for p in problems), problems
        if problems:
            with pytest.raises(IntegrityError):
                package.check_integrity()
        else:
            assert {name: hash_bytes(data) for name, data in FILES.items()} == {
                name: entry.hash for name, entry in listed.items() if name != "RECORD"
            }
    shutil.rmtree(sandbox)


def test_the_generated_names_are_kept_as_written(workdir: Path) -> None:
    """The zips above hold the hostile names as given (zipfile would otherwise normalize some)."""
    sandbox = sandbox_in(workdir)
    items = [Entry("../x", b"1"), Entry("a\\b", b"2"), Entry("/abs", b"3"), Entry("src//x", b"4")]
    write_zip(sandbox / "z.zip", items, sandbox)
    with zipfile.ZipFile(sandbox / "z.zip") as zf:
        assert [i.filename for i in zf.infolist()] == ["../x", "a\\b", "/abs", "src//x"]
