"""The wheel unpacker: files where the scheme says, hashes checked while writing, INSTALLER and RECORD."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import stat
import sys

import pytest
from pyapp_runtime import WheelError
from pyapp_runtime.dependencies.wheels import Scheme, WheelFile, install_wheel


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


def test_real_wheels_from_the_wheelhouse_install(tmp_path, wheelhouse):
    site = tmp_path / "site"
    for path in sorted(wheelhouse.glob("*.whl")):
        wheel = WheelFile.from_path(path)
        if wheel.rank is not None:
            install_wheel(wheel, Scheme(site=site))
    assert (site / "pyramid" / "__init__.py").is_file()
    assert any(n.startswith("_speedups") for n in os.listdir(site / "markupsafe"))  # the compiled part
