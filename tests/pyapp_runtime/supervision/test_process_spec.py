"""ProcessSpec: names, validation, and the program files supervisord reads."""

from __future__ import annotations

import json
import os
import subprocess
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
from pyapp_runtime.supervision._exec import parse

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
    args, env = parse(spec_payload(spec))
    assert (args, env) == ([os.fsencode(a) for a in spec.argv], {b"A": b"1"})


def test_the_exec_shim_runs_the_argv_under_exactly_the_environment_of_its_file(tmp_path: Path) -> None:
    script = "import json, os, sys; print(json.dumps([sys.argv[1:], dict(os.environ)]))"
    spec = ProcessSpec(
        app="hello", name="probe", argv=(sys.executable, "-I", "-c", script, "a b", "100%", "line\nbreak"),
        environment={"ONLY": "this=that", "EMPTY": "", "UNICODE": "gr\u00fc\u00df"}, stdout_log="/tmp/x.log",
    )  # fmt: skip
    new = tmp_path / payload_name(spec, spec_payload(spec))
    new.write_bytes(spec_payload(spec))
    # A program configured before an upgrade still has its file in the earlier JSON form.
    old = tmp_path / "hello@probe.0123456789abcdef.json"
    old.write_text(json.dumps({"argv": list(spec.argv), "environment": dict(spec.environment)}))
    for path in (new, old):
        done = subprocess.run(
            [sys.executable, "-I", "-S", str(EXEC_SCRIPT), str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        args, env = json.loads(done.stdout)
        assert args == ["a b", "100%", "line\nbreak"]
        assert {k: v for k, v in env.items() if k != "LC_CTYPE"} == dict(spec.environment)
    broken = tmp_path / "broken.exec"
    broken.write_bytes(b"pyapp-exec-1\x003\x00/bin/true")
    refused = subprocess.run(
        [sys.executable, "-I", "-S", str(EXEC_SCRIPT), str(broken)], capture_output=True, text=True
    )
    assert refused.returncode == 126 and "cannot read process file" in refused.stderr


def test_payload_names_belong_to_exactly_one_program() -> None:
    spec = ProcessSpec(app="hello", name="web-0", argv=("/bin/true",), stdout_log="/tmp/x.log")
    name = payload_name(spec, b"{}")
    assert is_payload_of(name, "hello@web-0")
    assert not is_payload_of(name, "hello@web")
    assert not is_payload_of("hello@web-0.1.0123456789abcdef.exec", "hello@web-0")
    assert is_payload_of("hello@web-0.0123456789abcdef.json", "hello@web-0")  # the earlier form
