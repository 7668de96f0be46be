"""The ``lifecycle`` area answered by a real host (spec section 7): ``pyapp-host-impl``'s half for it.

For each case :func:`answer` writes one package per release the case describes, the
**probe** app at the release's version, whose code records what the host does to it:

- every hook the release declares appends what it saw (its name, the release, the
  versions and ``backup_path`` of its context, its configuration values, whether it runs
  in the data path and whether the data, tmp, log and writable directories are there and
  writable) to a log outside the app's directories (so that it outlives a removal), and
  fails (exit status 3, after printing ``<hook> of <version> fails on purpose``) when
  the case names it as ``failing_hook``, during the operation only;
- ``install`` and ``post-update`` leave a file ``<hook>-<release>`` in the data path,
  as an application's first set-up and a data migration would;
- with ``wsgi``, its WSGI application answers every path with the release's name and
  ``/health`` as the release's ``health`` says (``ok``; ``failing``: 500; ``redirect``:
  302; ``failing-on-newer-data``: 500 once the data path holds another release's
  migration);
- with ``process``, its process ``worker`` records its pid, so that the answer can say
  which releases still run one;
- with ``signed``, its package is signed with that key of :mod:`casekeys` (``RECORD.sig``,
  section 2.6), with ``bad_signature`` a signature made for another ``RECORD``; with
  ``trust``, the operator names that key (or ``unsigned``) as the one to trust when it is
  installed (re-pinning).

It then brings a scratch host (:class:`hostkit.ScratchHost`) to the state before the
operation, runs the operation through :class:`pyapp_runtime.Host` and reports what
happened.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from casekeys import FINGERPRINTS, sign
from hostkit import ScratchHost, alive, fetch, write_package

__all__ = ["answer"]

APP = "probe"
VERSIONS = {"old": "1.0", "new": "2.0"}

PROBE = '''\
"""The lifecycle probe of the conformance host: release {label} ({version})."""
import json
import os

LABEL = {label!r}
LOG = {log!r}
ARMED = {armed!r}
FAILING = {failing!r}
HEALTH = {health!r}
PIDS = {pids!r}


def _backup_path(context):
    path = context["backup_path"]
    if path is None:
        return None
    if not os.path.isdir(path):
        return "missing"
    for inside in (context["root"], context["data_path"]):
        if os.path.commonpath([os.path.realpath(path), os.path.realpath(inside)]) == os.path.realpath(inside):
            return "inside the release or the data path"
    return "empty" if not os.listdir(path) else "not empty"


def hook(context):
    dirs = [context["data_path"], context["tmp_path"], context["log_path"], *context["writable"].values()]
    entry = {{
        "hook": context["hook"],
        "release": LABEL,
        "from_version": context["from_version"],
        "to_version": context["to_version"],
        "backup_path": _backup_path(context),
        "config": context["config"],
        "in_data_path": os.getcwd() == context["data_path"],
        "dirs_ready": all(os.path.isdir(d) and os.access(d, os.W_OK) for d in dirs),
    }}
    with open(LOG, "a") as f:
        f.write(json.dumps(entry) + "\\n")
    if context["hook"] in ("install", "post-update"):
        with open(os.path.join(context["data_path"], context["hook"] + "-" + LABEL), "w") as f:
            f.write(context["version"])
    if context["hook"] == "backup" and context["backup_path"]:
        with open(os.path.join(context["backup_path"], "dump.txt"), "w") as f:
            f.write("the data of " + LABEL)
    if context["hook"] in FAILING and os.path.exists(ARMED):
        print(context["hook"] + " of " + context["version"] + " fails on purpose", flush=True)
        raise SystemExit(3)


def _healthy():
    if HEALTH == "failing":
        return False
    if HEALTH == "failing-on-newer-data":
        data = os.environ["PYAPP_DATA_PATH"]
        return not any(n.startswith("post-update-") and n != "post-update-" + LABEL for n in os.listdir(data))
    return True


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/health":
        if HEALTH == "redirect":
            start_response("302 Found", [("Location", "/"), ("Content-Type", "text/plain")])
            return [b"see /"]
        status = "200 OK" if _healthy() else "500 Internal Server Error"
        start_response(status, [("Content-Type", "text/plain")])
        return [status.encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [LABEL.encode()]


def worker():
    import time

    with open(os.path.join(PIDS, LABEL + "-" + str(os.getpid())), "w") as f:
        f.write(LABEL)
    while True:
        time.sleep(60)
'''


class _Releases:
    """The releases of one case on one scratch host: their packages and what they recorded."""

    def __init__(self, scratch: ScratchHost, request: Mapping[str, Any]) -> None:
        self.scratch = scratch
        self.described: dict[str, dict[str, Any]] = dict(request.get("releases", {}))
        self.versions = {
            label: str(self.described.get(label, {}).get("version", default))
            for label, default in VERSIONS.items()
        }
        self.labels = {version: label for label, version in self.versions.items()}
        self.log = scratch.path("hooks.jsonl")
        self.armed = scratch.path("armed")
        self.pids = scratch.path("pids")
        self.pids.mkdir()
        failing = request.get("failing_hook")
        self.failing = {(failing["release"], failing["hook"])} if failing else set()

    def package(self, label: str) -> Path:
        """The package of release *label*, written once."""
        root = self.scratch.path("packages", label)
        if root.exists():
            return root
        release = self.described.get(label, {})
        hooks = release.get("hooks", [])
        meta: dict[str, Any] = {"pyapp": "1.0", "name": APP, "version": self.versions[label]}
        if hooks:
            meta["hooks"] = {h: "probe:hook" for h in hooks}
        health = release.get("health", "ok")
        if release.get("wsgi"):
            meta["wsgi"] = {"app": "probe:application"}
            # A release meant to fail its check should not keep a case waiting long.
            meta["health"] = {"path": "/health", "timeout": 2, "start": 3 if health != "ok" else 30}
        if release.get("process"):
            meta["processes"] = {"worker": {"call": "probe:worker"}}
        if release.get("writable"):
            meta["writable"] = list(release["writable"])
        meta.update(release.get("metadata", {}))
        code = PROBE.format(
            label=label, version=self.versions[label], log=str(self.log), armed=str(self.armed),
            failing=sorted(h for r, h in self.failing if r == label), health=health, pids=str(self.pids),
        )  # fmt: skip
        files = {"metadata.yaml": yaml.safe_dump(meta, sort_keys=False), "src/probe.py": code}
        if release.get("fields"):
            files["configuration.yaml"] = yaml.safe_dump({"fields": release["fields"]}, sort_keys=False)
        write_package(root, files)
        if release.get("tampered"):  # a file that no longer matches RECORD (section 2.3)
            (root / "src" / "probe.py").write_text(code + "# changed after the build\n")
        if release.get("signed"):  # section 2.6: RECORD.sig, of this RECORD or, when bad, of another
            record = (root / "RECORD").read_bytes()
            signed = record + b"# another RECORD\n" if release.get("bad_signature") else record
            (root / "RECORD.sig").write_bytes(sign(signed, str(release["signed"])))
        return root

    def settings(self, label: str) -> list[str]:
        return [f"{k}={v}" for k, v in self.described.get(label, {}).get("settings", {}).items()]

    def install(self, label: str, **options: Any) -> None:
        trust = self.described.get(label, {}).get("trust")
        if trust is not None:  # the operator names the key to trust (section 2.6, re-pinning)
            options["trust_key"] = FINGERPRINTS.get(trust, trust)
        self.scratch.host.install(self.package(label), settings=self.settings(label), **options)

    def recorded(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def label(self, version: str) -> str:
        return self.labels.get(version, version)

    def running(self) -> list[str]:
        """The releases whose ``worker`` process still runs."""
        live = set()
        for entry in self.pids.iterdir():
            label, _, pid = entry.name.rpartition("-")
            if pid.isdigit() and alive(int(pid)):
                live.add(label)
        return sorted(live)


def _setup(releases: _Releases, operation: str) -> None:
    """Bring the host to the state before *operation* (see README.md, the ``lifecycle`` area)."""
    if operation in ("update", "remove", "backup"):
        releases.install("old")
    elif operation == "rollback":
        releases.install("old")
        releases.install("new")


def _operate(releases: _Releases, request: Mapping[str, Any]) -> None:
    host = releases.scratch.host
    operation = request["operation"]
    backup = request.get("backup")
    if operation == "install":
        releases.install("new")
    elif operation == "update":
        releases.install("new", backup=True if backup is None else bool(backup))
    elif operation == "rollback":
        host.rollback(APP)
    elif operation == "remove":
        host.remove(APP, backup=bool(backup), keep_data=bool(request.get("keep_data")))
    elif operation == "backup":
        host.backup(APP)
    else:
        raise ValueError(f"unknown lifecycle operation {operation!r}")


def answer(request: Mapping[str, Any]) -> dict[str, Any]:
    """Run the case's operation on a scratch host and report what happened."""
    from apppackage.errors import AppPackageError

    with ScratchHost() as scratch:
        releases = _Releases(scratch, request)
        _setup(releases, request["operation"])
        before = len(releases.recorded())
        releases.armed.touch()
        out: dict[str, Any] = {"failed": False}
        try:
            _operate(releases, request)
        except AppPackageError as exc:
            out.update(failed=True, error=str(exc))
        contexts = releases.recorded()[before:]
        out["hooks"] = [{"hook": c["hook"], "release": c["release"]} for c in contexts]
        out["contexts"] = contexts
        out.update(_state(releases))
        described = releases.described.values()
        if any(r.get("wsgi") for r in described):
            served = fetch(scratch.app_dir(APP, "run", "web.sock").as_posix(), "/")
            out["serving"] = served["body"] if served["status"] == 200 else None
        if any(r.get("process") for r in described):
            out["running"] = releases.running()
        return out


def _state(releases: _Releases) -> dict[str, Any]:
    """The current release, the releases kept, and the names in the data path (``None``: no data path)."""
    scratch = releases.scratch
    current = None
    kept: list[str] = []
    if scratch.host.is_installed(APP):
        current = releases.label(scratch.host.release(APP).version)
        kept = sorted(releases.label(r.release.version) for r in scratch.host.releases(APP))
    data = scratch.app_dir(APP, "data")
    names = sorted(os.listdir(data)) if data.is_dir() else None
    return {"current": current, "releases": kept, "data": names}
