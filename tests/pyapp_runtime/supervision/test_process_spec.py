"""ProcessSpec: names, validation, and the program files supervisord reads."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pyapp_runtime.supervision import InvalidProcessSpec, ProcessSpec, program_name, split_program
from pyapp_runtime.supervision._config import (
    EXEC_SCRIPT,
    is_payload_of,
    payload_name,
    render_program,
    spec_payload,
)

from apppackage.errors import AppPackageError


def test_program_names_split_back() -> None:
    assert program_name("my.app", "web-0") == "my.app@web-0"
    assert split_program("my.app@web-0") == ("my.app", "web-0")
    for bad in ("web-0", "a@b@c", "@web", "App@web"):
        with pytest.raises(ValueError, match="not a pyapp program name"):
            split_program(bad)


def test_every_problem_is_reported() -> None:
    spec = ProcessSpec(
        app="Hello",
        name="web 0",
        argv=(),
        environment={"BAD-NAME": "x"},
        cwd="relative",
        stdout_log="/tmp/x\n.log",
        stop_signal="NOPE",
        stop_wait=-1,
    )
    with pytest.raises(InvalidProcessSpec) as caught:
        spec.check()
    error = caught.value
    assert isinstance(error, AppPackageError) and isinstance(error, ValueError)
    text = str(error)
    for expected in ("app 'Hello'", "name 'web 0'", "argv", "BAD-NAME", "cwd 'relative'", "line break",
                     "stop_signal 'NOPE'", "stop_wait"):  # fmt: skip
        assert expected in text
    assert len(error.problems) == 8


def test_the_program_section(tmp_path: Path) -> None:
    spec = ProcessSpec(
        app="hello",
        name="web-0",
        argv=(sys.executable, "-c", "print('100%')"),
        environment={"A": "1"},
        stdout_log="/var/log/50%/web.log",
        stderr_log="/var/log/web.err",
        restart="always",
        start_seconds=3,
        start_retries=5,
        umask=0o027,
    )
    spec.check()
    text = render_program(spec, tmp_path / "p.json", python="/usr/bin/python3")
    lines = text.splitlines()
    assert "[program:hello@web-0]" in lines
    assert f"command = /usr/bin/python3 -I -S {EXEC_SCRIPT} {tmp_path}/p.json" in lines
    assert "autorestart = true" in lines
    assert "startsecs = 3" in lines and "startretries = 5" in lines
    assert "stdout_logfile = /var/log/50%%/web.log" in lines
    assert "stderr_logfile = /var/log/web.err" in lines
    assert "umask = 027" in lines
    assert "redirect_stderr = true" not in lines
    assert json.loads(spec_payload(spec)) == {"argv": list(spec.argv), "environment": {"A": "1"}}


def test_payload_names_belong_to_exactly_one_program() -> None:
    spec = ProcessSpec(app="hello", name="web-0", argv=("/bin/true",), stdout_log="/tmp/x.log")
    name = payload_name(spec, b"{}")
    assert is_payload_of(name, "hello@web-0")
    assert not is_payload_of(name, "hello@web")
    assert not is_payload_of("hello@web-0.1.0123456789abcdef.json", "hello@web-0")
