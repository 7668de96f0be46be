"""The configuration spec, ``configuration.yaml``, and the values an operator fills in (spec section 4).

A :class:`ConfigSpec` validates values (:meth:`ConfigSpec.validate` returns every
problem), fills defaults, generates secrets, parses ``key=value`` text from a
command line and writes the filled-in file the application reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from ._versions import check_versioned, version_problem
from .errors import InvalidConfiguration, Problem, pointer
from .fields import DEFAULT_SECRET_LENGTH, DEFAULT_WIDGETS, FIELD_TYPES, MASK, Field, RawField, repeats

__all__ = [
    "DEFAULT_WIDGETS",
    "FIELD_TYPES",
    "MASK",
    "ConfigSpec",
    "Field",
    "RawConfigSpec",
    "RawField",
    "check_config_spec",
    "check_configuration",
]


class RawConfigSpec(TypedDict, total=False):
    pyapp: str
    format: str
    fields: dict[str, RawField]


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
    def from_dict(
        cls, raw: Any, file: str = "configuration.yaml", *, default_version: str | None = None
    ) -> ConfigSpec:
        """Validate a configuration spec and build the model; raise :class:`InvalidConfiguration`.

        Keys ignored because the spec declares a newer minor version are left out
        (:func:`check_configuration` reports them as warnings).
        """
        problems, _, clean = check_configuration(raw, file, default_version=default_version)
        if problems:
            raise InvalidConfiguration(problems, f"{file} is not a valid configuration spec:")
        return cls.from_checked(clean, file)

    @classmethod
    def from_checked(cls, raw: Mapping[str, Any], file: str = "configuration.yaml") -> ConfigSpec:
        """The model of a spec :func:`check_configuration` accepted before, not checked again."""
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

    def unmasked(self, values: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
        """*values* where a secret given as :data:`MASK` keeps its *current* value, or is left out when it
        has none: the mask shown for a secret, submitted as it is, changes nothing (section 4.5)."""
        out = dict(values)
        for key, value in values.items():
            f = self.field(str(key))
            if f is not None and f.secret and value == MASK:
                if current.get(key) is not None:
                    out[key] = current[key]
                else:
                    del out[key]
        return out

    def render(self, values: Mapping[str, Any]) -> str:
        """The filled-in configuration file the application reads, in :attr:`format` (section 4.1)."""
        if self.format == "ini":
            return self._render_ini(values)
        from .safeyaml import dump_yaml

        # Every field that has a value, in field order (section 4.1).
        data = {f.name: values[f.name] for f in self.fields if values.get(f.name) is not None}
        return dump_yaml(data) if data else "{}\n"

    def _render_ini(self, values: Mapping[str, Any]) -> str:
        sections: dict[str, list[str]] = {}
        for f in self.fields:
            if f.name not in values or values[f.name] is None:
                continue
            value = values[f.name]
            if isinstance(value, list):
                text = "".join(f"\n    {_ini_scalar(v)}" for v in value)
            else:
                text = _ini_scalar(value)
            sections.setdefault(f.section, []).append(f"{f.name} = {text}")
        return "".join(f"[{s}]\n" + "\n".join(lines) + "\n\n" for s, lines in sections.items())

    def parse_file(self, text: str, file: str = "config.yaml") -> dict[str, Any]:
        """Read a filled-in configuration file (YAML only: the operator's copy is always YAML)."""
        from .safeyaml import load_yaml

        data = load_yaml(text, file)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise InvalidConfiguration(
                [Problem(file=file, path="", message="must be a mapping of setting names to values")]
            )
        return data


# A reader of the INI file opens it as text, where "\r" and "\r\n" end a line as "\n" does.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _ini_scalar(value: Any) -> str:
    """A value, or a list's item, as section 4.1 writes it in INI: ``true``/``false`` for a boolean,
    and every line break of a string starting a continuation line (never a line of its own, which a
    reader would take for another setting or section)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _LINE_BREAK.sub("\n    ", str(value))


# A configuration spec read alone, with no pyapp of its own nor a description's, is a 1.0 document (4).
_ALONE_VERSION = "1.0"


def check_config_spec(raw: Any, file: str = "configuration.yaml") -> list[Problem]:
    """Every problem with a configuration spec document (section 4), read by its own ``pyapp``."""
    return check_configuration(raw, file)[0]


def check_configuration(
    raw: Any, file: str = "configuration.yaml", *, default_version: str | None = None
) -> tuple[list[Problem], list[Problem], dict[str, Any]]:
    """Check a configuration spec document against spec section 4.

    The document is read by the rules of section 3.1 with its own ``pyapp``, or, when it
    gives none, with *default_version* (the description's ``pyapp``; ``"1.0"`` when
    ``None``). Returns ``(errors, warnings, clean)``: every error with its path; a
    warning for each key ignored because that version is a newer minor one; and the
    document with those keys removed.
    """
    if not isinstance(raw, Mapping):
        return [Problem(file=file, path="", message="must be a mapping with a 'fields' key")], [], {}
    inherited = "pyapp" not in raw
    version = (default_version or _ALONE_VERSION) if inherited else raw["pyapp"]
    refused = version_problem(version, file, inherited=inherited)
    if refused is not None:
        return [refused], [], dict(raw)  # another major version: nothing else is checked
    problems, warnings, clean = check_versioned("configuration", raw, file, version)
    if problems:
        return problems, warnings, clean
    return _field_problems(clean, file), warnings, clean


def _field_problems(raw: Mapping[str, Any], file: str) -> list[Problem]:
    """What JSON Schema cannot say about the fields of a spec it accepted (section 4.2)."""
    problems: list[Problem] = []
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
            if repeats(values):
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
