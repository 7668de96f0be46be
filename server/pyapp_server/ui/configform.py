"""A configuration form made from an app's configuration spec (spec section 4.2), and what a submitted
form asks for.

Each field gets the widget its spec names when that widget suits the field's type (else the type's
own): a one-line input (``text``, ``email``, ``url``; ``number`` for integers, numbers and ports), a
``textarea``, a check box, a drop-down list or radio buttons for a choice, a multiple selection or
check boxes for a multichoice, a text area of one item per line for a list, and a password input
for a secret, which is write-only: the form says whether it has a value, shows none, and keeps it
when left empty. The spec's limits become the inputs' attributes (``pattern``, ``min``, ``max``,
``minlength``, ``maxlength``, ``required``); the server checks them again, as for the API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apppackage.fields import DEFAULT_WIDGETS, Field

__all__ = ["FormField", "Option", "form_fields", "read_form"]

SUITS: dict[str, frozenset[str]] = {
    "string": frozenset({"text", "email", "url", "password"}),
    "text": frozenset({"textarea", "text"}),
    "integer": frozenset({"number", "text"}),
    "number": frozenset({"number", "text"}),
    "port": frozenset({"number", "text"}),
    "boolean": frozenset({"checkbox"}),
    "choice": frozenset({"select", "radio"}),
    "multichoice": frozenset({"multiselect", "checkboxes"}),
    "email": frozenset({"email", "text"}),
    "url": frozenset({"url", "text"}),
    "hostname": frozenset({"text"}),
    "path": frozenset({"text"}),
    "secret": frozenset({"password"}),
    "list": frozenset({"list", "textarea"}),
}
"""The widgets that suit each field type (the type's default widget among them)."""
_INPUT_TYPES = {"text": "text", "email": "email", "url": "url", "number": "number", "password": "password"}
_TEXT_TYPES = ("string", "text", "email", "url", "hostname", "path", "secret")


@dataclass(frozen=True, kw_only=True)
class Option:
    """One choice of a choice or multichoice field: its index (what the form sends), label, and state."""

    index: int
    label: str
    selected: bool


@dataclass(frozen=True, kw_only=True)
class FormField:
    """One field of the form, ready for its template."""

    name: str
    label: str
    help: str
    type: str
    widget: str
    input_type: str = "text"
    text: str = ""
    """What a text input or text area shows (never a secret's value)."""
    checked: bool = False
    options: tuple[Option, ...] = ()
    attrs: dict[str, str] = field(default_factory=dict)
    """HTML attributes from the spec's limits (``pattern``, ``min``, ``required``...)."""
    default: str | None = None
    """The default as text, shown beside the field (a secret's never)."""
    has_value: bool = False
    """Whether the field has a value of the operator's (what a secret's field tells instead of it)."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return str(value)


def _same(a: Any, b: Any) -> bool:
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


def _attrs(spec: Mapping[str, Any], widget: str, required: bool) -> dict[str, str]:
    attrs: dict[str, str] = {}
    kind = spec["type"]
    if required:
        attrs["required"] = "required"
    if widget == "number":
        low, high = spec.get("min"), spec.get("max")
        if kind == "port":
            low, high = max(low or 1, 1), min(high or 65535, 65535)
        if low is not None:
            attrs["min"] = _text(low)
        if high is not None:
            attrs["max"] = _text(high)
        attrs["step"] = "any" if kind == "number" else "1"
    if kind in _TEXT_TYPES and widget in ("text", "email", "url", "password", "textarea"):
        if spec.get("min_length") is not None:
            attrs["minlength"] = str(spec["min_length"])
        if spec.get("max_length") is not None:
            attrs["maxlength"] = str(spec["max_length"])
        if spec.get("pattern") and widget != "textarea":
            attrs["pattern"] = str(spec["pattern"])
    if kind in ("hostname", "path", "url", "email", "secret", "list"):
        attrs["spellcheck"] = "false"
        attrs["autocapitalize"] = "none"
    if kind == "secret":
        attrs["autocomplete"] = "new-password"
    return attrs


def form_fields(
    fields: Sequence[Mapping[str, Any]], values: Mapping[str, Any], typed: Mapping[str, Any] | None = None
) -> list[FormField]:
    """The form's fields for the spec's *fields* (as :meth:`AppManager.config` gives them) and the stored
    *values* (secrets masked); *typed* is a submitted form to show again as it was typed."""
    out = []
    for spec in fields:
        name, kind = spec["name"], spec["type"]
        hint = str(spec.get("widget", ""))
        widget = hint if hint in SUITS[kind] else DEFAULT_WIDGETS[kind]
        stored = values.get(name)
        default = spec.get("default")
        effective = stored if stored is not None else default
        choices = spec.get("choices", [])
        if kind == "choice":
            chosen = [typed.get(name)] if typed is not None else None
        elif kind == "multichoice":
            chosen = list(typed.getall(name)) if typed is not None and hasattr(typed, "getall") else None
        else:
            chosen = None
        if chosen is not None:
            selected = {str(c) for c in chosen}
            options = tuple(
                Option(index=i, label=c["label"], selected=str(i) in selected) for i, c in enumerate(choices)
            )
        else:
            picked = effective if isinstance(effective, list) else [effective]
            options = tuple(
                Option(index=i, label=c["label"], selected=any(_same(c["value"], v) for v in picked))
                for i, c in enumerate(choices)
            )
        if typed is not None and kind != "secret":
            text = str(typed.get(name, "")).replace("\r\n", "\n")
            checked = name in typed
        else:
            text = "" if kind == "secret" or stored is None else _text(stored)
            checked = effective is True
        # A set secret is kept, and a field left empty takes its default: neither must be filled in.
        required = bool(spec.get("required")) and default is None and not (kind == "secret" and stored)
        out.append(
            FormField(
                name=name, label=spec["label"], help=spec.get("help", ""), type=kind, widget=widget,
                input_type=_INPUT_TYPES.get(widget, "text"), text=text, checked=checked, options=options,
                attrs=_attrs(spec, widget, required and kind not in ("boolean", "multichoice")),
                default=None if default is None or kind == "secret" else _text(default),
                has_value=stored is not None,
            )
        )  # fmt: skip
    return out


def read_form(
    fields: Sequence[Mapping[str, Any]], values: Mapping[str, Any], form: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The values a submitted *form* asks for, and the problems of text that is not a value of its type.

    A field left as it was is left out (so is a secret left empty, which keeps its value); a text
    input left empty is no value (the default applies). Text is read by the spec's rules for text
    values (section 4.4); a list takes one item per line.
    """
    asked: dict[str, Any] = {}
    problems: list[dict[str, Any]] = []
    for spec in fields:
        name, kind = spec["name"], spec["type"]
        choices = [c["value"] for c in spec.get("choices", [])]
        raw = str(form.get(name, "")).replace("\r\n", "\n").replace("\r", "\n")
        model = Field(name=name, type=kind, choices=tuple(choices))
        try:
            if kind == "secret":
                if raw == "":
                    continue
                value: Any = raw
            elif kind == "boolean":
                value = name in form
            elif kind == "choice":
                value = _chosen(raw, choices) if raw else None
            elif kind == "multichoice":
                value = [_chosen(str(i), choices) for i in form.getall(name)]
            elif kind == "list":
                lines = [line.strip() for line in raw.split("\n") if line.strip()]
                item = Field(name=name, type=spec.get("items", "string"))
                value = [item.parse(line) for line in lines] if item.type in ("integer", "number") else lines
            elif kind in ("integer", "number", "port"):
                value = model.parse(raw.strip()) if raw.strip() else None
            else:
                value = raw if raw != "" else None
        except ValueError as exc:
            problems.append({"field": name, "path": f"/{name}", "message": str(exc)})
            continue
        stored = values.get(name)
        if _same(value, stored) or (stored is None and _same(value, _shown(kind, spec.get("default")))):
            continue  # left as the form showed it
        asked[name] = value
    return asked, problems


def _shown(kind: str, default: Any) -> Any:
    """What the form shows for a field without a value of the operator's, as the value it sends back."""
    if kind == "boolean":
        return default is True
    if kind == "choice":
        return default
    if kind == "multichoice":
        return [] if default is None else default
    return [] if kind == "list" else None  # text inputs show the operator's value only


def _chosen(index: str, choices: Sequence[Any]) -> Any:
    """The choice a form's option names by its index (its text when it names none: refused later)."""
    if index.isdigit() and int(index) < len(choices):
        return choices[int(index)]
    return index
