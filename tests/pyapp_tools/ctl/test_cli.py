"""``pyapp-ctl`` against a real ``pyapp-server`` (both in subprocesses, on a loopback port)."""

from __future__ import annotations

import json
import re
import select
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
HELLO = Path(__file__).resolve().parents[3] / "examples" / "hello"


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    assert found, f"{name} is not installed next to {sys.executable}"
    return found


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``hello(version)``: examples/hello with that version, built with pyapp-build."""
    from pyapp_tools.building.builder import BuildOptions, build

    root = tmp_path_factory.mktemp("hello")
    built: dict[str, Path] = {}

    def make(version: str) -> Path:
        if version not in built:
            source = root / f"src-{version}"
            shutil.copytree(HELLO, source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
            meta = source / "metadata.yaml"
            meta.write_text(re.sub(r"(?m)^version: .*$", f'version: "{version}"', meta.read_text()))
            built[version] = build(source, BuildOptions(out_dir=root / "dist", offline=True)).path
        return built[version]

    return make


class Server:
    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [tool("pyapp-server"), "run", "--port", "0", "--data-dir", str(data_dir)],
            env=env,
            cwd=env["HOME"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else ""
        if " on http://" not in line:
            self.stop()
            raise AssertionError(f"pyapp-server did not start: {line!r}")
        self.url = line.split(" on ", 1)[1].split()[0].removesuffix("/api/v1/")

    @property
    def token(self) -> str:
        return (self.data_dir / "server" / "local-token").read_text().strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def server(server_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(**variables: str) -> Server:
        started.append(Server({**server_env, **variables}, tmp_path / "data"))
        return started[-1]

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def ctl(server_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str | Path, extra: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [tool("pyapp-ctl"), *map(str, args)],
            env={**server_env, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=240,
            **kw,
        )

    return run


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_upload_install_configure_update_rollback_remove_each_in_events(server, ctl, hello) -> None:
    server()
    installed = ok(ctl("apps", "install", hello("1.0.0")))
    assert "hello 1.0.0 installed" in installed.stdout
    assert "Uploading hello-1.0.0.pyapp" in installed.stderr
    assert "hello 1.0.0 is installed" in installed.stderr, "the job's log is shown while waiting"

    dry = ok(ctl("config", "set", "hello", "greeting=Hi there", "--dry-run")).stdout
    assert "greeting: 'Hello' -> 'Hi there'" in dry and "greeting: Hi there" in dry
    assert json.loads(ok(ctl("config", "show", "hello", "--json")).stdout)["values"] == {}  # the defaults
    assert "changed: greeting" in ok(ctl("config", "set", "hello", "greeting=Hi there")).stdout
    shown = json.loads(ok(ctl("config", "show", "hello", "--json")).stdout)
    assert shown["values"] == {"greeting": "Hi there"}
    assert shown["spec"]["fields"][0]["widget"] == "text"

    updated = ok(ctl("apps", "update", "hello", hello("1.1.0")))
    assert "hello 1.1.0 updated (was 1.0.0)" in updated.stdout
    assert "rolled back from 1.1.0 to 1.0.0" in ok(ctl("apps", "rollback", "hello")).stdout
    show = json.loads(ok(ctl("apps", "show", "hello", "--json")).stdout)
    assert show["version"] == "1.0.0"
    assert [r["version"] for r in show["releases"] if r["previous"]] == ["1.1.0"]
    assert "backups" in show
    ok(ctl("apps", "backup", "hello"))
    assert "backup kept: " in ok(ctl("apps", "remove", "hello", "--yes", "--backup")).stdout
    assert "no apps installed" in ok(ctl("apps", "list")).stdout

    events = json.loads(ok(ctl("events", "--app", "hello", "--json")).stdout)["events"]
    assert [e["kind"] for e in reversed(events)] == [
        "install",
        "config",
        "update",
        "rollback",
        "backup",
        "remove",
    ]
    assert {e["actor"] for e in events} == {"local"}
    text = ok(ctl("events")).stdout
    assert "hello 1.1.0 updated (was 1.0.0)" in text
    assert text.index("installed") < text.index("removed"), "newest last"
    jobs = json.loads(ok(ctl("jobs", "list", "--json")).stdout)["jobs"]
    assert [j["kind"] for j in jobs][:2] == ["remove", "backup"]
    assert jobs[0]["id"] in ok(ctl("jobs", "show", jobs[0]["id"])).stdout


def test_errors_are_the_servers_messages_and_exit_non_zero(
    server, ctl, hello, server_env, tmp_path: Path
) -> None:
    running = server()
    ok(ctl("apps", "install", hello("1.0.0")))
    invalid = ctl("config", "set", "hello", "greeting=4", "colour=red")
    assert invalid.returncode == 1
    assert "greeting: does not match the pattern" in invalid.stderr
    assert "colour: unknown setting" in invalid.stderr
    again = ctl("apps", "install", hello("1.0.0"), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["result"]["action"] == "unchanged"
    missing = ctl("apps", "show", "nothing", "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["error"]["status"] == 404

    made = subprocess.run(
        [tool("pyapp-server"), "token", "create", "--role", "viewer", "--name", "v"],
        env={**server_env, "PYAPP_SERVER_DATA_DIR": str(running.data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    viewer = ok(made).stdout.strip()
    refused = ctl("--token", viewer, "apps", "rollback", "hello")
    assert refused.returncode == 1
    assert "has the role viewer" in refused.stderr
    assert ok(ctl("--token", viewer, "apps", "list")).stdout.startswith("hello")
    wrong = ctl("--token", "pyapp_not-a-real-token-at-all", "apps", "list")
    assert wrong.returncode == 1 and "not valid" in wrong.stderr
    nowhere = ctl("--server", "http://127.0.0.1:9", "apps", "list")
    assert nowhere.returncode == 1 and "cannot reach the pyapp server" in nowhere.stderr

    broken = tmp_path / "broken-1.0.pyapp"
    broken.write_bytes(b"not a zip")
    refused_package = ctl("apps", "install", broken)
    assert refused_package.returncode == 1 and "not a package" in refused_package.stderr


def test_no_wait_then_wait_for_the_job_and_the_server_from_variables(server, ctl, hello, server_env) -> None:
    running = server()
    queued = json.loads(ok(ctl("apps", "install", hello("1.0.0"), "--no-wait", "--json")).stdout)
    assert queued["state"] in ("queued", "running", "succeeded")
    waited = ok(ctl("jobs", "wait", queued["id"]))
    assert "succeeded" in waited.stdout
    others = {
        "PYAPP_HOME": str(running.data_dir / "elsewhere"),
        "PYAPP_SERVER_URL": running.url,
        "PYAPP_TOKEN": running.token,
    }
    assert ok(ctl("apps", "list", extra=others)).stdout.startswith("hello")
    info = json.loads(ok(ctl("info", "--json", extra=others)).stdout)
    assert info["identity"]["name"] == "local"


def test_a_too_old_client_is_refused_with_the_upgrade_command(server, ctl) -> None:
    server(PYAPP_SERVER_MIN_CLIENT_VERSION="99.0")
    refused = ctl("apps", "list")
    assert refused.returncode == 1
    assert 'pip install -U "apppackage[tools]>=99.0"' in refused.stderr


def test_a_client_newer_than_the_server_warns(server) -> None:
    from pyapp_tools.ctl.client import Client, find_endpoint

    running = server()
    warnings: list[str] = []
    client = Client(find_endpoint(running.url, running.token), warn=warnings.append, version="99.0")
    client.call("GET", "/api/v1/apps")
    client.call("GET", "/api/v1/apps")
    assert len(warnings) == 1 and "newer than the server" in warnings[0]


def test_config_edit_reopens_the_editor_until_the_values_are_valid(
    server, ctl, hello, tmp_path: Path
) -> None:
    server()
    ok(ctl("apps", "install", hello("1.0.0")))
    script = tmp_path / "editor.py"
    script.write_text(
        textwrap.dedent(f"""
        import pathlib, sys
        path = pathlib.Path(sys.argv[1])
        count = pathlib.Path({str(tmp_path / "count")!r})
        n = int(count.read_text()) if count.exists() else 0
        count.write_text(str(n + 1))
        text = path.read_text()
        pathlib.Path({str(tmp_path)!r}, f"seen-{{n}}.yaml").write_text(text)
        value = "'42'" if n == 0 else "Good day"
        for old in ("# greeting: Hello", "greeting: '42'"):
            text = text.replace(old, f"greeting: {{value}}")
        path.write_text(text)
    """)
    )
    edited = ok(ctl("config", "edit", "hello", extra={"EDITOR": f"{sys.executable} {script}"}))
    assert "changed: greeting" in edited.stdout
    assert (tmp_path / "count").read_text() == "2"
    assert "# greeting: Hello" in (tmp_path / "seen-0.yaml").read_text()  # unset: its default
    second = (tmp_path / "seen-1.yaml").read_text()
    assert "# pyapp:" in second and "does not match the pattern" in second
    assert json.loads(ok(ctl("config", "show", "hello", "--json")).stdout)["values"] == {
        "greeting": "Good day"
    }

    unchanged = ctl("config", "edit", "hello", extra={"EDITOR": "true"})
    assert unchanged.returncode == 1 and "configuration not changed" in unchanged.stderr


def test_shell_completion(server, ctl, hello) -> None:
    server()
    ok(ctl("apps", "install", hello("1.0.0")))
    assert "_PYAPP_CTL_COMPLETE" in ok(ctl("completion", "bash")).stdout
    completed = ctl(
        extra={
            "_PYAPP_CTL_COMPLETE": "bash_complete",
            "COMP_WORDS": "pyapp-ctl apps show he",
            "COMP_CWORD": "3",
        }
    )
    assert "hello" in completed.stdout


def test_an_upload_over_the_servers_limit_is_refused_before_sending(server, ctl, hello) -> None:
    server(PYAPP_SERVER_MAX_UPLOAD_SIZE="1K")
    refused = ctl("apps", "install", hello("1.0.0"))
    assert refused.returncode == 1
    assert "the server accepts uploads up to 1024" in refused.stderr
    assert "Uploading" not in refused.stderr
