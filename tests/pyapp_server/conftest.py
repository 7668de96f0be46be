"""Fixtures for the management server: packages built from examples/hello, the app under WebTest with
every response checked against the OpenAPI document, and the real server in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pyapp_server import main, services_of
from pyapp_server.api import openapi_document
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from webtest import TestApp

from apppackage import __version__

DOC_URI = "urn:pyapp-server:openapi"
BIN = Path(sys.executable).parent


# -- the OpenAPI document as a response checker ------------------------------------------


class OpenAPIChecker:
    """Finds the documented response of a request and validates a JSON body against its schema."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(DOC_URI, resource)
        self.routes = []
        for template in document["paths"]:
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            self.routes.append((re.compile(f"^{pattern}$"), template))
        self.checked: list[tuple[str, str, int]] = []

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        matches = [t for regex, t in self.routes if regex.match(path)]
        # A literal segment wins over a template ({name}/config before {name}/{action}).
        matches.sort(key=lambda t: t.count("{"))
        for template in matches:
            op = self.document["paths"][template].get(method.lower())
            if op is not None:
                return template, op
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")

    def check(self, method: str, path: str, status: int, content_type: str, body: bytes) -> None:
        try:
            template, op = self.operation(method, path)
        except AssertionError:
            # Requests outside the API (unknown paths, wrong methods) must still answer with an Error.
            template, op = "", {"responses": {"default": {"$ref": "#/components/responses/Error"}}}
        responses = op["responses"]
        key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
        if key not in responses:
            assert status >= 400, f"{method} {path} answered {status}, which is not documented"
            key = "default"
        response = responses[key]
        pointer = f"/paths/{template.replace('~', '~0').replace('/', '~1')}/{method.lower()}/responses/{key}"
        if "$ref" in response:
            pointer = response["$ref"][1:]
            response = self.resolve(pointer)
        media = content_type.split(";")[0].strip()
        content = response.get("content", {})
        assert media in content, f"{method} {path} {status}: {media!r} is not documented ({list(content)})"
        if media == "application/json":
            schema = {"$ref": f"{DOC_URI}#{pointer}/content/application~1json/schema"}
            validator = Draft202012Validator(schema, registry=self.registry)
            errors = sorted(validator.iter_errors(json.loads(body)), key=lambda e: e.json_path)
            assert not errors, f"{method} {path} {status} breaks the OpenAPI document:\n" + "\n".join(
                f"  {e.json_path}: {e.message}" for e in errors
            )
        self.checked.append((template, method.lower(), status))

    def resolve(self, pointer: str) -> Any:
        node: Any = self.document
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node


@pytest.fixture(scope="session")
def openapi() -> OpenAPIChecker:
    return OpenAPIChecker(openapi_document())


class CheckedApp(TestApp):
    """A WebTest app whose every response is validated against the OpenAPI document."""

    checker: OpenAPIChecker

    def do_request(self, req: Any, status: Any = None, expect_errors: Any = None) -> Any:
        response = super().do_request(req, status=status, expect_errors=expect_errors)
        self.checker.check(
            req.method, req.path_info, response.status_int, response.content_type or "", response.body
        )
        assert response.headers["X-Pyapp-Min-Client-Version"]
        assert response.headers["X-Pyapp-Server-Version"] == __version__
        return response


# -- packages ------------------------------------------------------------------------------


@dataclass
class Packages:
    """Packages of the example hello app (built once per test session)."""

    root: Path
    built: dict[str, Path] = field(default_factory=dict)

    def hello(
        self,
        version: str = "1.0.0",
        *,
        hooks: str = "",
        greeting: str | None = None,
        fields: str = "",
        data_version: int | None = None,
    ) -> Path:
        """examples/hello with *version*, extra metadata.yaml lines and configuration fields, built; with
        *data_version*, a version 1.1 description keeping its data in it (spec section 3.19)."""
        from pyapp_tools.building.builder import BuildOptions, build

        key = hashlib.sha256(f"{version}|{hooks}|{greeting}|{fields}|{data_version}".encode()).hexdigest()[
            :10
        ]
        if key in self.built:
            return self.built[key]
        source = self.root / f"src-{key}" / "hello"
        shutil.copytree(
            Path(__file__).resolve().parents[2] / "examples" / "hello",
            source,
            ignore=shutil.ignore_patterns("__pycache__", "dist"),
        )
        meta = source / "metadata.yaml"
        text = re.sub(r"(?m)^version: .*$", f'version: "{version}"', meta.read_text())
        if data_version is not None:
            text = re.sub(r"(?m)^pyapp: .*$", 'pyapp: "1.1"', text) + f"data_version: {data_version}\n"
        meta.write_text(text + hooks)
        spec = source / "configuration.yaml"
        if greeting is not None:
            spec.write_text(spec.read_text().replace("default: Hello", f"default: {greeting}"))
        spec.write_text(spec.read_text() + fields)
        result = build(source, BuildOptions(out_dir=self.root / f"dist-{key}", offline=True))
        self.built[key] = result.path
        return result.path

    def failing_install(self, version: str = "2.0.0") -> Path:
        """A valid hello package whose verify hook (run on installs and updates) fails."""
        hooks = "hooks:\n  verify: hello.nope:missing\n"
        return self.hello(version, hooks=hooks)

    def hostile(self) -> Path:
        """A zip with a '..' entry."""
        path = self.root / "evil-1.0.pyapp"
        if not path.exists():
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr("metadata.yaml", 'pyapp: "1.0"\nname: evil\nversion: "1.0"\n')
                zf.writestr("../escape.txt", "escaped")
        return path

    def junk(self) -> Path:
        path = self.root / "junk-1.0.pyapp"
        if not path.exists():
            path.write_bytes(b"this is not a zip file at all")
        return path


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    return Packages(root=tmp_path_factory.mktemp("packages"))


def place_in_drop_folder(package: Path, data_dir: Path) -> str:
    """A copy of *package* under the drop folder (a subfolder the watcher does not take), as a server path.

    An install from a server path reads only the drop folder and the upload directory.
    """
    target = data_dir / "drop" / "incoming" / package.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(package, target)
    return str(target)


# -- the app under WebTest ----------------------------------------------------------------------


@dataclass
class Api:
    """The server app with tokens of each role: ``api.get(path, role="viewer")``."""

    app: CheckedApp
    services: Any
    data_dir: Path
    secrets: dict[str, str]

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[role]}"} if role else {}

    def on_server(self, package: Path) -> str:
        """*package* as a server path an install may name (in the drop folder)."""
        return place_in_drop_folder(package, self.data_dir)

    def get(self, path: str, role: str | None = "viewer", **kw: Any) -> Any:
        return self.app.get(path, headers=self.headers(role), expect_errors=True, **kw)

    def post_json(self, path: str, body: Any, role: str | None = "deployer", **kw: Any) -> Any:
        return self.app.post_json(path, body, headers=self.headers(role), expect_errors=True, **kw)

    def upload(
        self, path: str, package: Path, role: str | None = "deployer", query: str = "", **kw: Any
    ) -> Any:
        headers = {**self.headers(role), "Content-Type": "application/octet-stream"}
        url = f"{path}?filename={package.name}{'&' + query if query else ''}"
        return self.app.post(url, package.read_bytes(), headers=headers, expect_errors=True, **kw)

    def wait(self, job: dict[str, Any] | Any) -> dict[str, Any]:
        """The job once it ended (polling with ?wait)."""
        job_id = job["id"] if isinstance(job, dict) else job.json["id"]
        for _ in range(60):
            found = self.get(f"/api/v1/jobs/{job_id}?wait=5").json
            if found["state"] in ("succeeded", "failed"):
                return dict(found)
        raise AssertionError(f"job {job_id} did not end")

    def install(self, package: Path, role: str = "deployer") -> dict[str, Any]:
        response = self.upload("/api/v1/apps", package, role)
        assert response.status_int == 202, response.text
        job = self.wait(response.json)
        assert job["state"] == "succeeded", job
        return job


def _host_state(data_dir: Path) -> dict[str, str]:
    """Every file, directory and link under the host's apps/ and server-packages/ (not the server's own)."""
    state = {}
    for top in ("apps", "server-packages"):
        root = data_dir / top
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            rel = str(path.relative_to(data_dir))
            if path.is_symlink():
                state[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                state[rel] = "dir"
    return state


@pytest.fixture
def host_state() -> Callable[[Path], dict[str, str]]:
    """``host_state(data_dir)``: every file, directory and link of the host's apps, to compare."""
    return _host_state


@pytest.fixture
def make_api(tmp_path: Path, openapi: OpenAPIChecker) -> Iterator[Callable[..., Api]]:
    made: list[Any] = []

    def make(**settings: Any) -> Api:
        data_dir = tmp_path / f"data{len(made)}"
        app = main(None, data_dir=str(data_dir), drop_interval="0", **settings)
        services = services_of(app)
        made.append(services)
        secrets = {
            role: services.tokens.create(role, f"test-{role}").secret
            for role in ("viewer", "deployer", "admin")
        }
        checked = CheckedApp(app)
        checked.checker = openapi
        return Api(app=checked, services=services, data_dir=data_dir, secrets=secrets)

    yield make
    for services in made:
        services.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


# -- the real server in a subprocess --------------------------------------------------------------


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    assert found, f"{name} is not installed next to {sys.executable}"
    return found


@pytest.fixture
def run_tool() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_tool("pyapp-ctl", *args, env=..., cwd=...)``: run a console script of this environment."""

    def run(name: str, *args: Any, env: dict[str, str], cwd: Path | None = None, **kw: Any):
        return subprocess.run(
            [tool(name), *map(str, args)], env=env, cwd=cwd, capture_output=True, text=True, timeout=240, **kw
        )

    return run


@dataclass
class LiveServer:
    data_dir: Path
    env: dict[str, str]
    args: list[str]
    proc: subprocess.Popen[str] | None = None
    url: str = ""

    @property
    def token(self) -> str:
        return (self.data_dir / "server" / "local-token").read_text().strip()

    def on_server(self, package: Path) -> str:
        """*package* as a server path an install may name (in the drop folder)."""
        return place_in_drop_folder(package, self.data_dir)

    def start(self) -> LiveServer:
        self.proc = subprocess.Popen(
            [tool("pyapp-server"), "run", "--port", "0", "--data-dir", str(self.data_dir), *self.args],
            env=self.env,
            cwd=self.env["HOME"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else ""
        if " on http" not in line:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"pyapp-server did not start: {line!r}\n{err}")
        self.url = line.split(" on ", 1)[1].split()[0].removesuffix("/api/v1/")
        return self

    def stop(self) -> tuple[int, str]:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    """An environment for pyapp-server and pyapp-ctl with nothing of the user's (config, data, caches)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "XDG_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PIP_NO_INDEX="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


@pytest.fixture
def live_server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(*args: str, data_dir: Path | None = None, env: dict[str, str] | None = None) -> LiveServer:
        server = LiveServer(data_dir=data_dir or tmp_path / "data", env=env or server_env, args=list(args))
        started.append(server)
        return server.start()

    yield start
    for server in started:
        if server.proc is not None and server.proc.poll() is None:
            server.stop()
