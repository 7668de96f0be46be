"""systemd unit files: what they say, and that systemd's own checker accepts them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyapp_runtime.supervision import InvalidProcessSpec, ProcessSpec, export_systemd, systemd_quote


def web(tmp_path: Path, **kwargs: object) -> ProcessSpec:
    options: dict[str, object] = {
        "app": "hello",
        "name": "web-0",
        "argv": (sys.executable, "-m", "hello.serve", "--greeting", "hi there", "50% $HOME"),
        "environment": {"PYAPP_NAME": "hello", "SECRET": 'p"w %s $x'},
        "cwd": str(tmp_path),
        "stdout_log": str(tmp_path / "web.log"),
        "stop_wait": 20,
        "stop_signal": "INT",
    }
    options.update(kwargs)
    return ProcessSpec(**options)  # type: ignore[arg-type]


def test_units_say_what_supervisord_does(tmp_path: Path) -> None:
    units = export_systemd(
        [web(tmp_path), web(tmp_path, name="worker-0", stderr_log=str(tmp_path / "w.err"))]
    )
    assert sorted(units) == [
        "pyapp-hello.target",
        "pyapp-hello@web-0.service",
        "pyapp-hello@worker-0.service",
    ]
    service = units["pyapp-hello@web-0.service"].splitlines()
    assert "Restart=on-failure" in service
    assert "RestartSec=1" in service
    assert f"WorkingDirectory={tmp_path}" in service
    assert "KillSignal=SIGINT" in service
    assert "TimeoutStopSec=20" in service
    assert f"StandardOutput=append:{tmp_path}/web.log" in service
    assert "StandardError=inherit" in service
    assert "Environment=PYAPP_NAME=hello" in service
    assert 'Environment="SECRET=p\\"w %%s $x"' in service
    assert f'ExecStart={sys.executable} -m hello.serve --greeting "hi there" "50%% $$HOME"' in service
    assert "PartOf=pyapp-hello.target" in service
    assert "WantedBy=pyapp-hello.target" in service
    worker = units["pyapp-hello@worker-0.service"].splitlines()
    assert f"StandardError=append:{tmp_path}/w.err" in worker
    target = units["pyapp-hello.target"].splitlines()
    assert "Wants=pyapp-hello@web-0.service pyapp-hello@worker-0.service" in target
    assert "WantedBy=multi-user.target" in target


def test_restart_policies_and_user(tmp_path: Path) -> None:
    always = export_systemd(
        [web(tmp_path, restart="always")], user="app", group="app", wanted_by="default.target"
    )
    text = always["pyapp-hello@web-0.service"]
    assert "Restart=always" in text and "User=app\n" in text and "Group=app\n" in text
    assert "WantedBy=default.target" in always["pyapp-hello.target"]
    never = export_systemd([web(tmp_path, restart="never", exit_codes=(0, 2))])["pyapp-hello@web-0.service"]
    assert "Restart=no" in never
    assert "SuccessExitStatus=2" in never


def test_a_relative_program_is_found_on_the_specs_path(tmp_path: Path) -> None:
    spec = web(tmp_path, argv=("python3", "-V"), environment={"PATH": str(Path(sys.executable).parent)})
    text = export_systemd([spec])["pyapp-hello@web-0.service"]
    assert f"ExecStart={Path(sys.executable).parent / 'python3'} -V" in text
    missing = web(tmp_path, argv=("no-such-program",), environment={"PATH": str(tmp_path)})
    with pytest.raises(InvalidProcessSpec, match="not on the PATH"):
        export_systemd([missing])


def test_quoting() -> None:
    assert systemd_quote("/usr/bin/python3") == "/usr/bin/python3"
    assert systemd_quote("a b") == '"a b"'
    assert systemd_quote("") == '""'
    assert systemd_quote('say "hi"\n') == '"say \\"hi\\"\\n"'
    assert systemd_quote("back\\slash") == '"back\\\\slash"'
    assert systemd_quote("$HOME/%n") == "$$HOME/%%n"
    assert systemd_quote("-x") == "-x"


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    # It runs without a running systemd (--man=no: no man pages needed for Documentation=).
    if shutil.which("systemd-analyze") is None:
        pytest.fail(
            "systemd-analyze is not installed: install Debian's systemd package "
            "(apt-get install --no-install-recommends systemd; ./dev test does)"
        )
    units_dir = tmp_path / "units"
    units_dir.mkdir()
    specs = [
        web(tmp_path),
        web(tmp_path, name="worker-0", stderr_log=str(tmp_path / "w.err"), restart="always"),
    ]
    for name, text in export_systemd(specs).items():
        (units_dir / name).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in units_dir.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    ours = [line for line in (done.stdout + done.stderr).splitlines() if str(units_dir) in line]
    assert done.returncode == 0 and ours == [], done.stdout + done.stderr
