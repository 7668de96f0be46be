"""The ``host`` area answered by a real host (sections 3.3, 3.9, 3.10, 4.5, 5, 6, 7.3, 7.10).

``pyapp-host-impl``'s half for it.

:func:`answer` writes the case's package (its files and their ``RECORD``), installs it
on a scratch host (:class:`hostkit.ScratchHost`) with the case's configuration values,
service values and host environment, mounts it when the case asks, then runs the case's
steps in order and reports each one's result (see README.md, the ``host`` area).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from hostkit import WAIT, ScratchHost, environ, fetch, wait_for, write_package

__all__ = ["answer"]


class _App:
    """The case's app on its scratch host."""

    def __init__(self, scratch: ScratchHost, request: Mapping[str, Any]) -> None:
        self.scratch = scratch
        self.host = scratch.host
        self.files: dict[str, str] = dict(request["package"]["files"])
        meta = yaml.safe_load(self.files["metadata.yaml"])
        self.name = str(meta["name"])
        self.description = meta
        self.packages = 0
        self.original = self.write(self.files)

    def write(self, files: Mapping[str, str]) -> Path:
        self.packages += 1
        return write_package(self.scratch.path("packages", str(self.packages)), files)

    def data(self, *parts: str) -> Path:
        return self.scratch.app_dir(self.name, "data", *parts)

    def address(self) -> str | int | None:
        return self.scratch.web_address(self.name)


def _problems(exc: Exception, description: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A refusal as PROBLEMs at the description's pointers (``metadata.yaml``) of what it names."""
    from pyapp_runtime.errors import BadServices, RequirementsNotMet

    from apppackage.errors import InvalidPackage

    if isinstance(exc, RequirementsNotMet):
        return _requirements_named(exc.reasons, description.get("requires") or {})
    if isinstance(exc, BadServices):
        return [
            {"file": "metadata.yaml", "path": f"/services/{name}", "message": str(exc)}
            for name in exc.missing
        ]
    if isinstance(exc, InvalidPackage):
        return [{"file": p.file, "path": p.path, "message": p.message} for p in exc.problems]
    return [{"file": None, "path": "", "message": str(exc)}]


def _requirements_named(reasons: tuple[str, ...], requires: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The requirements (section 3.3) the host's refusal names, each at its pointer."""
    text = "\n".join(reasons)

    def named(item: str) -> bool:
        return re.search(rf"(?<![\w.-]){re.escape(item)}(?![\w.-])", text) is not None

    out = []
    if requires.get("python") and "Python" in text and named(str(requires["python"])):
        out.append("/requires/python")
    if requires.get("os") and "operating system" in text:
        out.append("/requires/os")
    for key in ("deb", "rpm", "external"):
        out += [f"/requires/{key}/{i}" for i, item in enumerate(requires.get(key, [])) if named(item)]
    return [{"file": "metadata.yaml", "path": path, "message": text} for path in out]


# -- the steps ---------------------------------------------------------------------------------


def _get(app: _App, step: Mapping[str, Any]) -> dict[str, Any]:
    where = app.address()
    if where is None:
        return {"status": None, "error": "the app's WSGI server does not listen"}
    out = fetch(where, step["get"], method=step.get("method", "GET"), headers=step.get("headers"))
    with contextlib.suppress(ValueError, KeyError):
        out["json"] = json.loads(out["body"])
    return out


def _revalidate(app: _App, step: Mapping[str, Any]) -> dict[str, Any]:
    """GET the path, then again with the validator of the first answer (ETag or Last-Modified)."""
    where = app.address()
    if where is None:
        return {"status": None, "error": "the app's WSGI server does not listen"}
    first = fetch(where, step["revalidate"])
    headers = first.get("headers", {})
    if step.get("with", "etag") == "etag":
        condition = {"If-None-Match": headers.get("etag", "")}
    else:
        condition = {"If-Modified-Since": headers.get("last-modified", "")}
    return fetch(where, step["revalidate"], headers=condition)


def _read(app: _App, step: Mapping[str, Any]) -> dict[str, Any]:
    """A file the app writes in its data path, once it is there (with ``lines`` lines, or ``until`` text)."""
    path = app.data(step["read"])
    lines, until = int(step.get("lines", 1)), step.get("until")

    def ready() -> str | None:
        try:
            text = path.read_text("utf-8")
        except OSError:
            return None
        complete = len([line for line in text.splitlines() if line.strip()]) >= lines
        return text if complete and (until is None or until in text) else None

    text = wait_for(ready, timeout=float(step.get("timeout", WAIT)))
    if text is None:
        return {"text": None, "error": f"{step['read']}: not written as asked within the time limit"}
    out: dict[str, Any] = {"text": text, "lines": [line for line in text.splitlines() if line.strip()]}
    with contextlib.suppress(ValueError):
        out["json"] = json.loads(text)
    return out


def _command(app: _App, step: Mapping[str, Any]) -> dict[str, Any]:
    result = app.host.run_command(app.name, step["command"], step.get("argv", []), capture=True, timeout=60)
    out: dict[str, Any] = {"exit_code": result.returncode, "output": result.output}
    with contextlib.suppress(ValueError):
        out["json"] = json.loads(result.output)
    return out


def _action(run: Callable[[], Any]) -> dict[str, Any]:
    from apppackage.errors import AppPackageError

    try:
        run()
    except AppPackageError as exc:
        return {"failed": True, "error": str(exc)}
    return {"failed": False}


def _link(app: _App, step: Mapping[str, Any]) -> dict[str, Any]:
    """A symbolic link at a path of the current release to a file outside it (which a host must not serve)."""
    outside = app.scratch.path("outside.txt")
    outside.write_text("a file outside the release\n")
    link = app.host.release(app.name).path / step["link"]
    parent = link.parent
    mode = parent.stat().st_mode
    os.chmod(parent, mode | 0o200)  # releases are read-only
    link.symlink_to(outside)
    os.chmod(parent, mode)
    return {}


def _step(app: _App, step: Mapping[str, Any]) -> dict[str, Any]:
    host, name = app.host, app.name
    if "get" in step:
        return _get(app, step)
    if "revalidate" in step:
        return _revalidate(app, step)
    if "read" in step:
        return _read(app, step)
    if "command" in step:
        return _command(app, step)
    if "configure" in step:
        values = {k: v for k, v in step["configure"].items()}
        return _action(lambda: host.replace_config(name, values, merge=True))
    if "show_config" in step:
        return {"values": host.config(name).values}
    if "update" in step:
        files = {**app.files, **step["update"].get("files", {})}
        return _action(lambda: host.install(app.write(files)))
    if "rollback" in step:
        return _action(lambda: host.rollback(name))
    if "stop" in step:
        return _action(lambda: host.stop(name))
    if "remove" in step:
        return _action(lambda: host.remove(name, keep_data=bool(step["remove"].get("keep_data"))))
    if "install" in step:
        return _action(lambda: host.install(app.original))
    if "link" in step:
        return _link(app, step)
    if "sleep" in step:
        time.sleep(float(step["sleep"]))
        return {}
    raise ValueError(f"unknown host step {sorted(step)}")


def answer(request: Mapping[str, Any]) -> dict[str, Any]:
    """Install the case's package on a scratch host, run its steps, report each one's result."""
    from apppackage.errors import AppPackageError

    requires = (yaml.safe_load(request["package"]["files"]["metadata.yaml"]) or {}).get("requires") or {}
    if requires.get("deb") and shutil.which("dpkg-query") is None:
        return {"skip": "this host has no Debian packages: it cannot check a deb requirement"}
    with environ(request.get("environ", {})), ScratchHost() as scratch:
        app = _App(scratch, request)
        settings = [f"{k}={v}" for k, v in request.get("settings", {}).items()]
        services = [f"{k}={v}" for k, v in request.get("services", {}).items()]
        try:
            scratch.host.install(app.original, settings=settings, services=services)
        except AppPackageError as exc:
            return {
                "installed": False,
                "valid": False,
                "errors": _problems(exc, app.description),
                "error": str(exc),
                "results": [],
                "serving": fetch(str(scratch.app_dir(app.name, "run", "web.sock")), "/")["status"],
            }
        if request.get("mount_path"):
            scratch.host.web.add_vhost("main", port=8080)
            scratch.host.web.mount(app.name, "main", request["mount_path"])
        results = [_step(app, step) for step in request.get("steps", [])]
        return {"installed": True, "valid": True, "errors": [], "results": results}
