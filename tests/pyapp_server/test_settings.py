"""Layered settings: defaults < system < user < ./pyapp-server.ini < -c FILE < environment < options."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyapp_server.settings import ServerSettings, SettingsError, load_settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_each_layer_overrides_the_one_below_and_says_where_it_came_from(tmp_path: Path) -> None:
    system = write(
        tmp_path / "etc/server.ini",
        "[server]\nport = 7001\nthreads = 3\njob_workers = 5\ndrop_interval = 9\n",
    )
    user = write(tmp_path / "xdg/pyapp/server.ini", "[server]\nport = 7002\nthreads = 4\njob_workers = 6\n")
    write(tmp_path / "cwd/pyapp-server.ini", "[server]\nport = 7003\nthreads = 5\ndata_dir = state\n")
    explicit = write(tmp_path / "explicit.ini", "[server]\nport = 7004\n")
    effective = load_settings(
        explicit,
        environ={
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
            "PYAPP_SERVER_PORT": "7005",
            "PYAPP_SERVER_URL": "http://ignored",
        },
        cwd=tmp_path / "cwd",
        system_file=system,
        overrides={"host": "::1", "port": None},
    )
    s = effective.settings
    assert (s.port, s.threads, s.job_workers, s.drop_interval, s.host) == (7005, 5, 6, 9.0, "::1")
    assert s.data_dir == tmp_path / "cwd" / "state", "relative paths are relative to their file"
    assert s.drop_folder == s.data_dir / "drop"
    assert s.log_file == s.data_dir / "server" / "server.log"
    assert effective.sources["port"] == "environment PYAPP_SERVER_PORT"
    assert effective.sources["threads"] == str(tmp_path / "cwd/pyapp-server.ini")
    assert effective.sources["job_workers"] == str(user)
    assert effective.sources["drop_interval"] == str(system)
    assert effective.sources["host"] == "command line"
    assert effective.sources["max_upload_size"] == "default"


def test_every_problem_is_reported_with_where_it_is(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.ini", "[server]\nport = 99999\ncolour = blue\nopen_reads = maybe\n[other]\nx = 1\n"
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(bad, environ={"PYAPP_SERVER_MAX_UPLOAD_SIZE": "lots"}, cwd=tmp_path, system_file=None)
    text = str(caught.value)
    expected = [
        "port: 99999 is not a port",
        "colour: unknown setting",
        "open_reads: 'maybe' is not a boolean",
        "[other]: unknown section",
        "environment PYAPP_SERVER_MAX_UPLOAD_SIZE: max_upload_size",
    ]
    for line in expected:
        assert line in text
    assert len(caught.value.problems) == 5
    with pytest.raises(SettingsError, match="no such file"):
        load_settings(tmp_path / "missing.ini", environ={}, cwd=tmp_path, system_file=None)


def test_settings_round_trip_for_the_app_factory(tmp_path: Path) -> None:
    settings = ServerSettings.from_mapping(
        {"data_dir": tmp_path, "max_upload_size": "2M", "open_reads": True}
    )
    assert settings.max_upload_size == 2 * 1024**2
    assert ServerSettings.from_mapping(settings.to_settings()) == settings
    assert settings.loopback
    assert not ServerSettings.from_mapping({"host": "0.0.0.0", "data_dir": tmp_path}).loopback
    assert ServerSettings.from_mapping({"host": "0.0.0.0", "unix_socket": "s", "data_dir": tmp_path}).loopback
    with pytest.raises(SettingsError, match="unknown setting"):
        ServerSettings.from_mapping({"bogus": "1"})
    assert ServerSettings.from_mapping({"pyramid.reload_templates": "true", "data_dir": tmp_path})


def test_tls_and_log_rotation_settings(tmp_path: Path) -> None:
    s = ServerSettings.from_mapping({"data_dir": tmp_path, "log_max_size": "1M", "log_backups": "3"})
    assert (s.log_max_size, s.log_backups, s.tls) == (1024 * 1024, 3, False)
    defaults = ServerSettings.from_mapping({"data_dir": tmp_path})
    assert (defaults.log_max_size, defaults.log_backups) == (10 * 1024 * 1024, 5)
    tls = ServerSettings.from_mapping({"data_dir": tmp_path, "tls_cert": "c.pem", "tls_key": "k.pem"})
    assert tls.tls and tls.tls_cert == Path("c.pem").absolute()
    with pytest.raises(SettingsError) as both:
        ServerSettings.from_mapping({"data_dir": tmp_path, "tls_key": "k.pem", "unix_socket": "s"})
    assert "tls_cert and tls_key go together" in str(both.value)
    with pytest.raises(SettingsError) as unix:
        ServerSettings.from_mapping(
            {"data_dir": tmp_path, "tls_cert": "c.pem", "tls_key": "k.pem", "unix_socket": "s"}
        )
    assert "TLS is for TCP" in str(unix.value)
    with pytest.raises(SettingsError, match="log_backups"):
        ServerSettings.from_mapping({"data_dir": tmp_path, "log_backups": "-1"})
