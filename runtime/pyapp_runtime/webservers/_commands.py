"""The command lines of a managed web server: its configuration test and its start in the foreground."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .detect import Installation
from .errors import ConfigTestFailed

__all__ = ["config_test", "start_command"]


def _early_log(installation: Installation, error_log: Path) -> list[str]:
    # nginx opens its compiled-in error log before reading the configuration; -e (1.19.5+)
    # moves it, so an unprivileged run does not complain about /var/log/nginx.
    return ["-e", str(error_log)] if installation.version >= (1, 19, 5) else []


def _test_command(installation: Installation, directory: Path, error_log: Path, config: Path) -> list[str]:
    binary = installation.binary
    if installation.kind == "nginx":
        return [binary, "-t", "-p", str(directory), *_early_log(installation, error_log), "-c", str(config)]
    if installation.kind == "apache":
        return [binary, "-t", "-f", str(config)]
    return [binary, "-tt", "-f", str(config)]


def start_command(installation: Installation, directory: Path, error_log: Path, config: Path) -> list[str]:
    """How the server runs on *config* in the foreground (*directory*: its own, the nginx prefix)."""
    binary = installation.binary
    if installation.kind == "nginx":
        return [binary, "-p", str(directory), *_early_log(installation, error_log), "-c", str(config)]
    if installation.kind == "apache":
        return [binary, "-f", str(config), "-DFOREGROUND"]
    return [binary, "-D", "-f", str(config)]


def config_test(installation: Installation, directory: Path, error_log: Path, config: Path) -> str:
    """Run the server's own configuration test on *config*; its output (warnings).

    Raises :class:`ConfigTestFailed` with the server's message when the test fails
    (for lighttpd also on an unknown configuration key, which it only warns about).
    """
    kind = installation.kind
    try:
        done = subprocess.run(
            _test_command(installation, directory, error_log, config),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigTestFailed(kind, str(config), f"the configuration test could not run: {exc}") from exc
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0 or (kind == "lighttpd" and "unknown config-key" in output):
        raise ConfigTestFailed(kind, str(config), output or f"exit status {done.returncode}")
    return output
