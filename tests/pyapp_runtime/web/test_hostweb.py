"""``pyapp_runtime.web.hostweb``: the web_server setting, and routes kept for a host with no web server."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyapp_runtime import Host, HostSettings
from pyapp_runtime.settings import BadSettings
from pyapp_runtime.webservers import InvalidRoute


def test_the_setting_comes_from_the_environment_then_host_yaml_then_defaults_to_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYAPP_WEB_SERVER", raising=False)
    assert HostSettings.load(tmp_path).web_server == "none"
    (tmp_path / "host.yaml").write_text("web_server: nginx\nthreads: 2\n")
    settings = HostSettings.load(tmp_path)
    assert settings.web_server == "nginx"
    # The daemons' settings are read beside it.
    assert settings.defaults.threads == 2
    assert settings.with_environment({"PYAPP_WEB_SERVER": "Apache"}).web_server == "apache"
    monkeypatch.setenv("PYAPP_WEB_SERVER", "lighttpd")
    assert Host(tmp_path).web.setting == "lighttpd"
    assert Host(tmp_path, web_server="none").web.setting == "none"


def test_an_unknown_server_is_refused_naming_the_file_and_the_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYAPP_WEB_SERVER", raising=False)
    (tmp_path / "host.yaml").write_text("web_server: caddy\n")
    with pytest.raises(BadSettings) as caught:
        HostSettings.load(tmp_path)
    assert f"{tmp_path / 'host.yaml'}: the host settings are not valid" in str(caught.value)
    assert "/web_server: 'caddy' must be one of auto, none, nginx, apache, lighttpd" in str(caught.value)
    (tmp_path / "host.yaml").unlink()
    with pytest.raises(BadSettings, match=r"(?s)\$PYAPP_WEB_SERVER.*'iis' must be one of"):
        Host(tmp_path, web_server="iis").web.status()
    monkeypatch.setenv("PYAPP_WEB_SERVER", "iis")
    with pytest.raises(BadSettings, match=r"(?s)\$PYAPP_WEB_SERVER.*'iis' must be one of"):
        HostSettings.load(tmp_path)


def test_without_a_web_server_routes_are_kept_and_reported(tmp_path: Path) -> None:
    web = Host(tmp_path / "home", web_server="none").web
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
