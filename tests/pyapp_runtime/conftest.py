"""Fixtures for the host runtime tests: real .pyapp packages built in tmp dirs, a host per test.

Packages are zips with a RECORD made by :func:`apppackage.record.render_record`.
The ``probe`` app declares every hook; its hooks log each call to
``data/hooks.log`` and fail, or sleep, when a marker file in the app's data dir
asks them to (``fail-<hook>-<version>``, ``sleep-<hook>-<version>``, or the
configuration value ``sleep: <hook>-<version>``), so one package serves every
failure path.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from apppackage.record import render_record
from apppackage.sources import DirectorySource

PYAPP = str(Path(sys.executable).with_name("pyapp"))
HOOKS = ("install", "verify", "pre-update", "post-update", "backup", "uninstall")

PROBE_CODE = '''\
"""A test app: hooks that log and fail on request, and a command that reports its environment."""
import importlib
import json
import os
import sys
import time
from pathlib import Path


def hook(context):
    data = Path(context["data_path"])
    name, version = context["hook"], context["version"]
    entry = {
        "hook": name, "version": version, "from": context["from_version"], "to": context["to_version"],
        "config": context["config"], "cwd": os.getcwd(), "config_file": os.environ.get("PYAPP_CONFIG_FILE"),
        "root": context["root"], "backup_path": context["backup_path"],
    }
    with open(data / "hooks.log", "a") as f:
        f.write(json.dumps(entry) + "\\n")
    if name == "backup":
        Path(context["backup_path"], "dump.txt").write_text(f"dump of {version}")
    if (data / f"sleep-{name}-{version}").exists() or context["config"].get("sleep") == f"{name}-{version}":
        (data / f"pid-{name}").write_text(str(os.getpid()))
        time.sleep(120)
    if (data / f"fail-{name}-{version}").exists():
        print(f"{name} of {version} fails on purpose")
        raise SystemExit(3)


def probe(argv):
    out = {"sys_path": sys.path, "env": {k: v for k, v in os.environ.items() if k.startswith("PYAPP_")}}
    for name in argv:
        try:
            module = importlib.import_module(name)
            out[name] = getattr(module, "__file__", None) or "namespace"
        except ImportError as exc:
            out[name] = None
            out[name + "_error"] = str(exc)
    print(json.dumps(out))
'''


def build_pyapp(
    src: Path, out: Path, wheels: Iterable[Path] = (), extra: Mapping[str, bytes] | None = None
) -> Path:
    """Zip the package directory *src* (plus *wheels* under deps/ and *extra* files) with its RECORD."""
    files = {n: (src / n).read_bytes() for n in DirectorySource(src).names() if n != "RECORD"}
    for wheel in wheels:
        files[f"deps/{wheel.name}"] = wheel.read_bytes()
    files.update(extra or {})
    files["RECORD"] = render_record(files).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(name, files[name])
    return out


class Factory:
    """Writes test apps into a directory and builds them."""

    def __init__(self, root: Path, wheelhouse: Path | None = None) -> None:
        self.root = root
        self.wheelhouse = wheelhouse

    def wheels(self, *names: str) -> list[Path]:
        """Wheels of the wheelhouse whose file names start with one of *names* (all without names)."""
        assert self.wheelhouse is not None
        found = sorted(self.wheelhouse.glob("*.whl"))
        if not names:
            return found
        return [w for w in found if w.name.lower().startswith(tuple(n.lower() for n in names))]

    def probe(
        self,
        version: str = "1.0.0",
        *,
        name: str = "probe",
        fields: Mapping[str, Any] | None = None,
        config_format: str = "yaml",
        metadata: Mapping[str, Any] | None = None,
        wheels: Iterable[Path] = (),
        extra: Mapping[str, bytes] | None = None,
        tag: str = "",
    ) -> Path:
        """The probe app *name* at *version* as a .pyapp (*fields*: its configuration spec's fields)."""
        src = self.root / f"{name}-{version}{tag}"
        (src / "src" / "probe").mkdir(parents=True, exist_ok=True)
        (src / "src" / "probe" / "__init__.py").write_text(PROBE_CODE)
        meta: dict[str, Any] = {
            "pyapp": "1.0",
            "name": name,
            "version": version,
            "hooks": {h: "probe:hook" for h in HOOKS},
            "commands": {"probe": "probe:probe"},
            "writable": ["files"],
        }
        meta.update(metadata or {})
        (src / "metadata.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
        if fields is None:
            fields = {"greeting": {"type": "string", "default": "Hello"}}
        spec = {"format": config_format, "fields": dict(fields)}
        (src / "configuration.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        return build_pyapp(src, self.root / f"{name}-{version}{tag}.pyapp", wheels, extra)

    def hello(self, repo_root: Path, version: str | None = None) -> Path:
        """examples/hello as a .pyapp (optionally with another version)."""
        src = self.root / f"hello-src-{version or 'orig'}"
        if not src.exists():
            import shutil

            shutil.copytree(
                repo_root / "examples" / "hello", src, ignore=shutil.ignore_patterns("__pycache__")
            )
            if version:
                meta = (src / "metadata.yaml").read_text()
                (src / "metadata.yaml").write_text(meta.replace('version: "1.0.0"', f'version: "{version}"'))
        return build_pyapp(src, self.root / f"hello-{version or '1.0.0'}.pyapp")


@pytest.fixture
def factory(tmp_path: Path) -> Factory:
    return Factory(tmp_path / "packages")


@pytest.fixture(scope="module")
def module_factory(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Factory:
    """Packages shared by the tests of one module (building is cheap, but not free)."""
    return Factory(tmp_path_factory.mktemp("packages"), wheelhouse)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def hook_log(home: Path, app: str = "probe") -> list[dict[str, Any]]:
    """The probe app's hook calls, in order."""
    path = home / "apps" / app / "data" / "hooks.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def read_hook_log() -> Any:
    return hook_log


def run_pyapp(*args: str | Path, home: Path, env: Mapping[str, str] | None = None, **kw: Any) -> Any:
    """Run the real ``pyapp`` command line with ``--home``-less args and PYAPP_HOME=*home*."""
    environ = dict(os.environ)
    environ["PYAPP_HOME"] = str(home)
    environ.update(env or {})
    return subprocess.run(
        [PYAPP, *map(str, args)], env=environ, capture_output=True, text=True, timeout=240, **kw
    )


@pytest.fixture
def pyapp_cli() -> Any:
    return run_pyapp


def snapshot(home: Path, app: str = "probe") -> dict[str, Any]:
    """What a user sees of an app's state: current/previous targets, release dirs, config, stray files."""
    base = home / "apps" / app
    releases = base / "releases"
    return {
        "current": os.readlink(base / "current") if (base / "current").is_symlink() else None,
        "previous": os.readlink(base / "previous") if (base / "previous").is_symlink() else None,
        "releases": sorted(os.listdir(releases)) if releases.exists() else [],
        "config": (base / "config.yaml").read_text() if (base / "config.yaml").exists() else None,
        "journal": (home / "apps" / f"{app}.journal").exists(),
    }


@pytest.fixture
def app_snapshot() -> Any:
    return snapshot


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _make_wheel(
    directory: Path,
    files: dict[str, bytes],
    *,
    name: str = "demo",
    version: str = "1.0",
    tag: str = "py3-none-any",
    tamper: str | None = None,
    unlisted: str | None = None,
) -> Path:
    info = f"{name}-{version}.dist-info"
    content = dict(files)
    content[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    content[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path, data in content.items():
        if path != unlisted:
            writer.writerow([path, _digest(data), len(data)])
    writer.writerow([f"{info}/RECORD", "", ""])
    if tamper:
        content[tamper] = content[tamper] + b"# changed\n"
    path = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name_, data in content.items():
            zf.writestr(name_, data)
        zf.writestr(f"{info}/RECORD", out.getvalue())
    return path


@pytest.fixture
def make_wheel() -> Any:
    """``make_wheel(directory, {path: bytes}, name=..., version=...)``: a small wheel with its RECORD."""
    return _make_wheel
