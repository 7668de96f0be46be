"""RECORD, the integrity manifest of a package (spec section 2.3)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from apppackage import AppPackage, IntegrityError
from apppackage.record import RecordEntry, hash_bytes, parse_record, render_record, verify_files

EMPTY_SHA256 = "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"


def test_hashes_are_urlsafe_base64_without_padding() -> None:
    assert hash_bytes(b"") == EMPTY_SHA256
    assert hash_bytes(b"\xff" * 100).startswith("sha256=") and "=" not in hash_bytes(b"\xff" * 100)[7:]


def test_render_writes_sorted_lines_and_lists_itself_last() -> None:
    text = render_record({"src/b.py": b"", "metadata.yaml": b"abc", "RECORD": b"ignored"})
    assert text == (f"metadata.yaml,{hash_bytes(b'abc')},3\nsrc/b.py,{EMPTY_SHA256},0\nRECORD,,\n")


def test_render_and_parse_round_trip() -> None:
    files = {"a.txt": b"one", "dir/with,comma.txt": b"two", 'quote"d.txt': b"", "ü/ß.py": b"x" * 1000}
    entries, problems = parse_record(render_record(files))
    assert problems == []
    assert entries == {
        **{
            name: RecordEntry(path=name, hash=hash_bytes(data), size=len(data))
            for name, data in files.items()
        },
        "RECORD": RecordEntry(path="RECORD", hash="", size=None),
    }
    rows = [(e.path, e.hash, e.size) for e in entries.values() if e.path != "RECORD"]
    assert render_record(rows) == render_record(files)  # type: ignore[arg-type]


def test_malformed_lines_are_reported_with_their_line_number() -> None:
    text = (
        f"good.txt,{EMPTY_SHA256},0\n"
        "two,columns\n"
        "md5.txt,md5=abc,3\n"
        f"nosize.txt,{EMPTY_SHA256},big\n"
        f"good.txt,{EMPTY_SHA256},0\n"
        "\n"
        "RECORD,,\n"
    )
    entries, problems = parse_record(text, "RECORD")
    assert set(entries) == {"good.txt", "RECORD"}
    assert [str(p) for p in problems] == [
        "RECORD:/2: expected path,hash,size",
        "RECORD:/3: md5.txt: expected sha256=<digest> and a size",
        "RECORD:/4: nosize.txt: expected sha256=<digest> and a size",
        "RECORD:/5: good.txt is listed twice",
    ]


def test_lines_the_csv_reader_cannot_read_are_reported_not_a_crash() -> None:
    # Found by test_properties_archive: csv.Error and int()'s ValueError escaped parse_record.
    big = "9" * 5000
    _, problems = parse_record(f"a.txt,{EMPTY_SHA256},{big}\n" + '"' + "x" * 200_000 + '",,\n')
    assert [str(p) for p in problems] == [
        "RECORD:/1: a.txt: expected sha256=<digest> and a size",
        "RECORD:/2: not a CSV line: field larger than field limit (131072)",
    ]
    # An unquoted "\r" ends a line, as the csv module reads it.
    entries, problems = parse_record(f"a\rb,{EMPTY_SHA256},0\n,{EMPTY_SHA256},0\nRECORD,,\r\n")
    assert set(entries) == {"b", "RECORD"}
    assert [str(p) for p in problems] == [
        "RECORD:/1: expected path,hash,size",
        "RECORD:/3: a row without a path",
    ]


def test_a_file_name_with_a_carriage_return_is_quoted() -> None:
    # Found by test_properties_archive: csv.writer left the "\r" unquoted, and a reader ends the line there.
    text = render_record({"a\rb.txt": b"", "c\nd.txt": b"", "plain.txt": b""})
    assert text.startswith(f'"a\rb.txt",{EMPTY_SHA256},0\n"c\nd.txt",')
    entries, problems = parse_record(text)
    assert problems == [] and set(entries) == {"a\rb.txt", "c\nd.txt", "plain.txt", "RECORD"}


def test_verify_files_names_each_mismatch() -> None:
    record, _ = parse_record(render_record({"same": b"1", "changed": b"abc", "resized": b"ab", "gone": b""}))
    actual = {
        "same": (hash_bytes(b"1"), 1),
        "changed": (hash_bytes(b"xyz"), 3),
        "resized": (hash_bytes(b"abc"), 3),
        "new": (hash_bytes(b""), 0),
    }
    assert [str(p) for p in verify_files(record, actual)] == [
        "changed: sha256 does not match RECORD",
        "gone: is listed in RECORD but missing",
        "new: is not listed in RECORD",
        "resized: size 3 does not match RECORD (2)",
    ]


# -- a package against its RECORD ---------------------------------------------------------


def test_an_intact_package_verifies(demo_dir: Path, demo_zip: Path) -> None:
    for path in (demo_dir, demo_zip):
        with AppPackage(path) as pkg:
            assert pkg.verify() == []
            pkg.check_integrity()


def test_caches_of_a_directory_package_are_not_its_files(demo_dir: Path) -> None:
    cache = demo_dir / "src" / "demo" / "__pycache__"
    cache.mkdir()
    (cache / "web.cpython-311.pyc").write_bytes(b"\0")
    (demo_dir / "src" / "demo" / "stale.pyc").write_bytes(b"\0")
    assert AppPackage(demo_dir).verify() == []


def tamper(root: Path) -> None:
    """Change one file (same size), resize another, remove one, add one."""
    (root / "src" / "demo" / "web.py").write_text(
        (root / "src" / "demo" / "web.py").read_text().replace("demo", "DEMO")
    )
    (root / "static" / "style.css").write_text("body {}\n")
    (root / "deps" / "requirements.txt").unlink()
    (root / "src" / "demo" / "backdoor.py").write_text("import os\n")


EXPECTED_TAMPERING = [
    "deps/requirements.txt: is listed in RECORD but missing",
    "src/demo/backdoor.py: is not listed in RECORD",
    "src/demo/web.py: sha256 does not match RECORD",
    "static/style.css: size 8 does not match RECORD (23)",
]


def test_verify_names_every_changed_missing_and_extra_file(demo_dir: Path) -> None:
    tamper(demo_dir)
    pkg = AppPackage(demo_dir)
    assert [str(p) for p in pkg.verify()] == EXPECTED_TAMPERING
    with pytest.raises(IntegrityError) as info:
        pkg.check_integrity()
    assert "src/demo/web.py: sha256 does not match RECORD" in str(info.value)
    assert len(info.value.problems) == 4


def test_verify_a_tampered_zip(tmp_path: Path, demo_dir: Path, zip_factory: Any) -> None:
    tamper(demo_dir)
    with AppPackage(zip_factory(demo_dir, tmp_path / "tampered.pyapp")) as pkg:
        assert [str(p) for p in pkg.verify()] == EXPECTED_TAMPERING


def test_a_malformed_record_line_is_reported(demo_dir: Path) -> None:
    record = demo_dir / "RECORD"
    lines = record.read_text().splitlines()
    broken = next(i for i, line in enumerate(lines) if line.startswith("static/style.css,"))
    lines[broken] = "static/style.css,sha256=short"
    record.write_text("\n".join(lines) + "\n")
    pkg = AppPackage(demo_dir)
    assert [str(p) for p in pkg.verify()] == [
        f"RECORD:/{broken + 1}: expected path,hash,size",
        "static/style.css: is not listed in RECORD",
    ]
    # validate() reports the malformed line too: the package cannot be trusted as it is.
    assert [str(p) for p in pkg.validate()] == [f"RECORD:/{broken + 1}: expected path,hash,size"]


def test_a_package_without_record_cannot_be_verified(tmp_path: Path, demo_dir: Path) -> None:
    copy = tmp_path / "norecord"
    shutil.copytree(demo_dir, copy)
    (copy / "RECORD").unlink()
    pkg = AppPackage(copy)
    assert [str(p) for p in pkg.verify()] == ["RECORD: is missing: build the package to create it"]
    assert pkg.validate() == [], "a checkout has no RECORD and is still a valid package"
