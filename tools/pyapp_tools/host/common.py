"""What the ``pyapp`` commands that work on this host share: ``--home``, ``--wait``, the host itself.

Used by :mod:`~pyapp_tools.host.apps`, :mod:`~pyapp_tools.host.processes`,
:mod:`~pyapp_tools.host.services` and :mod:`~pyapp_tools.host.web`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import click

from ..commandline import json_command

if TYPE_CHECKING:
    from pyapp_runtime import Host

__all__ = ["home_option", "host_command", "open_host", "wait_option"]

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., object])

home_option = click.option(
    "--home", type=click.Path(file_okay=False, path_type=Path), envvar="PYAPP_HOME",
    help="The host's directory (default: $PYAPP_HOME, else $XDG_DATA_HOME/pyapp, ~/.local/share/pyapp).",
)  # fmt: skip
"""``--home``: the host's directory (its ``home`` parameter)."""


def host_command(func: Callable[P, R]) -> Callable[P, R]:
    """``--home`` and ``--json`` for a command; its errors are reported as :func:`.json_command` says."""
    return home_option(json_command(func))


def wait_option(func: F) -> F:
    """``--wait SECONDS``: how long to wait for another command working on the same app."""
    return click.option(
        "--wait", type=click.FloatRange(min=0), default=0.0, show_default=True, metavar="SECONDS",
        help="How long to wait for another command working on the same app to finish.",
    )(func)  # fmt: skip


def open_host(home: Path | None, *, progress: bool = False) -> Host:
    """The host at *home*; with *progress*, each step of a long operation is told on stderr."""
    from pyapp_runtime import Host

    def tell(message: str) -> None:
        click.echo(f"==> {message}", err=True)

    return Host(home, progress=tell if progress else None)
