"""``pyapp init``: a new application that validates, builds and runs as it is."""

from __future__ import annotations

import re
from pathlib import Path

from apppackage import AppPackageError

__all__ = ["scaffold", "scaffold_files"]

_METADATA = """\
# The description of {name} (spec/pyapp-1.1.md, section 3). Check it with: pyapp validate .
pyapp: "1.1"
name: {name}
version: "0.1.0"
summary: A small web application packaged with pyapp.
requires:
  python: ">=3.10"
wsgi:
  app: {module}.app:make_app
  factory: true
writable:
  - notes
commands:
  hello:
    call: {module}.commands:hello
    help: Print a greeting for each name given.
health:
  path: /health
"""

_CONFIGURATION = """\
# The settings an operator fills in (spec section 4). Override them locally with
#   pyapp run . --set greeting=Hi
pyapp: "1.1"
format: yaml
fields:
  greeting:
    type: string
    label: Greeting
    help: The first words of the home page.
    default: Hello
    required: true
    max_length: 40
"""

_INIT = '''"""{name}: a pyapp application."""
'''

_APP = '''"""The WSGI application of {name} (metadata.yaml /wsgi): a factory that gets the configuration."""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Iterable
from typing import Any


def make_app(config: dict[str, Any]) -> Callable[..., Iterable[bytes]]:
    """Return the WSGI application for the filled-in *config* (spec section 6.6)."""
    greeting = str(config.get("greeting", "Hello"))

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == "/health":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if path != "/":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        name = os.environ.get("PYAPP_NAME", "{name}")
        version = os.environ.get("PYAPP_VERSION", "dev")
        title = f"{{html.escape(greeting)}} from {{name}} {{version}}"
        body = f"<!doctype html><title>{{name}}</title><h1>{{title}}</h1>"
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode("utf-8")]

    return application
'''

_COMMANDS = '''"""The commands of {name} (metadata.yaml /commands).

Run one with: pyapp command . hello NAME
"""

from __future__ import annotations


def hello(argv: list[str]) -> int:
    """Greet every name in *argv*; exit status 2 without names."""
    if not argv:
        print("usage: hello NAME...")
        return 2
    for name in argv:
        print(f"Hello, {{name}}!")
    return 0
'''

_TEST = '''"""Tests of {name}: run them with `python -m unittest discover -s tests` (pytest runs them too)."""

from __future__ import annotations

import contextlib
import io
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from {module}.app import make_app  # noqa: E402
from {module}.commands import hello  # noqa: E402


def call(app, path):
    seen = {{}}

    def start_response(status, headers):
        seen["status"] = status

    body = b"".join(app({{"PATH_INFO": path, "REQUEST_METHOD": "GET"}}, start_response))
    return seen["status"], body.decode()


class AppTest(unittest.TestCase):
    def test_home_page_shows_the_greeting(self):
        status, body = call(make_app({{"greeting": "Howdy"}}), "/")
        self.assertEqual(status, "200 OK")
        self.assertIn("Howdy from", body)

    def test_health(self):
        self.assertEqual(call(make_app({{}}), "/health"), ("200 OK", "ok"))

    def test_unknown_path_is_404(self):
        self.assertTrue(call(make_app({{}}), "/nope")[0].startswith("404"))


class CommandTest(unittest.TestCase):
    def test_hello_command(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(hello(["Ada"]), 0)
        self.assertEqual(out.getvalue(), "Hello, Ada!\\n")
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(hello([]), 2)


if __name__ == "__main__":
    unittest.main()
'''

_README = """\
# {name}

A web application packaged with pyapp.

    pyapp validate .                 # check metadata.yaml and configuration.yaml
    pyapp run .                      # serve it from this checkout, prints its URL
    pyapp run . --set greeting=Hi    # with a setting changed
    pyapp command . hello World      # run one of its commands
    pyapp-build .                    # build dist/{name}-0.1.0.pyapp
    pyapp run dist/{name}-0.1.0.pyapp
    python -m unittest discover -s tests    # the tests (the standard library runs them; so does pytest)
"""

_GITIGNORE = """\
__pycache__/
*.py[cod]
*.egg-info/
.venv/
venv/
dist/
build/
.pytest_cache/
"""


def _names(directory: Path, name: str | None) -> tuple[str, str]:
    raw = name or directory.resolve().name
    app = re.sub(r"[^a-z0-9._-]+", "-", raw.lower()).strip("-._") or "app"
    if not app[0].isalnum():
        app = "app-" + app
    module = re.sub(r"[^a-z0-9_]+", "_", app)
    if not module[0].isalpha():
        module = "app_" + module
    return app, module


def scaffold_files(name: str, module: str) -> dict[str, str]:
    """The files of a new application called *name* whose code is the package *module*."""
    fill = {"name": name, "module": module}
    return {
        "metadata.yaml": _METADATA.format(**fill),
        "configuration.yaml": _CONFIGURATION,
        f"src/{module}/__init__.py": _INIT.format(**fill),
        f"src/{module}/app.py": _APP.format(**fill),
        f"src/{module}/commands.py": _COMMANDS.format(**fill),
        "tests/test_app.py": _TEST.format(**fill),
        "README.md": _README.format(**fill),
        ".gitignore": _GITIGNORE,
    }


def scaffold(directory: Path, name: str | None = None) -> list[Path]:
    """Write a new application into *directory* (created if needed); never overwrite a file."""
    app, module = _names(directory, name)
    files = scaffold_files(app, module)
    existing = [rel for rel in files if (directory / rel).exists()]
    if existing:
        raise AppPackageError(
            f"{directory}: would overwrite {', '.join(existing)}; run pyapp init in a new or empty directory"
        )
    written = []
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
