"""The conformance process contract answered by :mod:`apppackage`, the reference implementation.

:func:`answer` takes one case request (see ``conformance-tests/README.md``) and
returns the answer document. ``apppackage-impl`` is the process around it; the
pytest adapter calls it in-process. Packages are built in a temporary directory
that is removed before the answer is returned.

apppackage reads, checks and runs a package; it builds and installs nothing, so it
answers the ``builder``, ``lifecycle`` and ``host`` areas with a skip (``pyapp-build-impl``
and ``pyapp-host-impl`` answer them by doing it).
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["SKIPS", "answer"]

SKIPS: dict[str, str] = {}
"""Cases apppackage does not pass yet: case description -> reason (answered as ``{"skip": reason}``)."""

MINIMAL_METADATA = 'pyapp: "1.0"\nname: conformance\nversion: "1.0"\n'

Answer = dict[str, Any]


def answer(request: Mapping[str, Any], *, skips: bool = True) -> Answer:
    """The answer document for one case *request*; with *skips*, a skip for the cases in :data:`SKIPS`."""
    reason = SKIPS.get(str(request.get("case", "")))
    if skips and reason is not None:
        return {"skip": reason}
    handler = _HANDLERS.get(str(request.get("area")))
    if handler is None:
        return {"skip": f"area {request.get('area')!r} is not implemented"}
    return handler(request)


# -- helpers ------------------------------------------------------------------


def _problems(problems: Any) -> list[dict[str, Any]]:
    return [{"file": p.file, "path": p.path, "message": p.message} for p in problems]


@contextmanager
def _package(files: Mapping[str, str]) -> Iterator[Path]:
    """A directory package holding *files* (name -> text), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="pyapp-conformance-") as temp:
        root = Path(temp, "package")
        root.mkdir()
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        yield root


# -- description (section 3, 2.4, 2.5) -------------------------------------------


def _description(request: Mapping[str, Any]) -> Answer:
    if "document" in request:
        # An already parsed description: the checks of section 3 on the document itself.
        from apppackage.checks import check_description
        from apppackage.description import Description

        errors, warnings, clean = check_description(request["document"])
        if errors:
            return {"valid": False, "errors": _problems(errors), "warnings": _problems(warnings)}
        description = Description.from_dict(clean)
        return _valid_description(description.name, description.version, warnings)
    from apppackage import AppPackage, InvalidDescription

    if "package" in request:
        # A whole package directory: the description and the layout checks of section 2.1.
        with _package(request["package"]["files"]) as root, AppPackage(root) as package:
            problems = package.validate()
            return {
                "valid": not problems,
                "errors": _problems(problems),
                "warnings": _problems(package.warnings),
            }
    # metadata.yaml as text, with a pyproject.toml beside it in a checkout (sections 2.4, 2.5).
    files = {"metadata.yaml": request["text"]}
    if "pyproject" in request:
        files["pyproject.toml"] = request["pyproject"]
    with _package(files) as root, AppPackage(root) as package:
        try:
            read = package.description
        except InvalidDescription as exc:
            return {"valid": False, "errors": _problems(exc.problems), "warnings": []}
        return _valid_description(read.name, read.version, package.warnings)


def _valid_description(name: str, version: str, warnings: Any) -> Answer:
    return {"valid": True, "errors": [], "warnings": _problems(warnings), "name": name, "version": version}


# -- configuration spec (section 4.1, 4.2) ------------------------------------------


def _configuration(request: Mapping[str, Any]) -> Answer:
    if "document" in request:
        # Read alone: by its own pyapp, or as 1.0 without one (section 4).
        from apppackage.configspec import check_configuration

        errors, warnings, _ = check_configuration(request["document"])
        return {"valid": not errors, "errors": _problems(errors), "warnings": _problems(warnings)}
    from apppackage import AppPackage, InvalidPackage

    files = {"metadata.yaml": MINIMAL_METADATA, "configuration.yaml": request["text"]}
    with _package(files) as root, AppPackage(root) as package:
        errors: list[Any] = []
        try:
            package.config_spec  # noqa: B018 - reading it validates it
        except InvalidPackage as exc:
            errors = list(exc.problems)
        return {"valid": not errors, "errors": _problems(errors), "warnings": _problems(package.warnings)}


# -- configuration values (section 4.1, 4.3 - 4.5) -----------------------------------


def _config_values(request: Mapping[str, Any]) -> Answer:
    from apppackage import ConfigSpec, InvalidConfiguration

    spec = ConfigSpec.from_dict(request["spec"])
    operation = request.get("operation", "validate")
    values = request.get("values", {})
    if operation == "validate":
        problems = spec.validate(values)
        return {"valid": not problems, "errors": _problems(problems)}
    if operation == "parse":
        try:
            parsed = spec.parse_assignments(request["assignments"])
        except InvalidConfiguration as exc:
            return {"valid": False, "errors": _problems(exc.problems)}
        return {"valid": True, "errors": [], "values": parsed}
    if operation == "fill":
        return {"values": spec.fill(values, generate_secrets=bool(request.get("generate_secrets")))}
    if operation == "mask":
        return {"values": spec.masked(values)}
    if operation == "render":
        return {"text": spec.render(values)}
    raise ValueError(f"unknown config-values operation {operation!r}")


# -- environment (section 5) --------------------------------------------------------


def _environment(request: Mapping[str, Any]) -> Answer:
    from apppackage import AppPackage, HostPaths

    host = request["host"]
    paths = HostPaths(
        root=Path(host["root"]),
        data_path=Path(host["data_path"]),
        tmp_path=Path(host["tmp_path"]),
        log_path=Path(host["log_path"]),
        config_file=Path(host["config_file"]) if host.get("config_file") else None,
        site_packages=tuple(Path(p) for p in host.get("site_packages", ())),
        server_packages=tuple(Path(p) for p in host.get("server_packages", ())),
    )
    with _package(request["package"]["files"]) as root, AppPackage(root) as package:
        env = package.environment(
            paths,
            services=request.get("services"),
            process=request.get("process"),
            port=request.get("port"),
            socket=request.get("socket"),
            mount_path=request.get("mount_path"),
        )
    return env.to_dict()


# -- callables (section 6) ----------------------------------------------------------


def _callables(request: Mapping[str, Any]) -> Answer:
    from apppackage import AppPackage, HookFailed, LoadError

    call = request["call"]
    kind = call["kind"]
    config = request.get("config", {})
    with (
        _package(request["package"]["files"]) as root,
        AppPackage(root) as package,
        _environ(request.get("environ", {})),
    ):
        host = package.host_paths(root.parent / "state")
        if kind == "command":
            result = package.run_command(call["name"], call.get("argv", []), host, capture=True)
            return {"exit_code": result.returncode, "output": result.output}
        if kind in ("hook", "task"):
            try:
                if kind == "hook":
                    ran = package.run_hook(call["name"], host, config=config, **call.get("context", {}))
                else:
                    ran = package.run_task(call["name"], host, config=config)
            except HookFailed as exc:
                return {"failed": True, "output": exc.output}
            if ran is None:
                return {"failed": False, "ran": False, "output": ""}
            return {"failed": False, "ran": True, "output": ran.output}
        if kind == "wsgi":
            with package.activate(host):
                try:
                    app = package.wsgi_app(config)
                except LoadError as exc:
                    return {"failed": True, "output": str(exc)}
                return {"failed": False, **_wsgi_get(app, call.get("path", "/"))}
        if kind == "asgi":
            with package.activate(host):
                try:
                    app = package.asgi_app(config)
                except LoadError as exc:
                    return {"failed": True, "output": str(exc)}
                return {"failed": False, **_asgi_get(app, call.get("path", "/"))}
    raise ValueError(f"unknown call kind {kind!r}")


@contextmanager
def _environ(variables: Mapping[str, str]) -> Iterator[None]:
    """The caller's environment with *variables* added, restored afterwards."""
    import os

    saved = dict(os.environ)
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _wsgi_get(app: Callable[..., Any], path: str) -> Answer:
    import io

    status: list[str] = []

    def start_response(s: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(s)
        return lambda data: None

    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": True,
    }
    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return {"status": status[-1] if status else "", "body": body.decode("utf-8", "replace")}


def _asgi_get(app: Callable[..., Any], path: str) -> Answer:
    """One ``GET`` of *path* through the ASGI 3 application *app* (an HTTP scope, no server)."""
    import asyncio

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 50000),
    }
    sent: list[dict[str, Any]] = []
    requested = False

    async def run() -> None:
        done = asyncio.Event()  # the client disconnects only once the response is complete

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await asyncio.wait_for(app(scope, receive, send), timeout=30)

    asyncio.run(run())
    start = next((m for m in sent if m["type"] == "http.response.start"), {})
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {"status": str(start.get("status", "")), "body": body.decode("utf-8", "replace")}


# -- archives (section 2.1 - 2.3) ---------------------------------------------------


def _archive(request: Mapping[str, Any]) -> Answer:
    from apppackage import AppPackage, AppPackageError, InvalidPackage

    with tempfile.TemporaryDirectory(prefix="pyapp-conformance-") as temp:
        path = Path(temp, "package.pyapp")
        path.write_bytes(base64.b64decode(request["archive"]))
        try:
            package = AppPackage(path)
        except InvalidPackage as exc:
            return _invalid_archive(exc.problems, path.name)
        except AppPackageError as exc:
            return {"valid": False, "errors": [{"file": None, "path": "", "message": str(exc)}]}
        with package:
            try:
                problems = list(package.verify())
                if not problems:
                    package.extract(Path(temp, "extracted")).close()
            except InvalidPackage as exc:
                problems = list(exc.problems)
        return _invalid_archive(problems, path.name) if problems else {"valid": True, "errors": []}


def _invalid_archive(problems: Any, archive: str) -> Answer:
    errors = _problems(problems)
    for error in errors:
        if error["file"] == archive:
            error["file"] = None  # a problem of the archive itself, not of a file in it
    return {"valid": False, "errors": errors}


_HANDLERS: dict[str, Callable[[Mapping[str, Any]], Answer]] = {
    "description": _description,
    "configuration": _configuration,
    "config-values": _config_values,
    "environment": _environment,
    "callables": _callables,
    "archive": _archive,
}


def main() -> int:
    """Read one request from stdin, write its answer to stdout (the process contract)."""
    import sys

    request = json.load(sys.stdin)
    json.dump(answer(request), sys.stdout)
    sys.stdout.write("\n")
    return 0
