"""The configuration spec, ``configuration.yaml``, and the values an operator fills in (spec section 4).

A :class:`ConfigSpec` validates values (:meth:`ConfigSpec.validate` returns every
problem), fills defaults, generates secrets, parses ``key=value`` text from a
command line and writes the filled-in file the application reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from .errors import InvalidConfiguration, Problem, pointer

__all__ = [
    "DEFAULT_WIDGETS",
    "FIELD_TYPES",
    "MASK",
    "ConfigSpec",
    "Field",
    "RawConfigSpec",
    "RawField",
]

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


class RawConfigSpec(TypedDict, total=False):
    pyapp: str
    format: str
    fields: dict[str, RawField]


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
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
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
        if _repeats(value):
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


def _repeats(values: list[Any]) -> bool:
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
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True, kw_only=True)
class ConfigSpec:
    """The settings of an application (section 4). An app with no spec has no fields."""

    fields: tuple[Field, ...] = ()
    format: str = "yaml"
    file: str = "configuration.yaml"

    def __iter__(self) -> Any:
        return iter(self.fields)

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @classmethod
    def from_dict(cls, raw: Any, file: str = "configuration.yaml") -> ConfigSpec:
        """Validate a configuration spec and build the model; raise :class:`InvalidConfiguration`."""
        problems = check_config_spec(raw, file)
        if problems:
            raise InvalidConfiguration(problems, f"{file} is not a valid configuration spec:")
        fields = []
        for name, rf in raw.get("fields", {}).items():
            choices = [c["value"] if isinstance(c, dict) else c for c in rf.get("choices", ())]
            labels = [
                c.get("label", str(c["value"])) if isinstance(c, dict) else str(c)
                for c in rf.get("choices", ())
            ]
            fields.append(
                Field(
                    name=name,
                    type=rf["type"],
                    label=rf.get("label", ""),
                    help=rf.get("help", ""),
                    default=rf.get("default"),
                    required=rf.get("required", False),
                    widget=rf.get("widget", DEFAULT_WIDGETS[rf["type"]]),
                    pattern=rf.get("pattern"),
                    min=rf.get("min"),
                    max=rf.get("max"),
                    min_length=rf.get("min_length"),
                    max_length=rf.get("max_length"),
                    choices=tuple(choices),
                    choice_labels=tuple(labels),
                    items=rf.get("items", "string"),
                    schemes=tuple(rf.get("schemes", ())),
                    generate=rf.get("generate", True),
                    length=rf.get("length", DEFAULT_SECRET_LENGTH),
                    section=rf.get("section", "app"),
                )
            )
        return cls(fields=tuple(fields), format=raw.get("format", "yaml"), file=file)

    def to_dict(self) -> dict[str, Any]:
        """The spec as an editing UI or API client needs it."""
        return {"format": self.format, "fields": [f.to_dict() for f in self.fields]}

    def validate(self, values: Any, file: str = "config.yaml") -> list[Problem]:
        """Every problem with filled-in *values*, each with *file* and the field's path."""
        if not isinstance(values, Mapping):
            return [Problem(file=file, path="", message="must be a mapping of setting names to values")]
        problems = []
        for key in values:
            if self.field(str(key)) is None:
                known = ", ".join(f.name for f in self.fields) or "none"
                problems.append(
                    Problem(file=file, path=pointer(key), message=f"unknown setting (known: {known})")
                )
        for f in self.fields:
            value = values.get(f.name)
            if value is None:
                if f.required:
                    problems.append(
                        Problem(file=file, path=pointer(f.name), message="is required but has no value")
                    )
                continue
            reason = f.check(value)
            if reason:
                problems.append(Problem(file=file, path=pointer(f.name), message=reason))
        return problems

    def check(self, values: Any, file: str = "config.yaml") -> None:
        """Raise :class:`InvalidConfiguration` listing every problem with *values*."""
        problems = self.validate(values, file)
        if problems:
            raise InvalidConfiguration(problems, f"{file} is not valid:")

    def defaults(self) -> dict[str, Any]:
        """The values of fields that have a default (copies: changing them leaves the spec alone)."""
        import copy

        return {f.name: copy.deepcopy(f.default) for f in self.fields if f.default is not None}

    def fill(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        generate_secrets: bool = False,
    ) -> dict[str, Any]:
        """Defaults, overridden by *values* (a null keeps the default); secrets without a value
        generated when asked (sections 4.3 and 4.5)."""
        import copy

        filled = self.defaults()
        for key, value in copy.deepcopy(dict(values or {})).items():
            # A null is no value: the field keeps its default, or stays without one (section 4.3).
            if value is not None or self.field(str(key)) is None:
                filled[key] = value
        if generate_secrets:
            import secrets

            for f in self.fields:
                if f.secret and f.generate and filled.get(f.name) is None:
                    filled[f.name] = secrets.token_urlsafe(f.length)[: f.length]
        return {f.name: filled[f.name] for f in self.fields if f.name in filled} | {
            k: v for k, v in filled.items() if self.field(k) is None
        }

    def parse_assignments(self, assignments: Iterable[str], file: str = "--set") -> dict[str, Any]:
        """Turn ``key=value`` strings into typed values; raise :class:`InvalidConfiguration`."""
        out: dict[str, Any] = {}
        problems = []
        for text in assignments:
            key, sep, raw = text.partition("=")
            key = key.strip()
            f = self.field(key)
            if not sep:
                problems.append(Problem(file=file, path=pointer(key), message="expected key=value"))
            elif f is None:
                known = ", ".join(x.name for x in self.fields) or "none"
                problems.append(
                    Problem(file=file, path=pointer(key), message=f"unknown setting (known: {known})")
                )
            else:
                try:
                    out[key] = f.parse(raw)
                except ValueError as exc:
                    problems.append(Problem(file=file, path=pointer(key), message=str(exc)))
        if problems:
            raise InvalidConfiguration(problems, "invalid settings:")
        return out

    def masked(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """*values* with every secret replaced by :data:`MASK` (section 4.5)."""
        return {
            k: (MASK if (f := self.field(k)) is not None and f.secret and v is not None else v)
            for k, v in values.items()
        }

    def render(self, values: Mapping[str, Any]) -> str:
        """The filled-in configuration file the application reads, in :attr:`format` (section 4.1)."""
        if self.format == "ini":
            return self._render_ini(values)
        from ._yaml import dump_yaml

        # Every field that has a value, in field order (section 4.1).
        data = {f.name: values[f.name] for f in self.fields if values.get(f.name) is not None}
        return dump_yaml(data) if data else "{}\n"

    def _render_ini(self, values: Mapping[str, Any]) -> str:
        sections: dict[str, list[str]] = {}
        for f in self.fields:
            if f.name not in values or values[f.name] is None:
                continue
            value = values[f.name]
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, list):
                text = "\n".join(["", *(f"    {v}" for v in value)]) if value else ""
            else:
                text = str(value).replace("\n", "\n    ")
            sections.setdefault(f.section, []).append(f"{f.name} = {text}")
        return "".join(f"[{s}]\n" + "\n".join(lines) + "\n\n" for s, lines in sections.items())

    def parse_file(self, text: str, file: str = "config.yaml") -> dict[str, Any]:
        """Read a filled-in configuration file (YAML only: the operator's copy is always YAML)."""
        from ._yaml import load_yaml

        data = load_yaml(text, file)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise InvalidConfiguration(
                [Problem(file=file, path="", message="must be a mapping of setting names to values")]
            )
        return data


def check_config_spec(raw: Any, file: str = "configuration.yaml") -> list[Problem]:
    """Every problem with a configuration spec document (section 4)."""
    from .schema import schema_problems

    if not isinstance(raw, Mapping):
        return [Problem(file=file, path="", message="must be a mapping with a 'fields' key")]
    problems = schema_problems("configuration", raw, file)
    if problems:
        return problems
    for name, rf in raw.get("fields", {}).items():
        where = ("fields", name)
        before = len(problems)
        if "pattern" in rf:
            try:
                re.compile(rf["pattern"])
            except re.error as exc:
                problems.append(
                    Problem(
                        file=file,
                        path=pointer(*where, "pattern"),
                        message=f"invalid regular expression: {exc}",
                    )
                )
                continue
        if rf.get("min") is not None and rf.get("max") is not None and rf["min"] > rf["max"]:
            problems.append(
                Problem(file=file, path=pointer(*where, "min"), message="min is greater than max")
            )
        if (
            rf.get("min_length") is not None
            and rf.get("max_length") is not None
            and rf["min_length"] > rf["max_length"]
        ):
            problems.append(
                Problem(
                    file=file,
                    path=pointer(*where, "min_length"),
                    message="min_length is greater than max_length",
                )
            )
        if rf["type"] in ("choice", "multichoice"):
            values = [c["value"] if isinstance(c, dict) else c for c in rf["choices"]]
            if _repeats(values):
                problems.append(
                    Problem(file=file, path=pointer(*where, "choices"), message="choices must be unique")
                )
        elif "choices" in rf:
            problems.append(
                Problem(
                    file=file,
                    path=pointer(*where, "choices"),
                    message="only choice and multichoice fields take choices",
                )
            )
        # The default is checked against the rest of the field only when that is sound.
        if "default" in rf and rf["default"] is not None and len(problems) == before:
            spec = ConfigSpec.from_dict(
                {"fields": {name: {k: v for k, v in rf.items() if k != "default"}}}, file
            )
            reason = spec.fields[0].check(rf["default"])
            if reason:
                problems.append(
                    Problem(file=file, path=pointer(*where, "default"), message=f"invalid default: {reason}")
                )
    return problems
