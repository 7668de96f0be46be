"""A tree of frozen dataclasses read from and written to its stored shape (pypa packaging's ``pylock`` way).

The defaults live in the dataclass field declarations and nowhere else. Reading passes
only the keys a document gives (:func:`given`), so that every other field takes its
declared default; writing leaves out every field that holds its declared default
(:func:`stored`). A part stored under a key of a mapping (a service under its name)
says which field holds that key in a ``_key`` class variable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, fields
from typing import Any, TypeVar

__all__ = ["given", "keyed", "stored"]

_T = TypeVar("_T")


def given(d: Mapping[str, Any], **convert: Callable[[Any], Any]) -> dict[str, Any]:
    """The keys of *d* named in *convert*, each converted (lists to tuples, numbers to float...).

    A key *d* leaves out is not passed, so that the field takes its declared default.
    """
    return {key: to_field(d[key]) for key, to_field in convert.items() if key in d}


def keyed(from_dict: Callable[[str, Any], _T]) -> Callable[[Mapping[str, Any]], tuple[_T, ...]]:
    """Read a mapping of key to stored part as a tuple of parts, in the mapping's order."""
    return lambda mapping: tuple(from_dict(key, value) for key, value in mapping.items())


def stored(part: Any) -> dict[str, Any]:
    """The fields of *part* that differ from their declared default, in declaration order, as stored.

    Tuples become lists; a nested part becomes its ``to_dict()``, and is left out when that
    is empty; a tuple of keyed parts becomes a mapping of each one's key to its ``to_dict()``.
    The part's own key (``Service.name``...) is left out: it is stored as the mapping's key.
    """
    out: dict[str, Any] = {}
    key = getattr(part, "_key", None)
    for f in fields(part):
        value = getattr(part, f.name)
        if f.name == key or value == _default(f):
            continue
        if hasattr(value, "to_dict"):
            value = value.to_dict()
            if not value:
                continue
        elif value and isinstance(value, tuple) and hasattr(value[0], "_key"):
            value = {getattr(p, p._key): p.to_dict() for p in value}
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def _default(f: Field[Any]) -> Any:
    if f.default_factory is not MISSING:
        return f.default_factory()
    return f.default  # MISSING for a required field, equal to no value
