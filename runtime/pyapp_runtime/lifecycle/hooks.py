"""Running an installed release's hooks (spec sections 3.13, 6.3 and 7) through :meth:`AppPackage.run_hook`.

Which release runs which hook: ``install``, ``verify`` and ``post-update`` run the
new release's code; ``pre-update``, ``backup`` and ``uninstall`` the current one's.
Each runs with its timeout in a fresh interpreter with the release's environment
(from its ``launch.json``); its output is captured, kept in the result, and
appended to ``logs/hooks.log``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apppackage.errors import HookFailed
from apppackage.package import AppPackage

from ..releases.launch import LaunchSpec

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


def _log(launch: LaunchSpec, hook: str, status: str, output: str) -> None:
    path = Path(launch.log_path) / HOOK_LOG
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"--- {stamp} {hook} of {launch.name} {launch.version} ({launch.release}): {status}\n")
            if output:
                f.write(output if output.endswith("\n") else output + "\n")
    except OSError:
        pass  # the log is a convenience; the result carries the output


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
    host = launch.host_paths(config_file=config_file)
    env = launch.environment(config_file=config_file)
    for path in (host.data_path, host.tmp_path, host.log_path, *map(Path, launch.writable.values())):
        path.mkdir(parents=True, exist_ok=True)
    with AppPackage(release_dir) as package:
        try:
            result = package.run_hook(hook, host, config=config, env=env, **context)
        except HookFailed as exc:
            _log(launch, hook, f"failed: {exc.cause}", exc.output)
            raise
    if result is None:
        return None
    _log(launch, hook, f"passed in {result.duration:.2f} s", result.output)
    return HookRun(
        hook=hook,
        version=launch.version,
        release=launch.release,
        duration=result.duration,
        output=result.output,
    )
