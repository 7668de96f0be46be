"""``pyapp_runtime.web.hostweb``: the web_server setting, and routes kept for a host with no web server."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyapp_runtime import HostSettings
from pyapp_runtime.settings import BadSettings
from pyapp_runtime.web.hostweb import HostWeb, web_server_setting
from pyapp_runtime.webservers import InvalidRoute


def test_the_setting_comes_from_the_environment_then_host_yaml_then_defaults_to_none(tmp_path: Path) -> None:
    assert web_server_setting(tmp_path, {}) == "none"
    (tmp_path / "host.yaml").write_text("web_server: nginx\nthreads: 2\n")
    assert web_server_setting(tmp_path, {}) == "nginx"
    assert web_server_setting(tmp_path, {"PYAPP_WEB_SERVER": "Apache"}) == "apache"
    # The daemons' settings accept the key beside theirs.
    assert HostSettings.load(tmp_path).defaults.threads == 2


def test_an_unknown_server_is_refused_naming_the_file_and_the_choices(tmp_path: Path) -> None:
    (tmp_path / "host.yaml").write_text("web_server: caddy\n")
    with pytest.raises(BadSettings) as caught:
        web_server_setting(tmp_path, {})
    assert f"{tmp_path / 'host.yaml'}:/web_server" in str(caught.value)
    assert "must be one of auto, none, nginx, apache, lighttpd" in str(caught.value)
    with pytest.raises(BadSettings, match="PYAPP_WEB_SERVER"):
        HostWeb(tmp_path, "iis")


def test_without_a_web_server_routes_are_kept_and_reported(tmp_path: Path) -> None:
    web = HostWeb(tmp_path / "home", "none")
    change = web.add_vhost("main", port=8080, server_names=("example.org",))
    assert change.server.kind is None and not change.server.running
    assert "no web server serves the routes" in change.server.message
    assert (tmp_path / "home" / "webservers" / "state.json").exists()
    assert [v["url"] for v in web.vhosts()] == ["http://example.org:8080/"]
    with pytest.raises(InvalidRoute, match="'hello' is not mounted"):
        web.unmount("hello")
    with pytest.raises(InvalidRoute, match="there is no virtual host 'nope'"):
        web.remove_vhost("nope")
    with pytest.raises(InvalidRoute, match="virtual host 'other' cannot be added"):
        web.add_vhost("other", port=8080, server_names=("example.org",))
    web.remove_vhost("main")
    assert web.status().to_dict()["vhosts"] == []
