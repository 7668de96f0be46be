"""Results as plain JSON data: every field of a dataclass, nested results by their own ``to_dict``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

__all__ = ["Plain", "plain"]


def plain(value: Any) -> Any:
    """*value* as JSON data: objects with ``to_dict`` through it, mappings and sequences copied."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(item) for item in value]
    return value


class Plain:
    """A dataclass mixin: ``to_dict()`` gives every field, in order, as :func:`plain` data."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]
