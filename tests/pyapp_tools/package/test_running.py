"""``pyapp run``: a checkout and its package serve alike, configuration, offline dependencies, stopping."""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from pyapp_tools.building.builder import BuildOptions, build
from pyapp_tools.package.running import fill_config

from apppackage import ConfigSpec, InvalidConfiguration


@pytest.fixture
def hello_pyapp(repo_root: Path, tmp_path: Path) -> Path:
    return build(repo_root / "examples/hello", BuildOptions(out_dir=tmp_path / "dist")).path


def responses(server) -> list[tuple[int, str]]:
    return [server.get(path) for path in ("/", "/health", "/missing")]


@pytest.mark.slow
def test_a_checkout_and_its_package_serve_the_same_responses(
    repo_root: Path, hello_pyapp: Path, tmp_path: Path, serve_app: Callable[..., object]
) -> None:
    with serve_app(repo_root / "examples/hello", "--state-dir", tmp_path / "s1") as server:
        assert server.first_line.startswith("Serving hello 1.0.0 on http://127.0.0.1:")
        from_checkout = responses(server)
    with serve_app(hello_pyapp, "--state-dir", tmp_path / "s2") as server:
        from_package = responses(server)
    assert from_checkout == from_package
    assert from_checkout[0][0] == 200 and "Hello from hello 1.0.0" in from_checkout[0][1]
    assert from_checkout[1] == (200, "ok")
    assert from_checkout[2][0] == 404


STATIC_APP = {
    "metadata.yaml": (
        'pyapp: "1.0"\nname: pages\nversion: "1.0.0"\nwsgi:\n  app: pages:application\n'
        "static:\n  /static: public\n"
    ),
    "src/pages/__init__.py": (
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/html')])\n"
        "    return [b'the app page']\n"
    ),
    "public/style.css": "body { color: teal }\n",
    "public/img/dot.svg": "<svg/>",
}


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes, dict[str, str]]:
    """GET *url*: status, content type, body and the response's headers (by lower-case name)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            return r.status, r.headers["Content-Type"], r.read(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as exc:
        with exc:
            return (
                exc.code,
                exc.headers["Content-Type"],
                exc.read(),
                {k.lower(): v for k, v in exc.headers.items()},
            )


@pytest.mark.slow
def test_static_directories_are_served_by_the_run_itself(
    write_project: Callable[..., Path], tmp_path: Path, cli, serve_app: Callable[..., object]
) -> None:
    root = write_project(STATIC_APP, name="pages")
    built = json.loads(cli("pyapp-build", root, "-o", tmp_path / "dist", "--json", check=True).stdout)
    for target in (root, built["path"]):
        with serve_app(target) as server:
            base = server.url.rstrip("/")
            status, kind, body, headers = get(base + "/static/style.css")
            assert (status, body) == (200, b"body { color: teal }\n"), target
            assert kind.startswith("text/css")
            assert get(base + "/static/img/dot.svg")[1] == "image/svg+xml"
            assert get(base + "/static/style.css", {"If-None-Match": headers["etag"]})[0] == 304
            assert get(base + "/static/img/")[0] == 404  # no listing
            assert get(base + "/static/nothing.css")[0] == 404
            assert get(base + "/")[2] == b"the app page"


@pytest.mark.slow
def test_the_app_gets_its_environment_and_filled_in_config(
    repo_root: Path, tmp_path: Path, cli_env: dict[str, str], serve_app: Callable[..., object]
) -> None:
    config = tmp_path / "local.yaml"
    config.write_text("greeting: Hi there\n")
    with serve_app(repo_root / "examples/hello", "--config", config, "--set", "greeting=Howdy") as server:
        status, page = server.get("/")
        variables = json.loads(server.get("/env")[1])["variables"]
    assert status == 200 and "Howdy from hello" in page
    state = Path(cli_env["XDG_STATE_HOME"]) / "pyapp" / "run" / "hello"
    assert variables["PYAPP_CONFIG_FILE"] == str(state / "config.yaml")
    assert yaml.safe_load(Path(variables["PYAPP_CONFIG_FILE"]).read_text()) == {"greeting": "Howdy"}
    assert variables["PYAPP_DATA_PATH"] == str(state / "data")
    assert variables["PYAPP_WRITABLE_COUNTERS"] == str(state / "data" / "counters")
    assert (state / "data" / "counters" / "visits").read_text() == "1"
    assert variables["PYAPP_ROOT"] == str(repo_root / "examples/hello")
    assert variables["PYAPP_PORT"] == server.url.rsplit(":", 1)[1].strip("/")


def test_an_invalid_set_is_refused_naming_the_field(repo_root: Path, cli) -> None:
    proc = cli("pyapp", "run", repo_root / "examples/hello", "--port", "0", "--set", "greeting=" + "x" * 50)
    assert proc.returncode == 1
    assert "--set:/greeting: must have at most 40 characters" in proc.stderr
    assert "Serving" not in proc.stdout


@pytest.mark.slow
def test_a_package_with_dependencies_runs_offline_from_the_cache(
    deps_project: Path,
    tmp_path: Path,
    wheelhouse: Path,
    cli,
    cli_env: dict[str, str],
    serve_app: Callable[..., object],
) -> None:
    built = json.loads(
        cli("pyapp-build", deps_project, "-o", tmp_path, "--wheelhouse", wheelhouse, "--offline", "--json",
            check=True).stdout
    )  # fmt: skip
    # No index and no way to reach one: the run path never calls pip.
    env = dict(cli_env, PIP_NO_INDEX="1", PIP_INDEX_URL="http://127.0.0.1:9/", PIP_FIND_LINKS="")
    with serve_app(built["path"], env=env) as server:
        status, body = server.get("/")
    assert status == 200
    data = json.loads(body)
    entry = Path(cli_env["XDG_CACHE_HOME"]) / "pyapp" / "run" / built["sha256"]
    assert data["escaped"] == "&lt;b&gt;"
    assert data["compiled"] is True
    assert Path(data["markupsafe"]).is_relative_to(entry / "site-packages")
    assert Path(data["translationstring"]).is_relative_to(entry / "site-packages")
    # Isolated: the package's code, its site-packages, waitress and WhiteNoise alone, then the stdlib.
    app_entries = [p for p in data["sys_path"] if p.startswith(str(entry))]
    assert app_entries == [
        str(entry / "app/src"),
        str(entry / "site-packages"),
        str(entry / "server-packages"),
    ]
    assert not [p for p in data["sys_path"] if "site-packages" in p and not p.startswith(str(entry))]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_the_server_cleanly(repo_root: Path, serve_app: Callable[..., object], sig: int) -> None:
    with serve_app(repo_root / "examples/hello") as server:
        assert server.get("/health") == (200, "ok")
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        code, err = server.stop(sig)
    assert code == 0
    assert "Traceback" not in err
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
def test_a_unix_socket(repo_root: Path, tmp_path: Path) -> None:
    from pyapp_tools.package.running import local_run
    from pyapp_tools.package.serving import listen, serve

    path = tmp_path / "app.sock"
    seen: list[str] = []

    def ready(url: str) -> None:
        seen.extend([url, _get_unix(path, "/health")])
        signal.raise_signal(signal.SIGTERM)  # stops serve() as a SIGTERM from outside would

    with local_run(repo_root / "examples/hello", state_dir=tmp_path / "state") as run:
        assert serve(run, listen("127.0.0.1", 0, str(path)), on_ready=ready) == 0
    assert seen == [f"unix:{path}", "ok"]
    assert not path.exists()


@pytest.mark.slow
def test_an_error_in_the_tool_does_not_leave_the_server_running(repo_root: Path, tmp_path: Path) -> None:
    from pyapp_tools.package.running import local_run
    from pyapp_tools.package.serving import listen, serve

    ports: list[int] = []

    def ready(url: str) -> None:
        ports.append(int(url.rsplit(":", 1)[1].strip("/")))
        raise RuntimeError("boom")

    hello = repo_root / "examples/hello"
    with local_run(hello, state_dir=tmp_path / "state") as run, pytest.raises(RuntimeError):
        serve(run, listen("127.0.0.1", 0), on_ready=ready)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", ports[0])) != 0


@pytest.mark.slow
def test_a_stop_right_after_start_up_is_quiet(
    repo_root: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from pyapp_tools.package.running import local_run
    from pyapp_tools.package.serving import listen, serve

    def ready(url: str) -> None:
        signal.raise_signal(signal.SIGTERM)

    with local_run(repo_root / "examples/hello", state_dir=tmp_path / "state") as run:
        for _ in range(3):
            assert serve(run, listen("127.0.0.1", 0), on_ready=ready) == 0
    assert "Traceback" not in capfd.readouterr().err


def _get_unix(path: Path, target: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(path))
        s.sendall(f"GET {target} HTTP/1.0\r\nHost: app\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[1].decode()


SPEC = ConfigSpec.from_dict(
    {
        "fields": {
            "title": {"type": "string", "default": "Notes", "max_length": 10},
            "port": {"type": "port", "required": True},
            "key": {"type": "secret", "length": 20},
        }
    }
)


def test_config_layers_defaults_then_file_then_set(tmp_path: Path) -> None:
    file = tmp_path / "local.yaml"
    file.write_text("title: Mine\nport: 8000\n")
    values = fill_config(SPEC, config_file=file, assignments=["port=9000"], secrets_file=tmp_path / "s.yaml")
    assert values["title"] == "Mine" and values["port"] == 9000
    assert len(values["key"]) == 20


def test_generated_secrets_are_kept_from_one_run_to_the_next(tmp_path: Path) -> None:
    store = tmp_path / "secrets.yaml"
    first = fill_config(SPEC, assignments=["port=1"], secrets_file=store)
    second = fill_config(SPEC, assignments=["port=2"], secrets_file=store)
    assert first["key"] == second["key"]
    assert store.stat().st_mode & 0o077 == 0
    assert fill_config(SPEC, assignments=["port=1", "key=given"], secrets_file=store)["key"] == "given"


def test_config_problems_name_where_the_value_came_from(tmp_path: Path) -> None:
    file = tmp_path / "local.yaml"
    file.write_text("title: far too long a title\ncolour: red\n")
    with pytest.raises(InvalidConfiguration) as raised:
        fill_config(SPEC, config_file=file, secrets_file=tmp_path / "s.yaml")
    where = {(p.file, p.path) for p in raised.value.problems}
    assert where == {(str(file), "/title"), (str(file), "/colour"), ("configuration.yaml", "/port")}
    with pytest.raises(InvalidConfiguration) as raised:
        fill_config(SPEC, assignments=["port=70000"], secrets_file=tmp_path / "s.yaml")
    assert [str(p) for p in raised.value.problems] == ["--set:/port: 70000 is not a TCP port (1-65535)"]


INSTALLING_APP = {
    "metadata.yaml": 'pyapp: "1.0"\nname: inst\nversion: "2.0"\nhooks:\n  install: inst:install\n',
    "src/inst/__init__.py": (
        "import os\n\n"
        "def install(context):\n"
        "    if os.path.exists(os.path.join(context['root'], 'fail')):\n"
        "        raise RuntimeError('cannot install')\n"
        "    with open('installs.log', 'a') as f:\n"
        "        f.write(f\"{context['hook']} {context['to_version']}\\n\")\n"
        "    print('inst: installed')\n"
    ),
}


def test_the_first_run_with_a_state_dir_runs_the_install_hook_once(
    write_project: Callable[..., Path], tmp_path: Path
) -> None:
    from pyapp_tools.package.running import local_run

    from apppackage import HookFailed

    root = write_project({**INSTALLING_APP, "fail": ""})
    state = tmp_path / "state"
    with pytest.raises(HookFailed, match="cannot install"), local_run(root, state_dir=state):
        pass
    assert not (state / "installed").exists()  # not installed: the next run tries again

    (root / "fail").unlink()
    with local_run(root, state_dir=state) as first:
        assert first.installed is not None and first.installed.output == "inst: installed\n"
    with local_run(root, state_dir=state) as second:
        assert second.installed is None
    assert (state / "data" / "installs.log").read_text() == "install 2.0\n"
    assert (state / "installed").read_text() == "inst 2.0\n"
    with local_run(root, state_dir=tmp_path / "other") as elsewhere:
        assert elsewhere.installed is not None
