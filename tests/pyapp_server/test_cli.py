"""``pyapp-server``: its commands, settings and tokens from the command line, errors as messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyapp_server.cli import main


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner in an environment of nothing but tmp_path: no settings files, no data of the user's."""
    for name in ("PYAPP_HOME", "PYAPP_SERVER_DATA_DIR", "PYAPP_SERVER_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = result.stdout.split("Commands:")[1].split()
    assert [word for word in listed if word in ("config", "run", "token")] == ["config", "run", "token"]
    token = runner.invoke(main, ["token", "--help"]).stdout.split("Commands:")[1]
    assert [line.split()[0] for line in token.strip().splitlines()] == ["create", "list", "revoke"]


def test_a_settings_error_is_a_message_and_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.ini", "[server]\nport = 99999\n")
    for args in (["-c", bad, "config"], ["-c", bad, "config", "--json"], ["-c", bad, "token", "list"]):
        result = runner.invoke(main, [str(a) for a in args])
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert result.stderr.startswith("Error: ") and "port: 99999 is not a port" in result.stderr


def test_token_events_name_the_command_as_actor(runner: CliRunner, tmp_path: Path) -> None:
    from pyapp_server._db import Database
    from pyapp_server.events import EventLog
    from pyapp_server.services import DATABASE

    data = tmp_path / "data-dir"
    write(tmp_path / "pyapp-server.ini", f"[server]\ndata_dir = {data}\n")
    made = runner.invoke(main, ["token", "create", "--role", "viewer", "--name", "dashboard", "--json"])
    assert made.exit_code == 0, made.output
    token = json.loads(made.stdout)
    assert runner.invoke(main, ["token", "revoke", token["id"]]).exit_code == 0
    events = EventLog(Database(data / "server" / DATABASE)).list()
    assert [(e.kind, e.actor) for e in events] == [("token", "pyapp-server token")] * 2
    assert "'dashboard' (viewer) revoked" in events[0].message


# -- the real command, in a subprocess ----------------------------------------------------------


def test_pyapp_server_config_prints_the_settings_with_their_sources_and_masks_secrets(
    tmp_path: Path, server_env: dict[str, str], run_tool
) -> None:
    config = write(tmp_path / "c.ini", "[server]\nadmin_token = pyapp_very-secret-admin-token\nport = 7100\n")
    env = {**server_env, "PYAPP_SERVER_THREADS": "2"}
    proc = run_tool("pyapp-server", "-c", config, "config", "--json", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["admin_token"]["value"] == "********"
    assert rows["port"] == {**rows["port"], "value": "7100", "source": str(config)}
    assert rows["threads"]["source"] == "environment PYAPP_SERVER_THREADS"
    assert rows["data_dir"]["source"] == "default (the runtime's home)"
    human = run_tool("pyapp-server", "-c", config, "config", env=env, cwd=tmp_path)
    assert "very-secret" not in human.stdout + human.stderr
    assert "port" in human.stdout


def test_pyapp_server_token_commands(tmp_path: Path, server_env, run_tool) -> None:
    env = {**server_env, "PYAPP_SERVER_DATA_DIR": str(tmp_path / "data")}
    made = run_tool("pyapp-server", "token", "create", "--role", "deployer", "--name", "ci", env=env)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("pyapp_")
    assert "shown only once" in made.stderr
    listed = run_tool("pyapp-server", "token", "list", "--json", env=env)
    (token,) = json.loads(listed.stdout)
    assert (token["name"], token["role"]) == ("ci", "deployer")
    assert secret not in listed.stdout
    revoked = run_tool("pyapp-server", "token", "revoke", token["id"], env=env)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    missing = run_tool("pyapp-server", "token", "revoke", token["id"], env=env)
    assert missing.returncode == 1
    assert "no token has the id" in missing.stderr
    bad = run_tool("pyapp-server", "token", "create", "--role", "root", "--name", "x", env=env)
    assert bad.returncode == 2
