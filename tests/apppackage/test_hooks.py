"""Running an application's commands, hooks, tasks and processes (spec section 6)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apppackage import AppPackage, AppPackageError, HookFailed, HostPaths
from apppackage.hooks import Launcher, RunResult, run_callable

CONTEXT_KEYS = {
    "hook",
    "name",
    "version",
    "root",
    "config",
    "data_path",
    "tmp_path",
    "log_path",
    "writable",
    "from_version",
    "to_version",
    "backup_path",
}


def last_json(result: RunResult) -> Any:
    return json.loads(result.output.strip().splitlines()[-1])


def alive(pid: int) -> bool:
    """Whether *pid* runs (a zombie waiting for its parent to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_dead(pid: int) -> bool:
    deadline = time.monotonic() + 60
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


# The sleeping hook starts an interpreter, then a child one, before it writes their pids: its timeout
# leaves room for that on a busy machine.
SLEEP_TIMEOUT = 10


def run_past_timeout(run: Callable[[], object], pids: Path) -> tuple[object, int, int]:
    """Call *run* (a sleeping hook or task) in a thread; meanwhile wait for it to write its *pids* file.

    Return what *run* returned or raised, the pid of the hook's process and that of its child.
    """
    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(run())
        except Exception as exc:  # the test looks at it
            outcome.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    deadline = time.monotonic() + 60
    try:
        while True:
            text = pids.read_text() if pids.exists() else ""
            if len(text.split()) == 2:
                break
            assert thread.is_alive(), f"killed before it wrote its pids ({text!r}): {outcome}"
            assert time.monotonic() < deadline, f"no pids in {pids}"
            time.sleep(0.02)
    finally:
        thread.join()
    hook_pid, child_pid = map(int, text.split())
    return outcome[0], hook_pid, child_pid


# -- commands (section 6.2) -------------------------------------------------------------------


def test_a_command_gets_its_argv_and_runs_in_the_callers_cwd(
    tmp_path: Path, demo_dir: Path, host: HostPaths
) -> None:
    pkg = AppPackage(demo_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = pkg.run_command("echo", ["a b", "--flag", ""], host, capture=True, cwd=elsewhere)
    assert result.ok and result.returncode == 0 and not result.timed_out
    assert last_json(result) == {
        "argv": ["a b", "--flag", ""],
        "sys_argv": ["echo", "a b", "--flag", ""],
        "cwd": str(elsewhere),
    }
    assert last_json(pkg.run_command("echo", [], host, capture=True))["cwd"] == os.getcwd()


@pytest.mark.parametrize(("argv", "code"), [([], 0), (["0"], 0), (["7"], 7), (["255"], 255)])
def test_the_exit_code_passes_through(demo_dir: Path, host: HostPaths, argv: list[str], code: int) -> None:
    result = AppPackage(demo_dir).run_command("exit-code", argv, host, capture=True)
    assert result.returncode == code
    assert result.ok is (code == 0)


def test_a_command_raising_exits_1_with_the_traceback(demo_dir: Path, host: HostPaths) -> None:
    result = AppPackage(demo_dir).run_command("boom", [], host, capture=True)
    assert result.returncode == 1
    assert "Traceback (most recent call last):" in result.output
    assert "RuntimeError: boom from a command" in result.output
    assert str(demo_dir / "src" / "demo" / "commands.py") in result.output


def test_an_unloadable_command_exits_2(demo_dir: Path, host: HostPaths) -> None:
    result = AppPackage(demo_dir).run_command("missing", [], host, capture=True)
    assert result.returncode == 2
    assert "pyapp: cannot load 'demo.nothere:func': ModuleNotFoundError" in result.output


def test_unknown_commands_and_missing_host_paths_are_errors(demo_dir: Path) -> None:
    pkg = AppPackage(demo_dir)
    with pytest.raises(AppPackageError, match="demo has no command 'nope' \\(commands: echo, exit-code,"):
        pkg.run_command("nope")
    with pytest.raises(AppPackageError, match="needs host paths"):
        pkg.run_command("echo")


def test_run_callable_stops_the_process_group_past_the_timeout(demo_dir: Path, host: HostPaths) -> None:
    env = AppPackage(demo_dir).environment(host)
    host.create_dirs(AppPackage(demo_dir).description)
    context = {"config": {"mode": "sleep"}, "data_path": str(host.data_path)}
    result, hook_pid, child_pid = run_past_timeout(
        lambda: run_callable(
            env, kind="hook", ref="demo.hooks:behave", argument=context, timeout=SLEEP_TIMEOUT
        ),
        host.data_path / "pids",
    )
    assert isinstance(result, RunResult) and result.timed_out and not result.ok
    assert wait_dead(hook_pid) and wait_dead(child_pid), "the whole process group is killed"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root starts a child as another user")
def test_a_launcher_starts_the_child_as_another_user_inside_its_prefix(
    tmp_path: Path, demo_dir: Path, host: HostPaths
) -> None:

    # nobody may not reach this interpreter (under /root, say): the system's runs the bootstrap as well.
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    env = AppPackage(demo_dir).environment(host)
    payloads = Path(tempfile.mkdtemp(prefix="pyapp-payloads-", dir="/tmp"))  # a place nobody reaches
    os.chown(payloads, 65534, 65534)  # and may remove its payload from
    launcher = Launcher(user=65534, group=65534, prefix=("env", "PYAPP_WRAPPED=1"), payload_dir=str(payloads))
    code = "import os; print(os.getuid(), os.getgroups(), os.environ.get('PYAPP_WRAPPED'))"
    result = run_callable(
        env, kind="process", ref="builtins:exec", argument=[code], launcher=launcher, capture=True,
        python=python,
    )  # fmt: skip
    assert result.ok, result.output
    assert result.output.split()[-3:] == ["65534", "[]", "1"]
    assert list(payloads.iterdir()) == []  # the child read and removed its payload
    payloads.rmdir()


# -- hooks (section 6.3) -----------------------------------------------------------------------


def test_a_hook_gets_the_context_and_runs_in_the_data_path(
    tmp_path: Path, demo_dir: Path, host: HostPaths
) -> None:
    pkg = AppPackage(demo_dir)
    result = pkg.run_hook(
        "install", host, config={"title": "T", "mode": "ok"}, from_version="1.0", backup_path="/b"
    )
    assert result is not None and result.ok
    seen = last_json(result)
    state = tmp_path / "state"
    assert set(seen["context"]) == CONTEXT_KEYS
    assert seen["context"] == {
        "hook": "install",
        "name": "demo",
        "version": "2.1.0",
        "root": str(demo_dir),
        "config": {"title": "T", "mode": "ok"},
        "data_path": str(state / "data"),
        "tmp_path": str(state / "tmp"),
        "log_path": str(state / "logs"),
        "writable": {
            "uploads": str(state / "data" / "uploads"),
            "cache_dir": str(state / "data" / "cache_dir"),
        },
        "from_version": "1.0",
        "to_version": None,
        "backup_path": "/b",
    }
    assert seen["cwd"] == str(state / "data")
    assert pkg.hook_context("verify", host)["hook"] == "verify"


def test_a_hook_the_package_does_not_declare_is_skipped(demo_dir: Path, host: HostPaths) -> None:
    pkg = AppPackage(demo_dir)
    assert pkg.run_hook("backup", host) is None
    with pytest.raises(AppPackageError, match="'reinstall' is not a hook"):
        pkg.run_hook("reinstall", host)


@pytest.mark.parametrize(
    ("mode", "cause", "in_output"),
    [
        ("raise", "exited with status 1", "RuntimeError: the hook failed on purpose"),
        ("false", "exited with status 1", "pyapp: demo.hooks:behave returned False"),
        ("exit", "exited with status 3", '"mode": "exit"'),
    ],
)
def test_a_failing_hook_raises_hook_failed(
    demo_dir: Path, host: HostPaths, mode: str, cause: str, in_output: str
) -> None:
    with pytest.raises(HookFailed) as info:
        AppPackage(demo_dir).run_hook("verify", host, config={"mode": mode})
    failed = info.value
    assert (failed.hook, failed.release, failed.cause) == ("verify", "demo 2.1.0", cause)
    assert in_output in failed.output
    assert str(failed).startswith(f"hook 'verify' of demo 2.1.0 failed: {cause}\n--- output ---\n")
    assert in_output in str(failed)


def test_a_hook_that_times_out_is_killed(demo_dir: Path, host: HostPaths) -> None:
    failed, hook_pid, child_pid = run_past_timeout(
        lambda: AppPackage(demo_dir).run_hook(
            "install", host, config={"mode": "sleep"}, timeout=SLEEP_TIMEOUT
        ),
        host.data_path / "pids",
    )
    assert isinstance(failed, HookFailed), failed
    assert (failed.hook, failed.release, failed.cause) == (
        "install",
        "demo 2.1.0",
        f"timed out after {SLEEP_TIMEOUT} s",
    )
    assert '"mode": "sleep"' in failed.output
    assert wait_dead(hook_pid), "the hook's process is killed"
    assert wait_dead(child_pid), "and what it started"


def test_hooks_run_with_a_given_environment_on_a_fresh_host(tmp_path: Path, demo_dir: Path) -> None:
    pkg = AppPackage(demo_dir)
    host = pkg.host_paths(tmp_path / "fresh")
    env = pkg.environment(host, services={"db": "sqlite:///x"})
    result = pkg.run_hook("install", host, env=env)
    assert result is not None
    seen = last_json(result)
    assert seen["cwd"] == str(tmp_path / "fresh" / "data")
    assert seen["environ"]["PYAPP_SERVICE_DB"] == "sqlite:///x"


# -- tasks (section 6.4) -----------------------------------------------------------------------


def test_a_task_gets_the_context_under_task(tmp_path: Path, demo_dir: Path, host: HostPaths) -> None:
    result = AppPackage(demo_dir).run_task("job", host, config={"mode": "ok"})
    seen = last_json(result)
    assert set(seen["context"]) == CONTEXT_KEYS - {"hook"} | {"task"}
    assert seen["context"]["task"] == "job"
    assert seen["context"]["config"] == {"mode": "ok"}
    assert seen["cwd"] == str(tmp_path / "state" / "data")


@pytest.mark.parametrize(
    ("mode", "cause"),
    [("raise", "exited with status 1"), ("false", "exited with status 1"), ("exit", "exited with status 3")],
)
def test_a_failing_task_raises_hook_failed(demo_dir: Path, host: HostPaths, mode: str, cause: str) -> None:
    with pytest.raises(HookFailed) as info:
        AppPackage(demo_dir).run_task("nightly", host, config={"mode": mode})
    assert (info.value.hook, info.value.release, info.value.cause) == ("task nightly", "demo 2.1.0", cause)
    assert f'"mode": "{mode}"' in info.value.output


def test_a_task_that_times_out_is_killed(demo_dir: Path, host: HostPaths) -> None:
    failed, hook_pid, child_pid = run_past_timeout(
        lambda: AppPackage(demo_dir).run_task("job", host, config={"mode": "sleep"}, timeout=SLEEP_TIMEOUT),
        host.data_path / "pids",
    )
    assert isinstance(failed, HookFailed), failed
    assert failed.hook == "task job"
    assert failed.cause == f"timed out after {SLEEP_TIMEOUT} s"
    assert wait_dead(hook_pid) and wait_dead(child_pid)


def test_unknown_tasks_are_errors(demo_dir: Path, host: HostPaths) -> None:
    with pytest.raises(AppPackageError, match="demo has no task 'nope' \\(tasks: job, nightly\\)"):
        AppPackage(demo_dir).run_task("nope", host)


# -- processes (section 6.5) ---------------------------------------------------------------------


def test_a_process_is_called_with_its_arguments(demo_dir: Path, host: HostPaths) -> None:
    pkg = AppPackage(demo_dir)
    process = pkg.description.process("worker")
    assert process is not None
    args = [a.replace("{port}", "8123") for a in process.args]
    env = pkg.environment(host, process="worker", port=8123)
    result = run_callable(env, kind="process", ref=process.call or "", argument=args, name="worker")
    assert result.returncode == 0
    assert last_json(result) == ["--port", "8123"]


def test_a_process_without_arguments(demo_dir: Path, host: HostPaths) -> None:
    env = AppPackage(demo_dir).environment(host, process="worker")
    result = run_callable(env, kind="process", ref="demo.worker:main", name="worker")
    assert (result.returncode, last_json(result)) == (0, [])


def test_the_payload_file_is_removed(demo_dir: Path, host: HostPaths) -> None:
    def payloads() -> dict[Path, str]:
        found = {}
        for path in Path(tempfile.gettempdir()).glob("pyapp-*.json"):
            with contextlib.suppress(FileNotFoundError):  # another run's payload, removed meanwhile
                found[path] = path.read_text()
        return found

    AppPackage(demo_dir).run_command("echo", ["secret-argument"], host, capture=True)
    assert not any("secret-argument" in text for text in payloads().values())


def test_hooks_and_tasks_read_an_empty_input(demo_dir: Path, host: HostPaths) -> None:
    pkg = AppPackage(demo_dir)
    hook = pkg.run_hook("install", host, config={"mode": "stdin"}, timeout=20)
    task = pkg.run_task("job", host, config={"mode": "stdin"}, timeout=20)
    assert hook is not None and "stdin: ''" in hook.output
    assert "stdin: ''" in task.output
