"""The fields of a configuration spec and how a value is checked against one (spec sections 4.2 to 4.4)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

__all__ = ["DEFAULT_SECRET_LENGTH", "DEFAULT_WIDGETS", "FIELD_TYPES", "MASK", "Field", "RawField", "repeats"]

FIELD_TYPES = (
    "string", "text", "integer", "number", "boolean", "choice", "multichoice",
    "email", "url", "hostname", "port", "path", "secret", "list",
)  # fmt: skip

DEFAULT_WIDGETS = {
    "string": "text",
    "text": "textarea",
    "integer": "number",
    "number": "number",
    "boolean": "checkbox",
    "choice": "select",
    "multichoice": "multiselect",
    "email": "email",
    "url": "url",
    "hostname": "text",
    "port": "number",
    "path": "text",
    "secret": "password",
    "list": "list",
}

MASK = "********"
"""What a secret's value is replaced with wherever values are shown (section 4.5)."""

DEFAULT_SECRET_LENGTH = 32

_EMAIL = re.compile(
    r"^[^@\s]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class RawField(TypedDict, total=False):
    type: str
    label: str
    help: str
    default: Any
    required: bool
    widget: str
    pattern: str
    min: float
    max: float
    min_length: int
    max_length: int
    choices: list[Any]
    items: str
    schemes: list[str]
    generate: bool
    length: int
    section: str


@dataclass(frozen=True, kw_only=True)
class Field:
    """One setting (section 4.2)."""

    name: str
    type: str
    label: str = ""
    help: str = ""
    default: Any = None
    required: bool = False
    widget: str = ""
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    choices: tuple[Any, ...] = ()
    choice_labels: tuple[str, ...] = ()
    items: str = "string"
    schemes: tuple[str, ...] = ()
    generate: bool = True
    length: int = DEFAULT_SECRET_LENGTH
    section: str = "app"

    @property
    def secret(self) -> bool:
        return self.type == "secret"

    def to_dict(self) -> dict[str, Any]:
        """The field as an editing UI needs it: every attribute, the widget resolved."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "label": self.label or self.name.replace("_", " ").capitalize(),
            "help": self.help,
            "required": self.required,
            "widget": self.widget,
        }
        if self.default is not None:
            out["default"] = MASK if self.secret else self.default
        for key in ("pattern", "min", "max", "min_length", "max_length"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.choices:
            out["choices"] = [
                {"value": v, "label": lab} for v, lab in zip(self.choices, self.choice_labels, strict=True)
            ]
        if self.type == "list":
            out["items"] = self.items
        if self.schemes:
            out["schemes"] = list(self.schemes)
        return out

    def check(self, value: Any) -> str | None:
        """Why *value* is not valid for this field, or ``None`` (section 4.3)."""
        reason = _check_type(self, self.type, value)
        if reason:
            return reason
        return _check_limits(self, value)

    def parse(self, text: str) -> Any:
        """Convert command-line text to a value of this field's type (section 4.4)."""
        if self.type in ("integer", "port"):
            try:
                return int(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a whole number") from None
        if self.type == "number":
            try:
                return float(text) if any(c in text for c in ".eEn") else int(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a number") from None
        if self.type == "boolean":
            lowered = text.strip().lower()
            if lowered in ("true", "yes", "on", "1"):
                return True
            if lowered in ("false", "no", "off", "0"):
                return False
            raise ValueError(f"{text!r} is not a boolean (true or false)")
        if self.type in ("multichoice", "list"):
            parts = [p.strip() for p in text.split(",")] if text.strip() else []
            if self.type == "list" and self.items in ("integer", "number"):
                sub = Field(name=self.name, type=self.items)
                return [sub.parse(p) for p in parts]
            if self.type == "multichoice":
                return [self._choice(p) for p in parts]
            return parts
        if self.type == "choice":
            return self._choice(text)
        return text

    def _choice(self, text: str) -> Any:
        """The choice *text* names: choices that are not strings (numbers, booleans) by their text."""
        for choice in self.choices:
            if not isinstance(choice, str) and str(choice).lower() == text.strip().lower():
                return choice
        return text


def _check_type(f: Field, kind: str, value: Any) -> str | None:
    if kind in ("string", "text", "email", "url", "hostname", "path", "secret"):
        if not isinstance(value, str):
            return f"expected a string, got {type(value).__name__}"
        if kind != "text" and ("\n" in value or "\r" in value):
            return "must be a single line"
        if kind == "email" and not _EMAIL.match(value):
            return f"{value!r} is not an e-mail address (name@example.org)"
        if kind == "url":
            return _url_problem(f, value)
        if kind == "hostname" and not _is_hostname(value):
            return f"{value!r} is not a host name (letters, digits and '-' in dot-separated labels)"
        if kind == "path" and ("\0" in value or not value):
            return "must be a non-empty path"
        return None
    if kind in ("integer", "port"):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected a whole number, got {type(value).__name__}"
        if kind == "port" and not 1 <= value <= 65535:
            return f"{value} is not a TCP port (1-65535)"
        return None
    if kind == "number":
        # An integer is finite however large (math.isfinite() raises for one past a float's range).
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            return f"expected a number, got {type(value).__name__}"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else f"expected true or false, got {type(value).__name__}"
    if kind == "choice":
        if not _is_choice(value, f.choices):
            return f"{value!r} is not one of {', '.join(repr(c) for c in f.choices)}"
        return None
    if kind == "multichoice":
        if not isinstance(value, list):
            return f"expected a list, got {type(value).__name__}"
        bad = [v for v in value if not _is_choice(v, f.choices)]
        if bad:
            return f"{bad[0]!r} is not one of {', '.join(repr(c) for c in f.choices)}"
        if repeats(value):
            return "choices must not repeat"
        return None
    if kind == "list":
        if not isinstance(value, list):
            return f"expected a list, got {type(value).__name__}"
        item = Field(name=f.name, type=f.items, schemes=f.schemes)
        for i, v in enumerate(value):
            reason = _check_type(item, f.items, v)
            if reason:
                return f"item {i}: {reason}"
        return None
    return f"unknown field type {kind!r}"


def _same(a: Any, b: Any) -> bool:
    """Equal as YAML values: 2 equals 2.0, a boolean never equals a number (section 4.2)."""
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


def _is_choice(value: Any, choices: Iterable[Any]) -> bool:
    return any(_same(value, c) for c in choices)


def repeats(values: list[Any]) -> bool:
    """Whether a value appears twice in *values* (booleans and numbers never equal)."""
    return any(_same(a, b) for i, a in enumerate(values) for b in values[:i])


def _url_problem(f: Field, value: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
    except ValueError as exc:
        return f"{value!r} is not a URL: {exc}"
    if not parts.scheme or not (parts.netloc or parts.scheme in ("file", "sqlite")):
        return f"{value!r} is not an absolute URL (scheme://host/...)"
    if f.schemes and parts.scheme not in f.schemes:
        return f"the scheme of {value!r} must be one of {', '.join(f.schemes)}"
    return None


def _is_hostname(value: str) -> bool:
    if not value or len(value) > 253:
        return False
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    return all(_HOST_LABEL.match(label) for label in labels)


def _check_limits(f: Field, value: Any) -> str | None:
    if f.pattern is not None and isinstance(value, str) and re.fullmatch(f.pattern, value) is None:
        return f"does not match the pattern {f.pattern}"
    if f.pattern is not None and f.type == "list":
        for i, v in enumerate(value):
            if isinstance(v, str) and re.fullmatch(f.pattern, v) is None:
                return f"item {i}: does not match the pattern {f.pattern}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if f.min is not None and value < f.min:
            return f"{value} is less than the minimum {_num(f.min)}"
        if f.max is not None and value > f.max:
            return f"{value} is more than the maximum {_num(f.max)}"
    if isinstance(value, str | list):
        unit = "characters" if isinstance(value, str) else "items"
        if f.min_length is not None and len(value) < f.min_length:
            return f"must have at least {f.min_length} {unit}"
        if f.max_length is not None and len(value) > f.max_length:
            return f"must have at most {f.max_length} {unit}"
    return None


def _num(x: float) -> str:
    """*x* as a message shows it: ``5`` for ``5.0``; an integer as it is, past a float's range too."""
    if isinstance(x, int):
        return str(x)
    return str(int(x)) if x.is_integer() else str(x)
