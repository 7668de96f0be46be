"""The ``builder`` area of the process contract answered by ``pyapp-build``, this project's builder.

:func:`answer` writes the case's checkout in a temporary directory (its files, the
files made executable, its symbolic links), offers the builder the case's wheels as its
only source of dependencies (a wheelhouse, no package index) and builds it with
:func:`pyapp_tools.building.builder.build`, what ``pyapp-build`` runs, in the case's
environment. With ``builds: 2`` it builds twice, each time from a fresh copy of the
checkout, the second with every file's time set to another date. It answers with
the bytes of what it built (which the runner reads itself, see
``tools/built_package.py``), the warnings the builder gave, and the description of the
checkout and of the built package as this project's reader reads them. With ``git``,
the checkout is a git work tree (``git init``, nothing committed) before its files are
written (``.git/info/exclude`` among them, when the case gives it). With ``sign``, it
signs with that key of :mod:`casekeys` (``pyapp-build --sign``).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["SKIPS", "answer", "main"]

SKIPS: dict[str, str] = {}
"""Cases pyapp-build does not pass yet: case description -> its bug (answered as ``{"skip": reason}``,
unless ``PYAPP_CONFORMANCE_STRICT=1``: the test suite then checks that each still fails)."""

_OTHER_DATE = 1_000_000_000  # 2001-09-09: a time no file of a fresh copy has


def _problems(problems: Any) -> list[dict[str, Any]]:
    return [{"file": p.file, "path": p.path, "message": p.message} for p in problems]


def _checkout(root: Path, request: Mapping[str, Any], *, redated: bool) -> Path:
    """The case's checkout, written anew under *root*."""
    root.mkdir(parents=True)
    if request.get("git"):
        subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True)
    for name, text in request["project"]["files"].items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    for name in request.get("executable", []):
        os.chmod(root / name, 0o755)
    for name, target in request.get("links", {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(target)
    if redated:
        for path in [root, *root.rglob("*")]:
            os.utime(path, (_OTHER_DATE, _OTHER_DATE), follow_symlinks=False)
    return root


@contextmanager
def _environ(variables: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.pop("SOURCE_DATE_EPOCH", None)  # only the case's say
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _description(path: Path) -> dict[str, Any] | None:
    from apppackage import AppPackage, AppPackageError

    try:
        with AppPackage(path) as package:
            return package.description.to_dict()
    except AppPackageError:
        return None


def answer(request: Mapping[str, Any]) -> dict[str, Any]:
    """Build the case's checkout (once, or ``builds`` times) and answer what was built."""
    import yaml
    from pyapp_tools.building.builder import BuildOptions, Reporter, build

    from apppackage import AppPackageError, InvalidPackage

    warnings: list[Any] = []

    class Collect(Reporter):
        def warning(self, problem: Any) -> None:
            warnings.append(problem)

    with (
        tempfile.TemporaryDirectory(prefix="pyapp-conformance-") as temp,
        _environ(request.get("environ", {})),
    ):
        wheelhouse = Path(temp, "wheelhouse")
        wheelhouse.mkdir()
        for name, data in request.get("wheels", {}).items():
            (wheelhouse / name).write_bytes(base64.b64decode(data))
        packages, out = [], {}
        for n in range(int(request.get("builds", 1))):
            project = _checkout(Path(temp, f"checkout-{n}"), request, redated=n > 0)
            key = None
            if request.get("sign"):
                from casekeys import write_private_key

                key = write_private_key(str(request["sign"]), Path(temp, f"key-{n}.pem"))
            options = BuildOptions(
                out_dir=Path(temp, f"out-{n}"), wheelhouse=wheelhouse, offline=True, sign=key
            )
            warnings.clear()
            try:
                result = build(project, options, Collect())
            except InvalidPackage as exc:
                return {
                    "built": False,
                    "valid": False,
                    "errors": _problems(exc.problems),
                    "warnings": _problems(warnings),
                }
            except AppPackageError as exc:
                return {
                    "built": False,
                    "valid": False,
                    "errors": [{"file": None, "path": "", "message": str(exc)}],
                }
            packages.append(base64.b64encode(result.path.read_bytes()).decode("ascii"))
            if n == 0:
                from zipfile import ZipFile

                with ZipFile(result.path) as zf:
                    metadata = yaml.safe_load(zf.read("metadata.yaml"))
                out = {
                    "built": True,
                    "valid": True,
                    "errors": [],
                    "warnings": _problems(warnings),
                    "file_name": result.path.name,
                    "metadata": metadata,
                    "description": _description(result.path),
                    "checkout_description": _description(project),
                }
        return {**out, "packages": packages}


def main() -> int:
    """Read one request from stdin, write its answer to stdout (the process contract)."""
    import sys

    request = json.load(sys.stdin)
    reason = SKIPS.get(str(request.get("case", "")))
    if request.get("area") != "builder":
        reply: dict[str, Any] = {"skip": f"area {request.get('area')!r} is not what a builder answers"}
    elif reason is not None and os.environ.get("PYAPP_CONFORMANCE_STRICT") != "1":
        reply = {"skip": reason}
    else:
        reply = answer(request)
    json.dump(reply, sys.stdout)
    sys.stdout.write("\n")
    return 0
