"""The environment a checkout runs with (``pyapp run DIR``, ``pyapp command DIR``): what it declares, only.

A checkout runs as the package built from it will: its ``paths``, then a site-packages holding
exactly the distributions its description declares (``dependencies.packages`` and
``dependencies.requirements``, spec section 3.5, with what ``pyproject.toml`` adds, section 2.5)
and what they need, then the server packages the tools provide (waitress, or uvicorn for an ASGI app, as
for a ``.pyapp``).
Nothing of the environment pyapp runs in is on its ``sys.path``: an import of a distribution the
app did not declare fails as it would once installed, and names that distribution
(:func:`apppackage._bootstrap.undeclared`, told where to look by :attr:`HostPaths.surrounding`).

Environments are cached under ``$XDG_CACHE_HOME/pyapp/envs/`` (``~/.cache`` when unset):

``<sha256>/``             one environment, named by the hash of its resolved set (each wheel's name,
                          version and sha256, and the interpreter): ``site-packages/``,
                          ``requirements.txt`` (the set, pinned with hashes), ``.complete``
``.declared/<sha256>``    the environment a declaration resolved to, named by the hash of the
                          declaration (its requirements, its requirements file, the interpreter)
``.server/``              the server packages (see :func:`server_packages`): ``server-packages/``,
                          ``server-packages-asgi/``

A declaration met before is ready at once: no pip, no network. A new one is resolved once, to
wheels only (``pip download --only-binary=:all:``, as ``pyapp-build`` does: a checkout needs the
wheels its build will bundle), first offline from the local wheel folders (:func:`wheel_folders`),
then, when they lack one, from the package index -- unless ``PIP_NO_INDEX`` forbids it. The wheels
are installed with ``installer``, as a ``.pyapp``'s ``deps/`` are, and kept in pyapp's wheel cache
(``$XDG_CACHE_HOME/pyapp/wheels/``), where the next resolution finds them offline. Environments
not used recently (all but the :data:`KEEP` most recent) that no run holds are removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from apppackage import AppPackageError
from apppackage.description import Description
from apppackage.files import write_atomic

from ..building._resolve import LockedWheel, ResolveError, wheel_info
from ..building.builder import DEPS_DIR
from . import runcache

__all__ = [
    "KEEP",
    "CheckoutEnv",
    "Declaration",
    "cache_root",
    "declaration",
    "prepared",
    "server_packages",
    "wheel_cache",
    "wheel_folders",
]

KEEP = 10
"""How many recently used checkout environments the cache keeps."""
DECLARED = ".declared"
LOCK_FILE = "requirements.txt"
_WHEEL_IN_DEPS = re.compile(rf"{DEPS_DIR}/[^/]+\.whl")


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/pyapp/envs`` (default ``~/.cache/pyapp/envs``)."""
    return runcache.cache_root().parent / "envs"


def wheel_cache() -> Path:
    """``$XDG_CACHE_HOME/pyapp/wheels``: every wheel a checkout's resolution fetched."""
    return runcache.cache_root().parent / "wheels"


def server_packages(base: Path | None = None, *, asgi: bool = False) -> Path:
    """The server-packages directory of a checkout run, as for a ``.pyapp`` run
    (:func:`pyapp_tools.package.runcache.server_packages`)."""
    return runcache.server_packages((base or cache_root()) / ".server", asgi=asgi)


def _interpreter() -> str:
    from packaging.tags import sys_tags

    return f"{sys.implementation.cache_tag} {next(iter(sys_tags()))}"


@dataclass(frozen=True, kw_only=True)
class Declaration:
    """What a checkout declares it needs: requirements, and a requirements file (its path and text)."""

    app: str
    packages: tuple[str, ...]
    requirements_file: Path | None = None
    requirements_text: str | None = None

    @property
    def what(self) -> str:
        """The requirements as a person reads them."""
        given = [*self.packages, *([f"-r {self.requirements_file.name}"] if self.requirements_file else [])]
        return ", ".join(given)

    def key(self) -> str:
        """The hash of the declaration and the interpreter: the same for the same needs on the same Python."""
        data = {"python": _interpreter(), "packages": sorted(self.packages), "file": self.requirements_text}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def declaration(root: Path, description: Description) -> Declaration | None:
    """The dependencies the checkout at *root* declares; ``None`` when it declares none."""
    deps = description.dependencies
    if not deps.packages and not deps.requirements:
        return None
    file = root / deps.requirements if deps.requirements else None
    text = None
    if file is not None:
        try:
            text = file.read_text("utf-8")
        except OSError as exc:
            raise AppPackageError(
                f"metadata.yaml:/dependencies/requirements: cannot read {deps.requirements} ({exc.strerror})"
            ) from None
    return Declaration(
        app=description.name, packages=tuple(deps.packages), requirements_file=file, requirements_text=text
    )


@dataclass(frozen=True, kw_only=True)
class CheckoutEnv:
    """A checkout's environment: its cache entry (``None`` when it declares nothing) and whether this
    run had to resolve it (pip ran)."""

    entry: Path | None = None
    resolved: bool = False

    @property
    def site_packages(self) -> tuple[Path, ...]:
        return (self.entry / "site-packages",) if self.entry is not None else ()


def wheel_folders(root: Path, app: str, find_links: Sequence[Path], scratch: Path) -> list[str]:
    """The local wheel folders a resolution looks at first, those that exist, in this order.

    *find_links* (``--find-links``), ``PIP_FIND_LINKS``, the checkout's ``deps/``, the ``deps/``
    of the packages of *app* built into its ``dist/`` (extracted into *scratch*), pyapp's wheel
    cache and the ``deps/`` of the packages in the run cache.
    """
    out = [str(p) for p in find_links]
    out += os.environ.get("PIP_FIND_LINKS", "").split()
    if any((root / DEPS_DIR).glob("*.whl")):
        out.append(str(root / DEPS_DIR))
    built = scratch / "built"
    for package in sorted((root / "dist").glob(f"{app}-*.pyapp")):
        try:
            with zipfile.ZipFile(package) as archive:
                for name in archive.namelist():
                    if _WHEEL_IN_DEPS.fullmatch(name):
                        built.mkdir(parents=True, exist_ok=True)
                        (built / name.rpartition("/")[2]).write_bytes(archive.read(name))
        except (OSError, zipfile.BadZipFile):
            continue  # not a package after all: nothing to take from it
    if built.is_dir():
        out.append(str(built))
    if wheel_cache().is_dir():
        out.append(str(wheel_cache()))
    out += [str(p) for p in sorted(runcache.cache_root().glob(f"*/app/{DEPS_DIR}")) if any(p.glob("*.whl"))]
    return list(dict.fromkeys(out))


def _pip_download(declared: Declaration, dest: Path, links: Sequence[str], *, offline: bool) -> list[str]:
    """``pip download`` the wheels of *declared* into *dest*; pip's output lines when it fails, else []."""
    argv = [sys.executable, "-m", "pip", *(["--isolated"] if offline else [])]
    argv += ["download", "--only-binary=:all:", "--disable-pip-version-check", "--progress-bar", "off",
             "--no-input", "-d", str(dest)]  # fmt: skip
    if offline:
        argv.append("--no-index")
    for link in links:
        argv += ["--find-links", link]
    argv += list(declared.packages)
    if declared.requirements_file is not None:
        argv += ["-r", str(declared.requirements_file)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        return [f"cannot run pip: {exc}"]
    return [] if proc.returncode == 0 else (proc.stdout + proc.stderr).splitlines() or ["pip failed"]


def _index_allowed() -> bool:
    return os.environ.get("PIP_NO_INDEX", "").strip().lower() not in ("1", "true", "yes", "on")


def _resolve(
    declared: Declaration, root: Path, staging: Path, find_links: Sequence[Path], step: Callable[[str], None]
) -> list[LockedWheel]:
    dest = staging / "wheels"
    dest.mkdir()
    links = wheel_folders(root, declared.app, find_links, staging)
    failed: list[str] = []
    if links:
        step(f"Resolving {declared.what} offline, from {len(links)} local wheel folder(s)")
        failed = _pip_download(declared, dest, links, offline=True)
    if (failed or not links) and _index_allowed():
        step(f"Resolving {declared.what} with pip from the package index (this needs the network once)")
        failed = _pip_download(declared, dest, links, offline=False)
    if failed or (not links and not _index_allowed()):
        where = "; ".join(links) or "none"
        index = "the package index" if _index_allowed() else "no package index (PIP_NO_INDEX)"
        tail = "\n".join(failed[-20:])
        raise ResolveError(
            f"cannot get wheels for the dependencies {declared.app} declares ({declared.what}) from the "
            f"local wheel folders (looked in: {where}) or {index}. A checkout runs with its declared "
            "dependencies only, as wheels, as its package will: give a folder of wheels with "
            "--find-links DIR (or PIP_FIND_LINKS), or let pip reach the package index once (the "
            "environment is then cached)." + (f"\n--- pip output ---\n{tail}" if tail else "")
        )
    return sorted((wheel_info(p) for p in dest.glob("*.whl")), key=lambda w: (w.name, w.version))


def _keep_wheels(wheels: Sequence[LockedWheel]) -> None:
    """Copy *wheels* into the wheel cache (each once, renamed into place whole)."""
    target = wheel_cache()
    target.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        if (target / wheel.path.name).exists():
            continue
        fd, temp = tempfile.mkstemp(prefix=f".{wheel.path.name}.", dir=target)
        os.close(fd)
        try:
            shutil.copyfile(wheel.path, temp)
            os.chmod(temp, 0o644)
            os.replace(temp, target / wheel.path.name)
        except OSError:
            Path(temp).unlink(missing_ok=True)


def _lock_text(declared: Declaration, wheels: Sequence[LockedWheel]) -> str:
    lines = [f"# The environment of {declared.app} for: {declared.what or 'nothing'} ({_interpreter()})"]
    lines += [f"{w.name}=={w.version} --hash=sha256:{w.sha256}" for w in wheels]
    return "\n".join(lines) + "\n"


def _build(
    declared: Declaration, root: Path, base: Path, find_links: Sequence[Path], step: Callable[[str], None]
) -> Path:
    """Resolve and install *declared* into a new entry of *base*; return the entry."""
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=base) as tmp:
        staging = Path(tmp)
        wheels = _resolve(declared, root, staging, find_links, step)
        env = staging / "env"
        runcache.install_wheels([w.path for w in wheels], env / "site-packages")
        lock = _lock_text(declared, wheels)
        (env / LOCK_FILE).write_text(lock, encoding="utf-8")
        digest = hashlib.sha256("\n".join([_interpreter(), *lock.splitlines()[1:]]).encode()).hexdigest()
        entry = base / digest
        if not (entry / ".complete").exists():
            shutil.rmtree(entry, ignore_errors=True)
            (env / ".complete").write_text(digest + "\n")
            try:
                os.rename(env, entry)
            except OSError:
                if not (entry / ".complete").exists():
                    raise
                # Another declaration resolved to the same set at the same time: its entry serves.
        _keep_wheels(wheels)
        names = ", ".join(f"{w.name}=={w.version}" for w in wheels) or "nothing"
        step(f"Installed {names} into {entry}")
    return entry


def _known(base: Path, key: str) -> Path | None:
    try:
        digest = (base / DECLARED / key).read_text("utf-8").strip()
    except OSError:
        return None
    entry = base / digest
    return entry if digest and (entry / ".complete").exists() else None


@contextmanager
def prepared(
    root: Path,
    description: Description,
    *,
    find_links: Sequence[Path] = (),
    on_step: Callable[[str], None] | None = None,
    base: Path | None = None,
) -> Iterator[CheckoutEnv]:
    """The environment of the checkout at *root*, built once and held for the ``with`` block.

    *on_step* gets a line for each step of a resolution (none when the environment is known).
    Raises :class:`~pyapp_tools.building._resolve.ResolveError` when the declared dependencies cannot
    be had as wheels.
    """
    declared = declaration(root, description)
    if declared is None:
        yield CheckoutEnv()
        return
    step = on_step or (lambda line: None)
    base = base or cache_root()
    (base / DECLARED).mkdir(parents=True, exist_ok=True)
    key = declared.key()
    resolved = False
    entry = _known(base, key)
    if entry is None:
        with open(base / DECLARED / f"{key}.lock", "a") as lock:
            # One resolution of a declaration at a time; a run that waited finds it done.
            fcntl.flock(lock, fcntl.LOCK_EX)
            entry = _known(base, key)
            if entry is None:
                entry = _build(declared, root, base, find_links, step)
                write_atomic(base / DECLARED / key, entry.name + "\n", mode=0o644)
                resolved = True
    with open(entry / ".lock", "a+b") as held:
        # Shared while the run goes on, so that cleaning leaves the entry alone.
        fcntl.flock(held, fcntl.LOCK_SH)
        os.utime(entry / ".complete")
        runcache.clean(base, keep=KEEP)
        yield CheckoutEnv(entry=entry, resolved=resolved)
