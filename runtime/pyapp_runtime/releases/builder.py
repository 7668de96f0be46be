"""Building a release directory from a package (spec section 7, the steps before any hook runs).

:func:`build_release` fills a staging directory inside the app's ``releases/``:
the package's files (extracted safely, or copied from a package directory) checked
against its RECORD (and RECORD against its signature, spec section 2.6), its dependencies
installed (:mod:`pyapp_runtime.dependencies.choose`),
``.pyapp/launch.json`` and ``.pyapp/release.json`` written; then renames it to
``releases/<version>-<hash>`` in one step. Bundled wheels are deleted once
installed (``release.json`` lists them): they are recorded in RECORD, so a
verification of the release skips them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from apppackage.environment import HostPaths
from apppackage.errors import IntegrityError, Problem
from apppackage.files import sha256_hex
from apppackage.package import AppPackage
from apppackage.record import RECORD, RECORD_SIG, hash_file, parse_record, verify_files

from .. import __version__
from ..dependencies.choose import PlacedDistribution, place, plan
from ..layout import AppLayout, HostLayout
from ..locking import SharedLock
from .launch import LaunchSpec, build_launch
from .release import Release, write_release_json

__all__ = ["BuiltRelease", "Progress", "build_release", "package_sha256", "verify_release", "verify_tree"]

RUNTIME_DIRS = (".pyapp", "site-packages")

Progress = Callable[[str], None]
"""Told about each step (the command line prints it; the library default ignores it)."""


@dataclass(frozen=True, kw_only=True)
class BuiltRelease:
    path: Path
    launch: LaunchSpec
    dependencies: tuple[PlacedDistribution, ...]


def package_sha256(package: AppPackage) -> str:
    """The package's identity: the sha256 of the ``.pyapp`` file, or of a package directory's RECORD."""
    if package.is_archive:
        return sha256_hex(package.path)
    try:
        return hashlib.sha256(package.read_bytes(RECORD)).hexdigest()
    except FileNotFoundError:
        raise IntegrityError(
            [Problem(file=RECORD, path="", message="is missing: build the package to create it")],
            f"{package.path} cannot be installed:",
        ) from None


def _tree_problems(root: Path, *, installed: bool) -> list[Problem]:
    try:
        raw = (root / RECORD).read_bytes()
    except FileNotFoundError:
        return [Problem(file=RECORD, path="", message="is missing: build the package to create it")]
    record, problems = parse_record(raw.decode("utf-8", "replace"))
    if (root / RECORD_SIG).is_file():
        from apppackage.signing import verify_signature

        try:
            verify_signature(raw, (root / RECORD_SIG).read_bytes())
        except IntegrityError as exc:
            problems += exc.problems
    actual = {}
    if installed:
        removed = set(Release.load(root).removed)
        record = {k: v for k, v in record.items() if k not in removed}
    for dirpath, dirs, files in os.walk(root):
        if installed:
            # What the runtime and the interpreter add to a release is not part of the package.
            if dirpath == str(root):
                dirs[:] = [d for d in dirs if d not in RUNTIME_DIRS]
            dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            path = os.path.join(dirpath, f)
            name = os.path.relpath(path, root).replace(os.sep, "/")
            if name != RECORD:
                actual[name] = hash_file(path)
    return problems + verify_files(record, actual)


def verify_tree(root: Path, label: str) -> None:
    """Check every file under *root* against its RECORD; raise :class:`IntegrityError` naming each."""
    problems = _tree_problems(root, installed=False)
    if problems:
        raise IntegrityError(
            problems, f"{label} does not match its RECORD (was it changed after it was built?):"
        )


def verify_release(release_dir: Path) -> list[Problem]:
    """Every file of an installed release that differs from the package's RECORD.

    The runtime's additions (``.pyapp/``, ``site-packages/``), bytecode caches and the
    bundled wheels removed once installed are left out.
    """
    return _tree_problems(release_dir, installed=True)


def _copy_directory(package: AppPackage, staging: Path) -> None:
    for name in package.files():
        dest = staging / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(package.root / name, dest)


def build_release(
    package: AppPackage,
    *,
    host: HostLayout,
    app: AppLayout,
    staging: Path,
    release: str,
    sha256: str,
    config_format: str,
    allow_network: bool,
    python: str,
    progress: Progress,
    signer: str | None = None,
) -> BuiltRelease:
    """Fill *staging* with the release and rename it to ``releases/<release>``."""
    description = package.description
    final = app.releases / release
    progress(f"extracting {package.path.name}")
    if package.is_archive:
        package.extract(staging).close()
    else:
        _copy_directory(package, staging)
    verify_tree(staging, package.path.name)
    progress("installing dependencies")
    shared_lock = SharedLock(host.server_packages_lock)
    shared_lock.acquire()
    try:
        dependency_plan = plan(
            staging, description, allow_network=allow_network,
            download_dir=staging / ".pyapp" / "downloads", python=python,
        )  # fmt: skip
        site_packages = staging / "site-packages"
        placed = place(
            dependency_plan, server_packages=host.server_packages, site_packages=site_packages, python=python
        )
        shutil.rmtree(staging / ".pyapp" / "downloads", ignore_errors=True)
        removed_wheels = []
        for wheel in sorted((staging / "deps").glob("*.whl")):
            removed_wheels.append(wheel.relative_to(staging).as_posix())
            wheel.unlink()
        local = any(not d.shared for d in placed)
        paths = HostPaths(
            root=final,
            data_path=app.data,
            tmp_path=app.tmp,
            log_path=app.logs,
            config_file=app.app_config_file(config_format),
            site_packages=(final / "site-packages",) if local else (),
            server_packages=tuple(Path(d.path) for d in placed if d.shared),
        )
        launch = build_launch(
            description,
            paths,
            release=release,
            run_path=app.run,
            python=python,
            services_file=app.services_file,
        )
        launch.write(staging)
        write_release_json(
            staging,
            {
                "name": description.name,
                "version": description.version,
                "id": release,
                "package_sha256": sha256,
                "package_file": package.path.name,
                "signer": signer,
                "data_version": description.data_version,
                "installed_at": time.time(),
                "installer": f"pyapp_runtime {__version__}",
                "python": python,
                "shared": sorted({d.key for d in placed if d.shared}),
                "dependencies": [
                    {**d.to_dict(), "path": d.path if d.shared else str(final / "site-packages")}
                    for d in placed
                ],
                "removed_from_package": removed_wheels,
            },
        )
        os.chmod(staging, 0o755)  # noqa: S103 - mkdtemp's 0700; a release is world-readable like any install
        os.rename(staging, final)
    finally:
        shared_lock.release()
    placed = [d if d.shared else replace(d, path=str(final / "site-packages")) for d in placed]
    return BuiltRelease(path=final, launch=launch, dependencies=tuple(placed))
