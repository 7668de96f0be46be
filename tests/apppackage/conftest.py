"""Fixtures of the apppackage tests: real packages built in ``tmp_path``.

``demo_dir`` is a directory package using most of the description (a WSGI app and a
factory, commands, hooks, tasks, a process, services, writable dirs, static files,
a configuration spec) and ``demo_zip`` the same files as a ``.pyapp`` zip. Both carry
a RECORD computed here, independently of :mod:`apppackage.record`.
"""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import io
import textwrap
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from apppackage.environment import HostPaths

DEMO_METADATA: dict[str, Any] = {
    "pyapp": "1.0",
    "name": "demo",
    "version": "2.1.0",
    "summary": "The application the tests of apppackage run.",
    "license": "MIT",
    "requires": {"python": ">=3.10"},
    "dependencies": {"requirements": "deps/requirements.txt"},
    "wsgi": {"app": "demo.web:application"},
    "writable": ["uploads", "cache_dir"],
    "services": {
        "db": {"type": "postgresql", "summary": "The main database"},
        "cache": {"type": "redis", "variable": "CACHE_URL", "required": False},
    },
    "static": {"/static": "static"},
    "commands": {
        "echo": "demo.commands:echo",
        "exit-code": {"call": "demo.commands:exit_code", "help": "Exit with the code given."},
        "boom": "demo.commands:boom",
        "probe": "demo.commands:probe",
        "missing": "demo.nothere:func",
    },
    "processes": {"worker": {"call": "demo.worker:main", "args": ["--port", "{port}"], "port": True}},
    "hooks": {
        "install": "demo.hooks:behave",
        "verify": "demo.hooks:behave",
        "pre-update": {"call": "demo.hooks:behave", "timeout": 30},
    },
    "tasks": {
        "job": {"call": "demo.hooks:behave", "every": 60},
        "nightly": {"call": "demo.hooks:behave", "cron": "0 3 * * mon-fri"},
    },
    "health": {"path": "/health"},
    "x-demo": {"kept": True},
}

DEMO_CONFIGURATION: dict[str, Any] = {
    "pyapp": "1.0",
    "format": "yaml",
    "fields": {
        "title": {"type": "string", "default": "Demo", "max_length": 40},
        "secret_key": {"type": "secret", "length": 24},
        "mode": {"type": "choice", "choices": ["ok", "raise", "false", "exit", "sleep"], "default": "ok"},
    },
}

_SOURCES = {
    "src/demo/__init__.py": '"""The demo application of the apppackage tests."""\n',
    "src/demo/web.py": """
        import os

        NOT_CALLABLE = 42


        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"demo {os.environ.get('PYAPP_VERSION')}".encode()]
        """,
    "src/demo/factory.py": """
        import json


        def make(config):
            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "application/json")])
                return [json.dumps(config, sort_keys=True).encode()]

            app.config = config
            return app


        def broken(config):
            raise ValueError("the factory refuses this configuration")


        def not_an_app(config):
            return 42
        """,
    "src/demo/broken.py": 'raise RuntimeError("broken at import")\n',
    "src/demo/attrbroken.py": "import os\n\nVALUE = os.no_such_function()\n",
    "src/demo/needsdep.py": "import notinstalled_dependency_xyz  # noqa: F401\n",
    "src/demo/commands.py": """
        import importlib
        import json
        import os
        import sys
        import tempfile


        def echo(argv):
            print(json.dumps({"argv": argv, "sys_argv": sys.argv, "cwd": os.getcwd()}))


        def exit_code(argv):
            return int(argv[0]) if argv else None


        def boom(argv):
            raise RuntimeError("boom from a command")


        def probe(argv):
            importable = {}
            for name in argv:
                try:
                    importlib.import_module(name)
                    importable[name] = True
                except ImportError:
                    importable[name] = False
            out = {
                "sys_path": sys.path,
                "base_prefix": sys.base_prefix,
                "environ": {
                    k: v
                    for k, v in os.environ.items()
                    if k.startswith("PYAPP_") or k in ("TMPDIR", "SCRIPT_NAME", "CACHE_URL")
                },
                "tempdir": tempfile.gettempdir(),
                "importable": importable,
            }
            print(json.dumps(out))
        """,
    "src/demo/hooks.py": """
        import json
        import os
        import subprocess
        import sys
        import time


        def behave(context):
            mode = context["config"].get("mode", "ok")
            environ = {k: v for k, v in os.environ.items() if k.startswith("PYAPP_") or k == "TMPDIR"}
            print(json.dumps({"context": context, "cwd": os.getcwd(), "environ": environ}))
            sys.stdout.flush()
            if mode == "raise":
                raise RuntimeError("the hook failed on purpose")
            if mode == "false":
                return False
            if mode == "exit":
                sys.exit(3)
            if mode == "stdin":
                print("stdin:", repr(sys.stdin.read()))
            if mode == "sleep":
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
                with open(os.path.join(context["data_path"], "pids"), "w") as f:
                    f.write(f"{os.getpid()} {child.pid}")
                time.sleep(120)
            return None
        """,
    "src/demo/worker.py": """
        import json


        def main(*args):
            print(json.dumps(list(args)))
        """,
    "static/style.css": "body { color: black; }\n",
    "deps/requirements.txt": "# no third-party dependencies\n",
}


def record_text(files: Mapping[str, bytes]) -> str:
    """A RECORD for *files*, written here without apppackage (spec section 2.3)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for name in sorted(files):
        digest = base64.urlsafe_b64encode(hashlib.sha256(files[name]).digest()).rstrip(b"=").decode()
        writer.writerow([name, f"sha256={digest}", len(files[name])])
    writer.writerow(["RECORD", "", ""])
    return out.getvalue()


def _text(content: str | bytes) -> bytes:
    if isinstance(content, bytes):
        return content
    return textwrap.dedent(content).lstrip("\n").encode()


def make_package(
    root: Path,
    metadata: Mapping[str, Any] | None = None,
    *,
    configuration: Mapping[str, Any] | None = None,
    files: Mapping[str, str | bytes] | None = None,
    remove: tuple[str, ...] = (),
    record: bool = True,
) -> Path:
    """Write a directory package at *root*: the demo, changed by the arguments."""
    contents: dict[str, bytes] = {name: _text(text) for name, text in _SOURCES.items()}
    meta = copy.deepcopy(dict(metadata if metadata is not None else DEMO_METADATA))
    contents["metadata.yaml"] = yaml.safe_dump(meta, sort_keys=False).encode()
    conf = configuration if configuration is not None else DEMO_CONFIGURATION
    contents["configuration.yaml"] = yaml.safe_dump(dict(conf), sort_keys=False).encode()
    for name, text in (files or {}).items():
        contents[name] = _text(text)
    for name in remove:
        contents = {n: c for n, c in contents.items() if n != name and not n.startswith(name + "/")}
    if record:
        contents["RECORD"] = record_text(contents).encode()
    for name, data in contents.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def zip_package(source: Path, target: Path) -> Path:
    """The files of the directory package *source* as a ``.pyapp`` zip at *target*."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            zf.writestr(path.relative_to(source).as_posix(), path.read_bytes())
    return target


@pytest.fixture
def package_factory() -> Callable[..., Path]:
    """:func:`make_package`, for tests that need a variant of the demo."""
    return make_package


@pytest.fixture
def zip_factory() -> Callable[[Path, Path], Path]:
    """:func:`zip_package`."""
    return zip_package


@pytest.fixture
def demo_metadata() -> dict[str, Any]:
    """A fresh copy of the demo's description, to change in a test."""
    return copy.deepcopy(DEMO_METADATA)


@pytest.fixture
def demo_configuration() -> dict[str, Any]:
    return copy.deepcopy(DEMO_CONFIGURATION)


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    """The demo as a directory package."""
    return make_package(tmp_path / "demo")


@pytest.fixture
def demo_zip(tmp_path: Path, demo_dir: Path) -> Path:
    """The demo as a ``.pyapp`` zip with the same files (and RECORD) as ``demo_dir``."""
    return zip_package(demo_dir, tmp_path / "dist" / "demo-2.1.0.pyapp")


@pytest.fixture
def site_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """An app site-packages holding ``sitemod`` and a server-packages holding ``servermod``."""
    site = tmp_path / "site-packages"
    server = tmp_path / "server-packages"
    site.mkdir()
    server.mkdir()
    (site / "sitemod.py").write_text("WHERE = 'site'\n")
    (server / "servermod.py").write_text("WHERE = 'server'\n")
    return site, server


@pytest.fixture
def host(tmp_path: Path, demo_dir: Path, site_dirs: tuple[Path, Path]) -> HostPaths:
    """Host paths for the demo, with its state under ``tmp_path/state``."""
    site, server = site_dirs
    state = tmp_path / "state"
    return HostPaths(
        root=demo_dir,
        data_path=state / "data",
        tmp_path=state / "tmp",
        log_path=state / "logs",
        config_file=state / "config.yaml",
        site_packages=(site,),
        server_packages=(server,),
    )


def tree(path: Path) -> set[str]:
    """Every file and directory below *path*, relative to it."""
    return {p.relative_to(path).as_posix() for p in path.rglob("*")}


@pytest.fixture
def snapshot() -> Callable[[Path], set[str]]:
    """:func:`tree`: what exists below a directory, to compare before and after."""
    return tree
