"""Updates and rollbacks switch a running app over without failing a request; a sick release never serves."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from pyapp_runtime.processes.daemons import DaemonFailed

pytestmark = pytest.mark.slow

AFTER_QUICK = 50
"""Quick requests sent once the action has returned: the switch is over, the new side answers."""
AFTER_SLOW = 2
"""Slow requests sent once the action has returned."""
BEFORE = 20
"""Quick requests answered before the action starts: the old side was serving."""


class Load:
    """Clients sending requests to *where* (each on a new connection) until the action is over.

    One sends quick requests one after another; another sends requests that take a second,
    so that some are in progress at any moment. Both go on until the action has returned,
    however long it takes, then send a fixed number more (:data:`AFTER_QUICK`, :data:`AFTER_SLOW`).
    """

    def __init__(self, helpers: Any, where: str | int) -> None:
        self.helpers = helpers
        self.where = where
        self.results: list[tuple[int | None, str]] = []
        self.slow: list[tuple[int | None, str]] = []
        self.finished = threading.Event()
        self.threads = [threading.Thread(target=self._quick), threading.Thread(target=self._slow)]

    def _send(self, path: str) -> tuple[int | None, str]:
        try:
            return tuple(self.helpers.request(self.where, path, timeout=15))  # type: ignore[return-value]
        except Exception as exc:
            return None, repr(exc)

    def _keep_sending(self, path: str, into: list[tuple[int | None, str]], after: int, pause: float) -> None:
        sent_after = 0
        while sent_after < after:
            if self.finished.is_set():
                sent_after += 1
            into.append(self._send(path))
            time.sleep(pause)

    def _quick(self) -> None:
        self._keep_sending("/", self.results, AFTER_QUICK, 0.002)

    def _slow(self) -> None:
        self._keep_sending("/slow", self.slow, AFTER_SLOW, 0)

    def run(self, action: Callable[[], Any]) -> Any:
        """Start the clients, do *action* once a few requests got through, then let the clients finish."""
        for thread in self.threads:
            thread.start()
        try:
            deadline = time.monotonic() + 120
            while len(self.results) < BEFORE:
                assert time.monotonic() < deadline, (
                    f"{len(self.results)} answers in 120 s: {self.results[:5]}"
                )
                time.sleep(0.01)
            return action()
        finally:
            self.finished.set()
            for thread in self.threads:
                thread.join(timeout=600)
                assert not thread.is_alive(), "a client is still sending requests after 600 s"

    def failures(self) -> list[tuple[int | None, str]]:
        return [r for r in (*self.results, *self.slow) if r[0] != 200]

    def versions(self) -> list[str]:
        """The versions that answered, in order, each once per run of answers."""
        seen: list[str] = []
        for _status, body in self.results:
            if not seen or seen[-1] != body:
                seen.append(body)
        return seen


def test_an_update_under_load_fails_no_request_and_switches_once(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.webprobe("1.0.0"))
    load = Load(helpers, helpers.stable_socket(home, "webprobe"))

    result = load.run(lambda: host.install(packages.webprobe("1.1.0")))

    assert result.action == "updated"
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.0.0", "webprobe 1.1.0"]
    assert len(load.slow) >= 2  # requests were in progress while the old release stopped
    (web,) = host.status("webprobe")
    assert web.release == result.release and web.state == "running"


def test_a_rollback_goes_the_same_way(host: Host, home: Path, packages: Any, helpers: Any) -> None:
    host.install(packages.webprobe("1.0.0"))
    host.install(packages.webprobe("1.1.0"))
    load = Load(helpers, helpers.stable_socket(home, "webprobe"))

    result = load.run(lambda: host.rollback("webprobe"))

    assert (result.from_version, result.version) == ("1.1.0", "1.0.0")
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.1.0", "webprobe 1.0.0"]
    assert [s.release for s in host.status("webprobe")] == [result.release]


def test_an_update_that_never_gets_healthy_leaves_the_old_release_serving(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    first = host.install(packages.webprobe("1.0.0"))
    sock = helpers.stable_socket(home, "webprobe")
    load = Load(helpers, sock)

    with pytest.raises(DaemonFailed) as caught:
        load.run(lambda: host.install(packages.webprobe("2.0.0", broken=True)))

    message = str(caught.value)
    assert "webprobe 2.0.0" in message and "GET /health answered 500" in message
    assert "webprobe 1.0.0 keeps serving" in message
    assert "webprobe 2.0.0: the database at db.invalid does not answer" in message  # the new release's output
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.0.0"]
    assert host.release("webprobe").id == first.release
    assert [s.release for s in host.status("webprobe")] == [first.release]
    assert sorted(os.listdir(home / "apps" / "webprobe" / "releases")) == [first.release]
    assert helpers.request(sock) == (200, "webprobe 1.0.0")


def test_a_first_install_that_never_gets_healthy_installs_nothing(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    with pytest.raises(DaemonFailed, match="nothing was started"):
        host.install(packages.webprobe("1.0.0", broken=True))
    assert not host.is_installed("webprobe")
    assert host.ps() == []
    assert not os.path.exists(helpers.stable_socket(home, "webprobe"))


def test_a_configuration_change_under_load_fails_no_request(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.webprobe("1.0.0", config=True))
    before = host.status("webprobe")
    load = Load(helpers, helpers.stable_socket(home, "webprobe"))

    result = load.run(lambda: host.set_config("webprobe", ["label=blue"]))

    assert result.changed == ("label",)
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.0.0", "webprobe 1.0.0 blue"]
    (web,) = host.status("webprobe")
    assert web.state == "running" and web.pid != before[0].pid
    # The log goes on in the same file.
    assert web.log == before[0].log
    # A second change goes the same way (the two generations take turns).
    load = Load(helpers, helpers.stable_socket(home, "webprobe"))
    load.run(lambda: host.set_config("webprobe", ["label=green"]))
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.0.0 blue", "webprobe 1.0.0 green"]


def test_a_configuration_the_app_cannot_start_with_is_refused_and_the_old_one_keeps_serving(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.webprobe("1.0.0", config=True))
    sock = helpers.stable_socket(home, "webprobe")
    (before,) = host.status("webprobe")
    load = Load(helpers, sock)

    with pytest.raises(DaemonFailed) as caught:
        load.run(lambda: host.set_config("webprobe", ["state=broken", "label=red"]))

    message = str(caught.value)
    assert "GET /health answered 500" in message
    assert "the configuration of webprobe is unchanged; it keeps running with its previous values" in message
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.0.0"]
    assert host.config("webprobe").values == {"label": "", "state": "ok"}
    (after,) = host.status("webprobe")
    assert (after.pid, after.state) == (before.pid, "running")
    assert helpers.request(sock) == (200, "webprobe 1.0.0")
    # The next reload (a restart of the host, say) still starts with the good values.
    host.reload("webprobe")
    assert helpers.request(sock) == (200, "webprobe 1.0.0")


def test_a_mount_change_the_app_cannot_start_with_is_refused_and_it_keeps_serving(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.webprobe("1.0.0", config=True))
    web = host.web
    web.add_vhost("main", port=8080, server_names=("apps.example",))
    assert web.mount("webprobe", "main", "/probe").restarted  # reloaded to serve under the prefix
    host.set_config("webprobe", ["state=needs-prefix"])
    sock = helpers.stable_socket(home, "webprobe")
    (before,) = host.status("webprobe")

    with pytest.raises(DaemonFailed, match="keeps running as it was"):
        web.unmount("webprobe")

    assert web.store.load().mounts["webprobe"].prefix == "/probe"
    (after,) = host.status("webprobe")
    assert (after.pid, after.state) == (before.pid, "running")
    assert helpers.env_of(sock, "/probe")["script_name"] == "/probe"
