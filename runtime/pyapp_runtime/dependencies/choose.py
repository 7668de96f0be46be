"""Choosing and placing an app's dependencies (spec section 3.5), offline from its bundled wheels.

:func:`plan` decides which wheel of ``deps/`` provides each requirement: the lock
(``deps/requirements.txt``, or the description's ``dependencies.requirements``)
when there is one, else every bundled distribution, checked against
``dependencies.packages`` and each wheel's own ``Requires-Dist``. What no bundled
wheel provides is downloaded with pip only when the network is allowed.

:func:`place` installs the plan: shared distributions into
``server-packages/<key>/`` (one copy per distribution and version, built in a
staging dir and renamed into place, reused by every later app and release), the
others into the release's own ``site-packages/``.

A lock line that is a plain ``NAME==VERSION`` pin is read here; packaging's requirement and marker parsers,
email's, ``subprocess`` and ``tempfile`` are imported inside the functions that need them (any other lock
line, no lock, a download, a shared install), so that installing from a lock of pins does not pay for them.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from packaging.version import Version

from apppackage.description import Dependencies, Description
from apppackage.files import sha256_hex
from apppackage.pypa import CanonicalName, canonical_name

from ..errors import DependenciesMissing, HostError, WheelError
from .wheels import Scheme, WheelFile, install_wheel, supported_tags

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = ["LOCK_FILE", "DependencyPlan", "Pick", "PlacedDistribution", "place", "plan"]

LOCK_FILE = "deps/requirements.txt"
DEPS_DIR = "deps"


@dataclass(frozen=True, kw_only=True)
class Pick:
    """The wheel chosen for one distribution, and whether it goes to server-packages."""

    wheel: WheelFile
    shared: bool


@dataclass(frozen=True, kw_only=True)
class DependencyPlan:
    """Every wheel to install, in a stable order."""

    picks: tuple[Pick, ...]


@dataclass(frozen=True, kw_only=True)
class PlacedDistribution:
    """One installed distribution: where it is and whether this install had to unpack it."""

    name: str
    version: str
    shared: bool
    path: str
    key: str
    reused: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "shared": self.shared,
            "path": self.path,
            "reused": self.reused,
        }


# A lock line (without its options) that is a plain pin, as our builder writes them: a PEP 508 name, ``==``
# and a PEP 440 version in its usual spelling (no ``v``, ``.*`` or spaces). Packaging reads any other line.
_PIN = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
    r"==(?P<version>(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?"
    r"(?:\+[a-z0-9]+(?:\.[a-z0-9]+)*)?)",
    re.ASCII,
)


@dataclass(frozen=True, kw_only=True)
class _Pin:
    """A lock line ``NAME==VERSION``, read as packaging's ``Requirement`` reads it."""

    name: str
    version: str  # as written, as str(Requirement) keeps it
    pinned: Version
    marker: ClassVar[None] = None

    def __str__(self) -> str:
        """``str(Requirement(line))``: how a requirement that no wheel provides is named."""
        return f"{self.name}=={self.version}"

    def accepts(self, version: Version) -> bool:
        """``SpecifierSet("==VERSION").contains(version, prereleases=True)``: equality, unless local."""
        if version.local is None:
            return version == self.pinned
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(f"=={self.version}").contains(version, prereleases=True)


@dataclass(frozen=True, kw_only=True)
class _LockLine:
    requirement: Requirement | _Pin
    hashes: frozenset[str]
    line: int

    def accepts(self, version: Version) -> bool:
        """Whether *version* satisfies the line's requirement, pre-releases included."""
        req = self.requirement
        if isinstance(req, _Pin):
            return req.accepts(version)
        return req.specifier.contains(version, prereleases=True)


def _parse_lock(text: str, file: str) -> list[_LockLine]:
    """Requirement lines of a pip requirements file with ``--hash`` options; other options are ignored."""
    joined = re.sub(r"\\\r?\n", " ", text)
    out = []
    for lineno, raw in enumerate(joined.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        words = line.split()
        hashes = frozenset(w.split("=", 1)[1] for w in words if w.startswith("--hash="))
        spec = " ".join(w for w in words if not w.startswith("--"))
        out.append(_LockLine(requirement=_lock_requirement(spec, file, lineno), hashes=hashes, line=lineno))
    return out


def _lock_requirement(spec: str, file: str, lineno: int) -> Requirement | _Pin:
    """What one lock line requires: a plain pin (:data:`_PIN`) read here, any other line by packaging."""
    if match := _PIN.fullmatch(spec):
        return _Pin(name=match["name"], version=match["version"], pinned=Version(match["version"]))
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(spec)
    except InvalidRequirement as exc:
        raise HostError(f"{file}: line {lineno}: {spec!r} is not a requirement: {exc}") from None


def _marker_ok(req: Requirement | _Pin) -> bool:
    if req.marker is None:
        return True
    from packaging.markers import default_environment

    env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    env["extra"] = ""
    return bool(req.marker.evaluate(env))


def _bundled(root: Path, extra: Iterable[Path] = ()) -> dict[CanonicalName, list[WheelFile]]:
    """Installable wheels by distribution, best first (newest version, then best tag)."""
    found: dict[CanonicalName, list[WheelFile]] = {}
    files = sorted((root / DEPS_DIR).glob("*.whl")) + list(extra)
    for path in files:
        wheel = WheelFile.from_path(path)
        if wheel.installable:
            found.setdefault(wheel.name, []).append(wheel)
    for wheels in found.values():
        # Ranks (sys_tags()) only order the wheels of one version: without two, the order is by version alone.
        if len({w.version for w in wheels}) < len(wheels):
            wheels.sort(key=lambda w: w.rank or 0)
        wheels.sort(key=lambda w: w.version, reverse=True)  # stable: the best tag first within a version
    return found


def _requires_dist(wheel: WheelFile) -> list[Requirement]:
    from email.parser import HeaderParser

    from packaging.requirements import InvalidRequirement, Requirement

    with zipfile.ZipFile(wheel.path) as zf:
        meta = next(
            (n for n in zf.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1), None
        )
        if meta is None:
            raise WheelError(f"{wheel.path.name}: no .dist-info/METADATA")
        headers = HeaderParser().parsestr(zf.read(meta).decode("utf-8", "replace"))
    out = []
    for text in headers.get_all("Requires-Dist") or []:
        if "extra" in text.partition(";")[2]:
            continue  # only for an extra: never needed by a plain requirement (extras are not installed)
        try:
            out.append(Requirement(text))
        except InvalidRequirement:
            continue
    return out


def _lock_text(root: Path, deps: Dependencies) -> tuple[str, str] | None:
    for file in (LOCK_FILE, deps.requirements):
        if file and (root / file).is_file():
            return file, (root / file).read_text("utf-8")
    return None


def _select(
    root: Path, description: Description, downloaded: Iterable[Path]
) -> tuple[dict[CanonicalName, WheelFile], list[str]]:
    """The chosen wheel per distribution, and the requirements nothing provides."""
    available = _bundled(root, downloaded)
    deps = description.dependencies
    chosen: dict[CanonicalName, WheelFile] = {}
    missing: list[str] = []
    lock = _lock_text(root, deps)
    if lock is not None:
        file, text = lock
        for item in _parse_lock(text, file):
            req = item.requirement
            if not _marker_ok(req):
                continue
            name = canonical_name(req.name)
            match = [w for w in available.get(name, []) if item.accepts(w.version)]
            if not match:
                missing.append(str(req))
                continue
            wheel = match[0]
            if item.hashes and wheel.path.parent == root / DEPS_DIR:
                digest = sha256_hex(wheel.path)
                if f"sha256:{digest}" not in item.hashes:
                    raise HostError(
                        f"{file}: line {item.line}: {wheel.path.name} matches no --hash given for {req.name}"
                    )
            chosen[name] = wheel
        return chosen, missing
    # No lock: the bundle is the lock. Install the best wheel of every bundled distribution,
    # then check that they satisfy the description and each other.
    from packaging.requirements import Requirement

    for name, wheels in available.items():
        chosen[name] = wheels[0]
    wanted = [Requirement(text) for text in deps.packages]
    for wheel in chosen.values():
        wanted.extend(_requires_dist(wheel))
    for req in wanted:
        if not _marker_ok(req):
            continue
        have = chosen.get(canonical_name(req.name))
        if have is None or not req.specifier.contains(have.version, prereleases=True):
            text = str(req).split(";")[0].strip()
            if text not in missing:
                missing.append(text)
    return chosen, missing


def plan(
    root: Path,
    description: Description,
    *,
    allow_network: bool = False,
    download_dir: Path | None = None,
    python: str | None = None,
) -> DependencyPlan:
    """Decide which wheels provide the app's dependencies; raise :class:`DependenciesMissing`.

    With *allow_network*, what the bundle lacks is downloaded with
    ``python -m pip download`` into *download_dir* (pip's own configuration, such as
    ``PIP_INDEX_URL`` or ``PIP_FIND_LINKS``, applies).
    """
    chosen, missing = _select(root, description, ())
    if missing and allow_network:
        if download_dir is None:
            raise HostError("downloading dependencies needs a download directory")
        pins = [f"{w.name}=={w.version}" for w in chosen.values()]
        locked = _lock_text(root, description.dependencies) is not None
        _download(missing, download_dir, python, pins=pins, no_deps=locked)
        chosen, missing = _select(root, description, sorted(download_dir.glob("*.whl")))
    if missing:
        tags = next(iter(supported_tags()))
        raise DependenciesMissing(
            description.name,
            missing,
            f"rebuild the package with wheels for this host (its best tag is {tags}), "
            "or install with --allow-network to download them with pip",
        )
    deps = description.dependencies
    picks = tuple(Pick(wheel=chosen[n], shared=deps.is_shared(n)) for n in sorted(chosen))
    return DependencyPlan(picks=picks)


def _download(
    requirements: list[str], target: Path, python: str | None, *, pins: list[str], no_deps: bool
) -> None:
    """Download wheels with pip, keeping the bundled distributions at their bundled versions."""
    import subprocess

    target.mkdir(parents=True, exist_ok=True)
    constraints = target / "constraints.txt"
    constraints.write_text("".join(f"{p}\n" for p in pins), "utf-8")
    argv = [python or sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
            "--dest", str(target), "--constraint", str(constraints)]  # fmt: skip
    if no_deps:
        argv.append("--no-deps")
    argv += requirements
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise HostError(
            f"pip could not download {', '.join(requirements)} (exit {proc.returncode}):\n"
            + (proc.stderr or proc.stdout).strip()
        )


def place(
    dependency_plan: DependencyPlan, *, server_packages: Path, site_packages: Path, python: str | None = None
) -> list[PlacedDistribution]:
    """Install every pick: shared ones into *server_packages* (once), the others into *site_packages*.

    The caller holds the server-packages lock shared (see :class:`~pyapp_runtime.locking.SharedLock`).
    """
    placed = []
    for pick in dependency_plan.picks:
        wheel = pick.wheel
        if not pick.shared:
            install_wheel(wheel, Scheme(site=site_packages), python=python)
            placed.append(
                PlacedDistribution(
                    name=str(wheel.name),
                    version=str(wheel.version),
                    shared=False,
                    path=str(site_packages),
                    key="",
                    reused=False,
                )
            )
            continue
        target = server_packages / wheel.key
        reused = target.is_dir()
        if not reused:
            reused = not _install_shared(wheel, target, python)
        placed.append(
            PlacedDistribution(
                name=str(wheel.name),
                version=str(wheel.version),
                shared=True,
                path=str(target),
                key=wheel.key,
                reused=reused,
            )
        )
    return placed


def _install_shared(wheel: WheelFile, target: Path, python: str | None) -> bool:
    """Unpack into a staging dir and rename it into place; ``False`` when another install won the race."""
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=target.parent))
    try:
        install_wheel(wheel, Scheme(site=staging), python=python)
        os.chmod(staging, 0o755)  # noqa: S103 - mkdtemp's 0700; shared code is world-readable
        try:
            os.rename(staging, target)
        except OSError:
            if target.is_dir():
                return False
            raise
        return True
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
