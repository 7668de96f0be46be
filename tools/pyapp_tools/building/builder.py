"""Building a ``.pyapp`` from a project (spec section 2): what ``pyapp-build`` does.

The package holds the resolved ``metadata.yaml`` (the description of the checkout,
with what ``pyproject.toml`` and ``setup.cfg`` add, as its ``to_dict()``), the
configuration spec as is, the code under ``paths``, the static dirs, the files
``data`` names (section 3.17; never what ``.pyappignore`` excludes), the
requirements file if one is declared, ``deps/`` (a wheel for every runtime
dependency and ``deps/requirements.txt``, the lock with hashes) and ``RECORD``;
signed with a key, ``RECORD.sig`` too (spec section 2.6).

Builds are reproducible: the same sources and wheels give the same bytes
(see :mod:`pyapp_tools.building._reprozip` for the archive rules).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apppackage import AppPackage, AppPackageError, InvalidPackage, Problem
from apppackage.description import Description
from apppackage.files import sha256_hex
from apppackage.package import METADATA
from apppackage.record import RECORD, RECORD_SIG, hash_bytes, hash_file, render_record
from apppackage.safeyaml import dump_yaml

from ._ignore import select_data, select_files
from ._reprozip import Entry, build_date, write_zip
from ._resolve import LOCK_FILE, LockedWheel, download_wheels, render_lock
from .leftout import left_out

__all__ = ["DEPS_DIR", "BuildError", "BuildOptions", "BuildResult", "Reporter", "build", "package_contents"]

DEPS_DIR = "deps"


class BuildError(AppPackageError):
    """The project cannot be built as asked (the message says what to change)."""


class Reporter:
    """Receives progress of a build; the default reports nothing."""

    def step(self, message: str) -> None:
        """A step starts (validating, resolving, packing...)."""

    def detail(self, line: str) -> None:
        """A line of a tool's output within a step (pip)."""

    def warning(self, problem: Problem) -> None:
        """Something worth knowing that does not stop the build."""

    def files(self, done: int, total: int) -> None:
        """*done* of *total* files are in the archive."""


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """How to build: where to write, where wheels come from, whether to bundle them at all."""

    out_dir: Path | None = None
    wheelhouse: Path | None = None
    offline: bool = False
    no_deps: bool = False
    sign: Path | None = None
    """The private key file (PEM PKCS#8 ed25519, as ``pyapp keygen`` writes it) to sign RECORD with."""


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    """What a build wrote."""

    path: Path
    name: str
    version: str
    sha256: str
    size: int
    files: int
    dependencies: tuple[LockedWheel, ...] = field(default=())
    signer: str | None = None
    """The fingerprint of the key that signed it (``None``: not signed)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "size": self.size,
            "files": self.files,
            "signer": self.signer,
            "dependencies": [
                {"name": d.name, "version": d.version, "sha256": d.sha256} for d in self.dependencies
            ],
        }


def package_contents(
    project: AppPackage, description: Description, exclude: tuple[Path, ...] = ()
) -> list[str]:
    """The project's files that go into the package, relative and sorted (no generated ones): the code
    ``paths``, the static dirs, the files ``data`` names (spec section 3.17), the configuration spec and
    requirements file; never what ``.pyappignore`` excludes."""
    generated = {METADATA, RECORD, RECORD_SIG}
    found = {
        *select_files(project.root, _declared(description), exclude),
        *select_data(project.root, description.data, exclude),
    }
    return sorted(name for name in found if name not in generated and not name.startswith(DEPS_DIR + "/"))


def _declared(description: Description) -> list[str]:
    """The directories and files the description names, which a package must hold (spec section 2.1)."""
    tops = [*description.paths, *(s.dir for s in description.static), description.config_file]
    if description.dependencies.requirements:
        tops.append(description.dependencies.requirements)
    return tops


def _linked(root: Path, description: Description) -> list[str]:
    """The declared directories and files that are symbolic links: a package cannot hold them."""
    tops = {top.strip("/") for top in _declared(description)} - {"", "."}
    return sorted(top for top in tops if (root / top).is_symlink())


def _has_dependencies(description: Description) -> bool:
    return bool(description.dependencies.packages or description.dependencies.requirements)


def build(
    project_dir: str | os.PathLike[str],
    options: BuildOptions | None = None,
    reporter: Reporter | None = None,
) -> BuildResult:
    """Validate the project at *project_dir* and write ``NAME-VERSION.pyapp``.

    Raises :class:`apppackage.InvalidPackage` listing every problem when the project
    is not a valid package, :class:`BuildError` or a resolving error otherwise.
    """
    options = options or BuildOptions()
    reporter = reporter or Reporter()
    root = Path(project_dir)
    if not root.is_dir():
        raise BuildError(f"{root}: not a directory (pyapp-build builds a project directory)")
    key = None
    if options.sign is not None:  # a key that cannot sign fails the build before any work
        from apppackage.signing import load_signing_key

        key = load_signing_key(options.sign)
    reporter.step(f"Validating {root}")
    with AppPackage(root) as project:
        problems = project.validate()
        if problems:
            raise InvalidPackage(problems, f"{root} is not a valid package, nothing was built:")
        for warning in project.warnings:
            reporter.warning(warning)
        description = project.description
        release = f"{description.name} {description.version}"
        linked = _linked(root, description)
        if linked:
            raise BuildError(
                f"{root}: {', '.join(linked)} is a symbolic link, which a package never holds (spec section "
                "2.1), and the description names it: put the directory or file itself in its place"
            )
        out_dir = options.out_dir or root / "dist"
        names = package_contents(project, description, exclude=(out_dir,))
        for warning in left_out(root, names, exclude=(out_dir,), data=description.data):
            reporter.warning(warning)
    if (
        options.offline
        and options.wheelhouse is None
        and _has_dependencies(description)
        and not options.no_deps
    ):
        raise BuildError(
            f"{release} has dependencies and --offline forbids the package index: "
            "pass --wheelhouse DIR (a folder of wheels), or --no-deps to leave them to the host"
        )
    if options.wheelhouse is not None and not options.wheelhouse.is_dir():
        raise BuildError(f"--wheelhouse {options.wheelhouse}: no such directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{description.name}-{description.version}.pyapp"

    with tempfile.TemporaryDirectory(prefix="pyapp-build-") as tmp:
        wheels: list[LockedWheel] = []
        if _has_dependencies(description) and not options.no_deps:
            wheels = _resolve(root, description, Path(tmp), options, reporter)
        entries = _entries(root, names, description, wheels, release)
        rows = [(e.name, *_hash_entry(e)) for e in entries]
        record = render_record(rows).encode("utf-8")
        entries.append(Entry(name=RECORD, data=record))
        if key is not None:
            from apppackage.signing import sign_record

            reporter.step(f"Signing RECORD with {key.fingerprint}")
            entries.append(Entry(name=RECORD_SIG, data=sign_record(record, key)))
        reporter.step(f"Packing {len(entries)} files into {target.name}")
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=out_dir)
        os.close(fd)
        try:
            write_zip(Path(partial), entries, date=build_date(), on_entry=reporter.files)
            os.chmod(partial, 0o644)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return BuildResult(
        path=target,
        name=description.name,
        version=description.version,
        sha256=sha256_hex(target),
        size=target.stat().st_size,
        files=len(entries),
        dependencies=tuple(wheels),
        signer=key.fingerprint if key is not None else None,
    )


def _resolve(
    root: Path, description: Description, tmp: Path, options: BuildOptions, reporter: Reporter
) -> list[LockedWheel]:
    deps = description.dependencies
    what = [*deps.packages, *([f"-r {deps.requirements}"] if deps.requirements else [])]
    source = f"the wheelhouse {options.wheelhouse}" if options.wheelhouse else "the package index"
    reporter.step(f"Resolving {', '.join(what)} from {source}")
    dest = tmp / "wheels"
    dest.mkdir()
    wheels = download_wheels(
        deps.packages,
        root / deps.requirements if deps.requirements else None,
        dest,
        wheelhouse=options.wheelhouse,
        on_line=reporter.detail,
    )
    names = ", ".join(f"{w.name}=={w.version}" for w in wheels) or "none"
    reporter.step(f"Bundling {len(wheels)} wheel(s): {names}")
    return wheels


def _entries(
    root: Path, names: list[str], description: Description, wheels: list[LockedWheel], release: str
) -> list[Entry]:
    entries = [Entry(name=METADATA, data=dump_yaml(description.to_dict()).encode("utf-8"))]
    for name in names:
        path = root / name
        entries.append(Entry(name=name, source=path, executable=bool(path.stat().st_mode & 0o111)))
    if wheels:
        entries += [Entry(name=f"{DEPS_DIR}/{w.path.name}", source=w.path) for w in wheels]
        entries.append(Entry(name=f"{DEPS_DIR}/{LOCK_FILE}", data=render_lock(wheels, release).encode()))
    return sorted(entries, key=lambda e: e.name)


def _hash_entry(entry: Entry) -> tuple[str, int]:
    if entry.data is not None:
        return hash_bytes(entry.data), len(entry.data)
    assert entry.source is not None
    return hash_file(entry.source)
