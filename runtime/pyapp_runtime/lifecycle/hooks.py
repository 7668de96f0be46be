"""Running an installed release's hooks (spec sections 3.13, 6.3 and 7) through :meth:`AppPackage.run_hook`.

Which release runs which hook: ``install``, ``verify`` and ``post-update`` run the
new release's code; ``pre-update``, ``backup`` and ``uninstall`` the current one's.
Each runs with its timeout in a fresh interpreter with the release's environment
(from its ``launch.json``), as the app's user and in its sandbox (:mod:`pyapp_runtime.isolation`);
its output is captured, kept in the result, and appended to ``hooks.log`` (in ``logs/``, or in ``output/``
when the app has a user of its own).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apppackage.errors import HookFailed
from apppackage.package import AppPackage

from ..releases.launch import LaunchSpec

if TYPE_CHECKING:
    from ..isolation.walls import AppWalls

__all__ = ["HookRun", "run_release_hook"]

HOOK_LOG = "hooks.log"


@dataclass(frozen=True, kw_only=True)
class HookRun:
    """A hook that ran and passed: which, whose code, how long, what it printed."""

    hook: str
    version: str
    release: str
    duration: float
    output: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "version": self.version,
            "release": self.release,
            "duration": round(self.duration, 3),
            "output": self.output,
        }


def _log(launch: LaunchSpec, directory: Path, hook: str, status: str, output: str) -> None:
    path = directory / HOOK_LOG
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"--- {stamp} {hook} of {launch.name} {launch.version} ({launch.release}): {status}\n")
            if output:
                f.write(output if output.endswith("\n") else output + "\n")
    except OSError:
        pass  # the log is a convenience; the result carries the output


@contextlib.contextmanager
def _readable(walls: AppWalls, config_file: Path | None) -> Iterator[Path | None]:
    """*config_file* where the app can read it: a staged file (in the app's journal, closed to it) is
    copied to its ``run/`` while the hook runs."""
    if config_file is None or (not walls.identity.isolated and walls.bwrap is None):
        yield config_file
        return
    copy = walls.app.run / f"staged-{config_file.name}"
    shutil.copyfile(config_file, copy)
    walls.seal_run()
    try:
        yield copy
    finally:
        copy.unlink(missing_ok=True)


@contextlib.contextmanager
def _writable(walls: AppWalls, launch: LaunchSpec, context: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """*context* with a ``backup_path`` the hook can write: the host's (under ``backups/``, closed to the
    app) is replaced by a directory in the app's ``tmp/``, whose files are moved to it once the hook ran."""
    target = context.get("backup_path")
    if not target or (not walls.identity.isolated and walls.bwrap is None):
        yield context
        return
    staging = Path(tempfile.mkdtemp(prefix=".backup-", dir=launch.tmp_path))
    try:
        if walls.identity.isolated and os.geteuid() == 0:
            os.chown(staging, walls.identity.uid, walls.identity.gid)
        yield {**context, "backup_path": str(staging)}
        for entry in staging.iterdir():
            shutil.move(entry, Path(target) / entry.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_release_hook(
    hook: str,
    release_dir: Path,
    *,
    config: Mapping[str, Any],
    config_file: Path | None = None,
    **context: Any,
) -> HookRun | None:
    """Run *hook* of the release in *release_dir* if it declares one; ``None`` when it does not.

    *config_file* replaces ``PYAPP_CONFIG_FILE`` (the staged file of a release not
    yet active). Raises :class:`HookFailed` (with the output) when the hook fails.
    """
    launch = LaunchSpec.read(release_dir)
    if launch.hook(hook) is None:
        return None
    from ..isolation.walls import raise_walls  # the walls, the layout and the settings: for a hook to run
    from ..layout import HostLayout
    from ..settings import HostSettings

    for path in (launch.data_path, launch.tmp_path, launch.log_path, *launch.writable.values()):
        Path(path).mkdir(parents=True, exist_ok=True)
    home = release_dir.absolute().parents[3]  # <home>/apps/<name>/releases/<id>
    walls = raise_walls(HostLayout(home), launch.name, HostSettings.load(home), launch=launch)
    with (
        AppPackage(release_dir) as package,
        _readable(walls, config_file) as staged,
        _writable(walls, launch, context) as context,
    ):
        host = launch.host_paths(config_file=staged)
        env = launch.environment(config_file=staged)
        launcher = walls.launcher(launch, readable=(str(staged),) if staged else ())
        try:
            result = package.run_hook(hook, host, config=config, env=env, launcher=launcher, **context)
        except HookFailed as exc:
            _log(launch, walls.app.output, hook, f"failed: {exc.cause}", exc.output)
            raise
    if result is None:
        return None
    _log(launch, walls.app.output, hook, f"passed in {result.duration:.2f} s", result.output)
    return HookRun(
        hook=hook,
        version=launch.version,
        release=launch.release,
        duration=result.duration,
        output=result.output,
    )
