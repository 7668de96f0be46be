"""Updates and rollbacks switch a running app over without failing a request; a sick release never serves.

Each test runs with the WSGI webprobe (waitress) and the ASGI one (uvicorn): the same guarantees."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host
from pyapp_runtime.processes.daemons import DaemonFailed
from testkit import Load

pytestmark = pytest.mark.slow

INTERFACES = pytest.mark.parametrize("asgi", [False, True], ids=["wsgi", "asgi"])


@INTERFACES
def test_an_update_under_load_fails_no_request_and_switches_once(
    host: Host, home: Path, packages: Any, helpers: Any, asgi: bool
) -> None:
    host.install(packages.webprobe("1.0.0", asgi=asgi))
    load = Load(helpers.stable_socket(home, "webprobe"))

    result = load.run(lambda: host.install(packages.webprobe("1.1.0", asgi=asgi)))

    assert result.action == "updated"
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.0.0", "webprobe 1.1.0"]
    assert len(load.slow) >= 2  # requests were in progress while the old release stopped
    (web,) = host.status("webprobe")
    assert web.release == result.release and web.state == "running"


@INTERFACES
def test_a_rollback_goes_the_same_way(
    host: Host, home: Path, packages: Any, helpers: Any, asgi: bool
) -> None:
    host.install(packages.webprobe("1.0.0", asgi=asgi))
    host.install(packages.webprobe("1.1.0", asgi=asgi))
    load = Load(helpers.stable_socket(home, "webprobe"))

    result = load.run(lambda: host.rollback("webprobe"))

    assert (result.from_version, result.version) == ("1.1.0", "1.0.0")
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.1.0", "webprobe 1.0.0"]
    assert [s.release for s in host.status("webprobe")] == [result.release]


@INTERFACES
def test_an_update_that_never_gets_healthy_leaves_the_old_release_serving(
    host: Host, home: Path, packages: Any, helpers: Any, asgi: bool
) -> None:
    first = host.install(packages.webprobe("1.0.0", asgi=asgi))
    sock = helpers.stable_socket(home, "webprobe")
    load = Load(sock)

    with pytest.raises(DaemonFailed) as caught:
        load.run(lambda: host.install(packages.webprobe("2.0.0", asgi=asgi, broken=True)))

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


@INTERFACES
def test_a_configuration_change_under_load_fails_no_request(
    host: Host, home: Path, packages: Any, helpers: Any, asgi: bool
) -> None:
    host.install(packages.webprobe("1.0.0", asgi=asgi, config=True))
    before = host.status("webprobe")
    load = Load(helpers.stable_socket(home, "webprobe"))

    result = load.run(lambda: host.set_config("webprobe", ["label=blue"]))

    assert result.changed == ("label",)
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.0.0", "webprobe 1.0.0 blue"]
    (web,) = host.status("webprobe")
    assert web.state == "running" and web.pid != before[0].pid
    # The log goes on in the same file.
    assert web.log == before[0].log
    # A second change goes the same way (the two generations take turns).
    load = Load(helpers.stable_socket(home, "webprobe"))
    load.run(lambda: host.set_config("webprobe", ["label=green"]))
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.0.0 blue", "webprobe 1.0.0 green"]


def test_a_configuration_the_app_cannot_start_with_is_refused_and_the_old_one_keeps_serving(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    host.install(packages.webprobe("1.0.0", config=True))
    sock = helpers.stable_socket(home, "webprobe")
    (before,) = host.status("webprobe")
    load = Load(sock)

    with pytest.raises(DaemonFailed) as caught:
        load.run(lambda: host.set_config("webprobe", ["state=broken", "label=red"]))

    message = str(caught.value)
    assert "GET /health answered 500" in message
    assert "the configuration of webprobe is unchanged; it keeps running with its previous values" in message
    assert load.failures() == []
    assert load.versions() == ["webprobe 1.0.0"]
    assert host.config("webprobe").values == {}  # as before: the operator set nothing, the defaults apply
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
