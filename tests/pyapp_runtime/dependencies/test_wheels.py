"""The wheel unpacker: files where the scheme says, hashes checked while writing, INSTALLER and RECORD.

And its refusals as a user meets them: ``pyapp install`` of a package that bundles a bad wheel fails and
leaves nothing installed.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from pyapp_runtime import WheelError
from pyapp_runtime.dependencies.wheels import (
    Scheme,
    WheelFile,
    install_wheel,
    read_headers,
    supported_tags,
)


def digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_purelib_data_scripts_and_headers_go_where_the_scheme_says(tmp_path, make_wheel):
    wheel = make_wheel(
        tmp_path,
        {
            "demo/__init__.py": b"VALUE = 1\n",
            "demo-1.0.data/scripts/demo-tool": b"#!python\nprint('hi')\n",
            "demo-1.0.data/data/share/demo/readme.txt": b"data\n",
            "demo-1.0.data/headers/demo.h": b"/* h */\n",
            "demo-1.0.data/purelib/demo_extra.py": b"X = 2\n",
        },
    )
    site = tmp_path / "site"
    result = install_wheel(WheelFile.from_path(wheel), Scheme(site=site))
    assert (result.name, result.version, result.dist_info) == ("demo", "1.0", "demo-1.0.dist-info")
    assert (site / "demo" / "__init__.py").read_bytes() == b"VALUE = 1\n"
    assert (site / "demo_extra.py").is_file()
    script = site / ".scheme" / "scripts" / "demo-tool"
    assert script.read_text().splitlines()[0] == f"#!{sys.executable}"
    assert stat.S_IMODE(script.stat().st_mode) & 0o111
    assert (site / ".scheme" / "data" / "share" / "demo" / "readme.txt").is_file()
    assert (site / ".scheme" / "headers" / "demo.h").is_file()
    dist_info = site / "demo-1.0.dist-info"
    assert (dist_info / "INSTALLER").read_text() == "pyapp\n"
    rows = {r[0]: r for r in csv.reader(io.StringIO((dist_info / "RECORD").read_text()))}
    assert rows["demo/__init__.py"][1] == digest(b"VALUE = 1\n")
    assert rows[".scheme/scripts/demo-tool"][1] == digest(script.read_bytes())
    assert rows["demo-1.0.dist-info/RECORD"] == ["demo-1.0.dist-info/RECORD", "", ""]
    assert "demo-1.0.dist-info/INSTALLER" in rows


def test_a_file_not_matching_the_wheel_record_is_refused_by_name(tmp_path, make_wheel):
    wheel = make_wheel(
        tmp_path, {"demo/__init__.py": b"A = 1\n", "demo/core.py": b"B = 2\n"}, tamper="demo/core.py"
    )
    with pytest.raises(WheelError, match=r"demo-1.0-py3-none-any.whl: demo/core.py does not match its hash"):
        install_wheel(WheelFile.from_path(wheel), Scheme(site=tmp_path / "site"))


def test_a_file_missing_from_the_wheel_record_is_refused(tmp_path, make_wheel):
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b"A = 1\n", "demo/x.py": b""}, unlisted="demo/x.py")
    with pytest.raises(WheelError, match=r"demo/x.py is not listed"):
        install_wheel(WheelFile.from_path(wheel), Scheme(site=tmp_path / "site"))


def test_entries_escaping_the_site_dir_are_refused(tmp_path, make_wheel):
    wheel = make_wheel(tmp_path, {"../evil.py": b"x\n"})
    with pytest.raises(WheelError, match="outside the target"):
        install_wheel(WheelFile.from_path(wheel), Scheme(site=tmp_path / "site"))
    assert not (tmp_path / "evil.py").exists()


def test_tags_decide_whether_a_wheel_installs_here(tmp_path):
    assert WheelFile.from_path(tmp_path / "demo-1.0-py3-none-any.whl").rank is not None
    assert WheelFile.from_path(tmp_path / "demo-1.0-cp27-cp27mu-manylinux1_x86_64.whl").rank is None
    assert WheelFile.from_path(tmp_path / "demo-1.0-py3-none-any.whl").key == "demo-1.0"
    with pytest.raises(WheelError, match="not a wheel file name"):
        WheelFile.from_path(tmp_path / "not-a-wheel.whl")


# -- names, tags and WHEEL, read here as packaging and email read them -------------------------------------

NAMES = [
    "demo-1.0-py3-none-any.whl",
    "Zope.Interface-8.0.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "plaster_pastedeploy-1.0.1-py2.py3-none-any.whl",
    "demo-1.0+local.7-PY3-None-ANY.whl",
    "demo-01.00.post1-py3-none-any.foo.whl",
    "demo-1!2.0rc1.dev3-cp311-abi3-linux_x86_64.whl",
    "demo-1.0-1build-py3-none-any.whl",  # a build tag: left to packaging
    "démo-1.0-py3-none-any.whl",  # not ASCII: left to packaging
    "demo-v1.0-py3-none-any.whl",
    "_demo.-1.0-py3-none-any.whl",
]
INVALID = [
    "not-a-wheel.whl",
    "demo-1.0-py3-none-any.zip",
    "demo-1.0-py3-none.whl",
    "de__mo-1.0-py3-none-any.whl",
    "-1.0-py3-none-any.whl",
    "demo-x.y-py3-none-any.whl",
    "demo-1.0-3py-none-any.whl",
    "demo-1.0-py3..cp3-none-any.whl",
    "demo-1.0-py3-none-.whl",
    "demo-1.0-x-py3-none-any.whl",
]


@pytest.mark.parametrize("name", NAMES)
def test_wheel_file_names_are_read_as_packaging_reads_them(tmp_path, name):
    wheel = WheelFile.from_path(tmp_path / name)
    expected_name, version, _build, tags = parse_wheel_filename(name)
    assert (wheel.name, wheel.version) == (expected_name, version)
    assert wheel.tags == {(t.interpreter, t.abi, t.platform) for t in tags}


@pytest.mark.parametrize("name", INVALID)
def test_invalid_wheel_file_names_are_refused_with_what_packaging_says(tmp_path, name):
    with pytest.raises(InvalidWheelFilename) as expected:
        parse_wheel_filename(name)
    with pytest.raises(WheelError) as info:
        WheelFile.from_path(tmp_path / name)
    assert str(info.value) == f"{name}: not a wheel file name: {expected.value}"


def test_the_wheel_names_of_the_wheelhouse_are_read_as_packaging_reads_them(wheelhouse):
    for path in sorted(wheelhouse.glob("*.whl")):
        name, version, _build, tags = parse_wheel_filename(path.name)
        wheel = WheelFile.from_path(path)
        assert (wheel.name, wheel.version) == (name, version)
        assert wheel.tags == {(t.interpreter, t.abi, t.platform) for t in tags}


def test_pure_python_wheels_install_here_as_the_interpreter_tags_say(tmp_path):
    minor = sys.version_info.minor
    tags = [
        "py3-none-any",
        "py2.py3-none-any",
        f"py3{minor}-none-any",
        "py30-none-any",
        f"py3{minor + 1}-none-any",  # a later Python's
        "py2-none-any",
        f"cp3{minor}-none-any",
        "py3-none-linux_x86_64",
        str(next(iter(supported_tags()))),
        "cp27-cp27mu-manylinux1_x86_64",
    ]
    for tag in tags:
        wheel = WheelFile.from_path(tmp_path / f"demo-1.0-{tag}.whl")
        assert wheel.installable is (wheel.rank is not None), tag


HEADER_LINES = st.sampled_from(
    [
        "Wheel-Version: 1.0",
        "wheel-version:2.0 ",
        "Wheel-Version:",
        "Root-Is-Purelib: true",
        "ROOT-IS-PURELIB:\tfalse",
        "Root-Is-Purelib: True",
        "  continued",
        "\tx",
        " ",
        "",
        "From someone",
        "From: someone",
        ": no name",
        "Tag: py3-none-any",
        "not a header",
        "Wheel-Version : 1.0",
        "Généré: oui",
    ]
)


@given(st.lists(st.tuples(HEADER_LINES, st.sampled_from(["\n", "\r\n", "\r"])), max_size=8), st.booleans())
def test_wheel_headers_are_read_as_email_reads_them(lines, last_newline):
    from email.parser import HeaderParser

    text = "".join(line + end for line, end in lines)
    if lines and not last_newline:
        text = text[: -len(lines[-1][1])]
    expected = HeaderParser().parsestr(text)
    headers = read_headers(text)
    for name in ("Wheel-Version", "Root-Is-Purelib", "From", "Tag"):
        assert headers.get(name.lower()) == expected.get(name), (name, text)


def test_real_wheels_from_the_wheelhouse_install(tmp_path, wheelhouse):
    site = tmp_path / "site"
    for path in sorted(wheelhouse.glob("*.whl")):
        wheel = WheelFile.from_path(path)
        if wheel.rank is not None:
            install_wheel(wheel, Scheme(site=site))
    assert (site / "pyramid" / "__init__.py").is_file()
    assert any(n.startswith("_speedups") for n in os.listdir(site / "markupsafe"))  # the compiled part


# -- through the real ``pyapp install``: a package whose bundled wheel is bad is refused whole -------------

WHEEL = "demo-1.0-py3-none-any.whl"
GOOD = {"demo/__init__.py": b"A = 1\n", "demo/core.py": b"B = 2\n"}


def files_outside(root: Path, home: Path) -> list[str]:
    """Every file and directory under *root*, except inside *home*."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p != home and home not in p.parents)


def entries(directory: Path) -> list[str]:
    """The names in *directory* (none when it does not exist), without lock files."""
    return sorted(p.name for p in directory.iterdir() if p.name != ".lock") if directory.is_dir() else []


@pytest.mark.parametrize("where", ["shared", "own"])
@pytest.mark.parametrize(
    ("defect", "message"),
    [
        ("tampered", rf"{WHEEL}: demo/core\.py does not match its hash in demo-1\.0\.dist-info/RECORD"),
        ("unlisted", rf"{WHEEL}: demo/x\.py is not listed \(with a hash\) in demo-1\.0\.dist-info/RECORD"),
        ("escaping", rf"{WHEEL}: entry '(\.\./)+.*/outside/escaped\.py' would be written outside the target"),
    ],
)
def test_pyapp_install_refuses_a_package_whose_bundled_wheel_is_bad(
    tmp_path: Path,
    factory: Any,
    make_wheel: Any,
    pyapp_cli: Any,
    home: Path,
    defect: str,
    message: str,
    where: str,
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    escaped = tmp_path / "outside" / "escaped.py"
    if defect == "tampered":
        wheel = make_wheel(wheels, GOOD, tamper="demo/core.py")
    elif defect == "unlisted":
        wheel = make_wheel(wheels, {**GOOD, "demo/x.py": b"C = 3\n"}, unlisted="demo/x.py")
    else:
        # Enough ../ to climb from wherever the host unpacks it to /, then down to a file outside the home.
        wheel = make_wheel(wheels, {**GOOD, "../" * 64 + str(escaped).lstrip("/"): b"escaped\n"})
    dependencies = {"packages": ["demo"], **({"local": ["demo"]} if where == "own" else {})}
    package = factory.probe(metadata={"dependencies": dependencies}, wheels=[wheel])
    # The package itself is sound (its RECORD lists the wheel as it is): it is the wheel that is refused.
    assert pyapp_cli("verify", package, home=home).returncode == 0
    before = files_outside(tmp_path, home)

    installed = pyapp_cli("install", package, home=home)

    assert installed.returncode == 1, installed.stdout + installed.stderr
    assert re.search(message, installed.stderr), installed.stderr
    listed = pyapp_cli("list", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    app = home / "apps" / "probe"
    assert not (app / "current").exists()
    assert entries(app / "releases") == []
    assert not (home / "apps" / "probe.journal").exists()
    assert entries(home / "server-packages") == []
    assert not (app / "data" / "hooks.log").exists(), "no hook of the app ran"
    assert not escaped.exists()
    assert files_outside(tmp_path, home) == before
