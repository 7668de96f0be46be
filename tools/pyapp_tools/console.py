"""The ``pyapp`` console script.

``pyapp run`` first arms its early start (:mod:`~pyapp_tools.package.quickstart`: a run started the same
way before may start its web app before the command line below has even loaded); every command then
runs through the click group of :mod:`~pyapp_tools.cli`.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    if sys.argv[1:2] != ["run"]:
        from .cli import main as group

        group()
        return
    from .package import quickstart

    try:
        quickstart.arm(sys.argv[2:])
        from .cli import main as group

        group()
    finally:
        quickstart.disarm()
