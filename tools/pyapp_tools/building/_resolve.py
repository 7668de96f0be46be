"""Resolving a project's dependencies to pinned wheels with pip (spec section 3.5).

``pip download --only-binary=:all:`` runs in a subprocess of the running
interpreter, so the wheels fit the Python that builds the package. With a
wheelhouse, pip reads only that folder (``--isolated --no-index --find-links``):
no index, no pip configuration, no network.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from apppackage import AppPackageError
from apppackage.files import sha256_hex

__all__ = ["LOCK_FILE", "LockedWheel", "ResolveError", "download_wheels", "render_lock", "wheel_info"]

LOCK_FILE = "requirements.txt"


class ResolveError(AppPackageError):
    """pip could not resolve or download the dependencies."""


@dataclass(frozen=True, kw_only=True)
class LockedWheel:
    """One pinned dependency: its wheel file, canonical name, exact version and sha256 (hex)."""

    path: Path
    name: str
    version: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "wheel": self.path.name}


def wheel_info(path: Path) -> LockedWheel:
    """Name, version and hash of the wheel at *path* (its file name must be a valid wheel name)."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        name, version, _, _ = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise ResolveError(f"{path.name}: not a wheel file name ({exc})") from None
    return LockedWheel(path=path, name=str(name), version=str(version), sha256=sha256_hex(path))


def download_wheels(
    packages: Sequence[str],
    requirements_file: Path | None,
    dest: Path,
    *,
    wheelhouse: Path | None = None,
    on_line: Callable[[str], None] | None = None,
) -> list[LockedWheel]:
    """Download a wheel for every dependency (transitively) into *dest*; return them sorted by name.

    *on_line* receives pip's output lines as they come (progress). Raises
    :class:`ResolveError` with pip's output when it fails.
    """
    argv = [sys.executable, "-m", "pip"]
    if wheelhouse is not None:
        argv.append("--isolated")
    argv += ["download", "--only-binary=:all:", "--disable-pip-version-check", "--progress-bar", "off",
             "--no-input", "-d", str(dest)]  # fmt: skip
    if wheelhouse is not None:
        argv += ["--no-index", "--find-links", str(wheelhouse)]
    argv += list(packages)
    if requirements_file is not None:
        argv += ["-r", str(requirements_file)]
    output: list[str] = []
    try:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
        )
    except OSError as exc:
        raise ResolveError(
            f"cannot run pip ({exc}): install pip in the environment running pyapp-build"
        ) from None
    assert proc.stdout is not None
    with proc:
        for line in proc.stdout:
            line = line.rstrip()
            output.append(line)
            if on_line is not None and line:
                on_line(line)
    if proc.returncode != 0:
        tail = "\n".join(output[-30:])
        where = f"the wheelhouse {wheelhouse}" if wheelhouse else "the package index"
        raise ResolveError(
            f"pip could not get wheels for the dependencies from {where} (exit status {proc.returncode}). "
            "Every dependency must be available as a wheel for this Python; add the missing wheels "
            f"or build with --no-deps.\n--- pip output ---\n{tail}"
        )
    wheels = [wheel_info(p) for p in dest.iterdir() if p.suffix == ".whl"]
    return sorted(wheels, key=lambda w: (w.name, w.version))


def render_lock(wheels: Sequence[LockedWheel], release: str) -> str:
    """``deps/requirements.txt``: one ``name==version --hash=sha256:...`` line per bundled wheel."""
    lines = [
        f"# The dependencies of {release}, pinned to the wheels bundled in this directory.",
        "# Install with: pip install --no-index --find-links deps --require-hashes -r deps/requirements.txt",
    ]
    lines += [f"{w.name}=={w.version} --hash=sha256:{w.sha256}" for w in wheels]
    return "\n".join(lines) + "\n"
