"""host.yaml, the port registry and the log reader: the parts of the daemons that need no supervisord."""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from pathlib import Path

import pytest
from pyapp_runtime.processes.logs import LogFile, follow, last_lines
from pyapp_runtime.processes.ports import NoFreePort, PortRegistry
from pyapp_runtime.settings import BadSettings, HostSettings


def test_a_host_without_settings_runs_one_threaded_daemon_per_app_on_a_unix_socket() -> None:
    settings = HostSettings.from_dict({})
    app = settings.for_app("hello")
    assert (settings.daemons, app.listen, app.method, app.threads, app.copies) == (
        True,
        "unix",
        "threads",
        4,
        1,
    )


def test_host_yaml_sets_defaults_and_per_app_overrides(tmp_path: Path) -> None:
    (tmp_path / "host.yaml").write_text(
        "ports: 9000-9010\nthreads: 8\nstop_wait: 5\n"
        "apps:\n  blog: {listen: port, method: processes, processes: 3}\n"
    )
    settings = HostSettings.load(tmp_path).with_environment({})
    assert settings.ports == (9000, 9010)
    assert (settings.for_app("hello").threads, settings.for_app("hello").stop_wait) == (8, 5)
    blog = settings.for_app("blog")
    assert (blog.listen, blog.copies, blog.threads) == ("port", 3, 8)


def test_every_problem_of_host_yaml_is_reported_with_where_it_is(tmp_path: Path) -> None:
    (tmp_path / "host.yaml").write_text(
        "ports: 9010-9000\nlisten: pipe\ncolour: red\nmethod: processes\napps:\n  blog: {threads: 0}\n"
    )
    with pytest.raises(BadSettings) as caught:
        HostSettings.load(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "host.yaml") in message
    for where in ("/ports:", "/listen:", "/colour: unknown setting", "/apps/blog/threads:"):
        assert where in message


def test_processes_need_a_port() -> None:
    with pytest.raises(BadSettings, match="processes needs listen: port"):
        HostSettings.from_dict({"method": "processes"})


def test_the_environment_turns_daemons_off_and_on(tmp_path: Path) -> None:
    (tmp_path / "host.yaml").write_text("daemons: false\n")
    settings = HostSettings.load(tmp_path)
    assert settings.with_environment({}).daemons is False
    assert settings.with_environment({"PYAPP_DAEMONS": "1"}).daemons is True
    assert HostSettings().with_environment({"PYAPP_DAEMONS": "off"}).daemons is False


def _free_range(size: int) -> int:
    """The first of *size* free loopback ports below the ephemeral range (no client is given them)."""
    while True:
        low = random.randrange(29100, 29950)  # apart from the ranges the daemon tests pick
        try:
            for port in range(low, low + size):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return low


def test_ports_are_assigned_once_skip_ports_in_use_and_are_released(tmp_path: Path) -> None:
    low = _free_range(4)
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", low))
        busy.listen()
        registry = PortRegistry(tmp_path, (low, low + 3))
        first = registry.assign(["a@web-1", "b@api-0-1"])
        assert low not in first.values()
        assert len(set(first.values())) == 2
        assert registry.assign(["a@web-1"]) == {"a@web-1": first["a@web-1"]}  # the same owner, the same port
        assert PortRegistry(tmp_path, (low, low + 3)).assigned() == first  # kept in ports.json
        registry.assign(["c@web-1"])
        with pytest.raises(NoFreePort, match="widen"):
            registry.assign(["d@web-1"])
        registry.release_app("a")
        assert "a@web-1" not in json.loads((tmp_path / "ports.json").read_text())["ports"]
        assert registry.assign(["d@web-1"])["d@web-1"] == first["a@web-1"]
    finally:
        busy.close()


def test_last_lines_reads_the_end_of_a_log(tmp_path: Path) -> None:
    log = tmp_path / "web.log"
    log.write_text("".join(f"line {i}\n" for i in range(10000)))
    assert last_lines(log, 3) == ["line 9997", "line 9998", "line 9999"]
    assert last_lines(tmp_path / "missing.log", 3) == []


def test_follow_yields_new_lines_also_after_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    path.write_text("old\n")
    seen: list[str] = []
    done = threading.Event()

    def reader() -> None:
        for _log, line in follow([LogFile(process="web", path=str(path))], interval=0.02, stop=done.is_set):
            seen.append(line)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        time.sleep(0.1)
        with open(path, "a") as f:
            f.write("first\nsec")
            f.flush()
            time.sleep(0.1)
            f.write("ond\n")
        time.sleep(0.1)
        os.rename(path, tmp_path / "web.log.1")
        path.write_text("after rotation\n")
        deadline = time.monotonic() + 5
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        done.set()
        thread.join()
    assert seen == ["first", "second", "after rotation"]
