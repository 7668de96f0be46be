"""The ASGI apps the tests build (spec section 3.16): examples/asgi-echo, and ``starnotes``, a small Starlette
application from PyPI -- Starlette and what it needs bundled into its package from the test wheelhouse,
served by the uvicorn the host or ``pyapp run`` lends it.

``starnotes`` is an ASGI factory (``asgi.factory: true``) given its configuration (``title``); its
lifespan marks it started; ``/env`` tells what its scope held (``root_path``, ``path``, the URL Starlette
makes for ``/env`` under it, scheme, client); ``/ws`` echoes each text message as ``<title>: <text>``;
its ``/static`` files are served before it, never by it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

__all__ = ["STARNOTES_FILES", "build_asgi_echo", "build_starnotes", "starnotes_source"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "asgi-echo"

STARNOTES_FILES = {
    "metadata.yaml": """\
pyapp: "1.1"
name: starnotes
version: "{version}"
summary: A small Starlette application.
dependencies:
  packages:
    - starlette>=1.0
asgi:
  app: starnotes.app:make_app
  factory: true
static:
  /static: static
health:
  path: /health
""",
    "configuration.yaml": """\
pyapp: "1.1"
format: yaml
fields:
  title:
    type: string
    default: starnotes
""",
    "static/notes.css": "h1 { color: teal }\n",
    "src/starnotes/__init__.py": "",
    "src/starnotes/app.py": '''\
"""A Starlette application built by a factory from its configuration."""
import os
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect


def make_app(config):
    title = config["title"]

    @asynccontextmanager
    async def lifespan(app):
        app.state.started = True
        yield

    async def home(request):
        return HTMLResponse(f'<h1>{title}</h1><a href="{request.url_for("env").path}">env</a>')

    async def health(request):
        return PlainTextResponse("ok")

    async def env(request):
        return JSONResponse({
            "title": title, "version": os.environ.get("PYAPP_VERSION"),
            "root_path": request.scope.get("root_path", ""), "path": request.url.path,
            "env_url": str(request.url_for("env")), "scheme": request.url.scheme,
            "client": request.client.host if request.client else None,
            "started": getattr(request.app.state, "started", False),
        })

    async def echo(websocket):
        await websocket.accept()
        while True:
            try:
                text = await websocket.receive_text()
            except WebSocketDisconnect:
                return
            await websocket.send_text(f"{title}: {text}")

    routes = [
        Route("/", home), Route("/health", health), Route("/env", env, name="env"),
        WebSocketRoute("/ws", echo),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
''',
}


def starnotes_source(out: Path, version: str = "1.0.0") -> Path:
    """The checkout of ``starnotes`` *version*, written under *out*."""
    source = out / f"starnotes-{version}"
    for name, text in STARNOTES_FILES.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{version}", version) if name == "metadata.yaml" else text)
    return source


def build_starnotes(out: Path, wheelhouse: Path, version: str = "1.0.0") -> Path:
    """``starnotes`` *version* built with ``pyapp-build``, offline from *wheelhouse*: its ``.pyapp``."""
    from pyapp_tools.building.builder import BuildOptions, build

    source = starnotes_source(out, version)
    return build(source, BuildOptions(out_dir=out / "dist", wheelhouse=wheelhouse, offline=True)).path


def build_asgi_echo(out: Path, version: str = "1.0.0") -> Path:
    """examples/asgi-echo as *version*, built with ``pyapp-build``: its ``.pyapp``."""
    from pyapp_tools.building.builder import BuildOptions, build

    source = out / f"asgi-echo-{version}"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "dist"))
    meta = source / "metadata.yaml"
    meta.write_text(re.sub(r"(?m)^version: .*$", f'version: "{version}"', meta.read_text()))
    return build(source, BuildOptions(out_dir=out / "dist", offline=True)).path
