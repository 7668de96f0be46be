"""The commands of hello (metadata.yaml /commands)."""

from __future__ import annotations

from . import settings


def greet(argv: list[str]) -> int:
    """Print the greeting for every name in *argv*; exit 2 without names."""
    if not argv:
        print("usage: greet NAME...")
        return 2
    greeting = settings.load()["greeting"]
    for name in argv:
        print(f"{greeting}, {name}!")
    return 0
