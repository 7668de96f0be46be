"""What a renderer needs besides the routes: where the server's files go and how it runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .detect import Installation

__all__ = ["RenderContext", "indent", "quote"]


@dataclass(frozen=True, kw_only=True)
class RenderContext:
    """Paths and settings of one generated configuration.

    ``config_dir`` is the generation being written (files refer to each other there,
    never through the ``live`` link, so a staged configuration tests exactly as it
    will run); ``user`` is the (user, group) the workers switch to when the server is
    started as root, else None.
    """

    installation: Installation
    config_dir: Path
    logs: Path
    run: Path
    tmp: Path
    empty: Path
    user: tuple[str, str] | None = None
    workers: int = 1
    access_log: bool = True


def quote(text: str) -> str:
    """A double-quoted string; the model refuses quotes, backslashes and ``$`` in values."""
    return f'"{text}"'


def indent(text: str, prefix: str) -> list[str]:
    """The lines of operator-supplied *text*, each indented by *prefix*."""
    return [prefix + line if line.strip() else "" for line in text.strip("\n").splitlines()]
