"""JSON Schema validation of package documents (spec sections 3 and 4).

The schemas in ``apppackage/schemas/`` are the single source: the copies in
``spec/`` are kept identical by a test. A document is first checked by
:func:`~apppackage._conforms.conforms`, a yes-or-no validator of the standard library:
:mod:`jsonschema`, slow to import, is imported only for a document it does not accept,
to list that document's problems.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from ._conforms import conforms
from .errors import Problem, pointer
from .globs import GLOB_PATTERN, glob_problem

__all__ = ["SCHEMA_DIR", "load_schema", "schema_problems"]

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMAS = {"metadata": "metadata.schema.json", "configuration": "configuration.schema.json"}

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


@cache
def load_schema(kind: str) -> dict[str, Any]:
    """Return the JSON Schema of *kind* (``metadata`` or ``configuration``)."""
    data: dict[str, Any] = json.loads((SCHEMA_DIR / SCHEMAS[kind]).read_text("utf-8"))
    return data


@cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    # The schemas are checked against the metaschema by the test suite, not on every start.
    return Draft202012Validator(load_schema(kind))


# What the schemas' patterns mean, for messages a person can act on.
_CALLABLE = (
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
)
_RELPATH = r"^(?!/)(?![A-Za-z]:)(?!.*\\)(?!(.*/)?\.\.(/|$)).+$"
_PATTERN_MEANINGS = {
    _CALLABLE: "a 'module:attribute' reference (e.g. myapp.wsgi:application)",
    _RELPATH: "a relative path inside the package ('/' separators, no '..', not absolute)",
    "^[a-z0-9][a-z0-9._-]*$": "a lowercase name (a-z, 0-9, '.', '_', '-'; starting with a letter or digit)",
    "^[a-z][a-z0-9_]*$": "an identifier (lowercase letters, digits and '_', starting with a letter)",
    r"^[0-9]+\.[0-9]+$": 'a MAJOR.MINOR version such as "1.1"',
    "^[A-Z_][A-Z0-9_]*$": "an environment variable name (A-Z, 0-9 and '_')",
    r"^\S+( \S+){4}$": "a cron expression of 5 fields (minute hour day month weekday)",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _expected(schema_type: Any) -> str:
    if isinstance(schema_type, list):
        return " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in schema_type)
    return _TYPE_NAMES.get(str(schema_type), str(schema_type))


def _describe(error: Any) -> tuple[list[Any], str]:
    """Turn one jsonschema error into (path parts, message a person can act on)."""
    path = list(error.absolute_path)
    validator = error.validator
    value = error.instance
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [*path, missing], "is required but missing"
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extras = [k for k in value if k not in error.schema.get("properties", {})]
        patterns = error.schema.get("patternProperties", {})
        extras = [k for k in extras if not any(_search(p, k) for p in patterns)]
        hint = f" (expected one of: {', '.join(allowed)})" if allowed else ""
        key = extras[0] if extras else "?"
        return [*path, key], f"unknown key {key!r}{hint}"
    if validator == "type":
        message = f"expected {_expected(error.validator_value)}, got {_type_name(value)}"
        if error.validator_value == "string" and isinstance(value, int | float):
            message += f'; write it in quotes: "{value}"'
        return path, message
    if validator == "pattern":
        if error.validator_value == GLOB_PATTERN and isinstance(value, str):
            return path, f"{value!r} is not a valid pattern: {glob_problem(value) or 'see section 3.17'}"
        what = _PATTERN_MEANINGS.get(error.validator_value)
        if what:
            return path, f"{value!r} is not {what}"
        return path, f"{value!r} does not match the required pattern {error.validator_value}"
    if validator == "enum":
        choices = ", ".join(repr(v) for v in error.validator_value)
        return path, f"{value!r} is not one of {choices}"
    if validator == "oneOf":
        return path, _one_of_message(error)
    if validator == "propertyNames":
        return path, f"the key {value!r} is not allowed: {_first_reason(error)}"
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return path, f"{value!r} is out of range ({validator} {error.validator_value})"
    if validator in ("minLength", "maxLength", "minItems", "maxItems"):
        return path, f"too {'short' if validator.startswith('min') else 'long'}: {error.message}"
    if validator == "uniqueItems":
        return path, "items must be unique"
    return path, error.message


def _search(pattern: str, text: str) -> bool:
    import re

    return re.search(pattern, text) is not None


def _first_reason(error: Any) -> str:
    if error.context:
        return str(_describe(error.context[0])[1])
    return str(error.message)


def _one_of_message(error: Any) -> str:
    """oneOf errors come from "string or mapping" unions and from "exactly one of" rules."""
    value = error.instance
    required_sets = [s.get("required") for s in error.validator_value if "required" in s]
    if required_sets and len(required_sets) == len(error.validator_value) and isinstance(value, dict):
        keys = [r[0] for r in required_sets]
        present = [k for k in keys if k in value]
        if len(present) > 1:
            return f"give only one of {', '.join(keys)}, not both"
        if not present:
            return f"one of {', '.join(keys)} is required"
    # A union of forms: report the reason for the closest form.
    best = None
    for sub in error.context or ():
        if best is None or len(sub.absolute_path) > len(best.absolute_path):
            best = sub
    if best is not None and len(best.absolute_path) > len(error.absolute_path):
        return str(_describe(best)[1])
    if isinstance(value, str):
        for sub in error.context or ():
            if sub.validator == "pattern":
                return str(_describe(sub)[1])
    return f"not a valid value ({_type_name(value)} given)"


def _describe_all(error: Any) -> list[tuple[list[Any], str]]:
    """Every problem one jsonschema error stands for, each at its own path.

    One ``additionalProperties`` error lists every unknown key of a mapping; a ``oneOf``
    of forms (a string or a mapping) is reported by the errors of the form whose type the
    value has, at their own, deeper paths.
    """
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extras = [k for k in error.instance if k not in known and not any(_search(p, k) for p in patterns)]
        if len(extras) > 1:
            path, message = _describe(error)
            hint = message[message.index(" (") :] if " (" in message else ""
            return [([*path[:-1], key], f"unknown key {key!r}{hint}") for key in extras]
    if error.validator == "oneOf" and error.context:
        branch = _matching_form(error)
        if branch:
            return [found for sub in branch for found in _describe_all(sub)]
    return [_describe(error)]


def _matching_form(error: Any) -> list[Any]:
    """The errors of the only ``oneOf`` branch whose type the value has, or ``[]``."""
    depth = len(error.absolute_path)
    branches: dict[Any, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    matching = [
        subs
        for subs in branches.values()
        if not any(s.validator == "type" and len(s.absolute_path) == depth for s in subs)
    ]
    if len(matching) != 1 or len(branches) != len(error.validator_value):
        return []
    return matching[0]


def _key_problems(node: Any, parts: list[Any]) -> list[tuple[list[Any], str]]:
    """Mapping keys that are not strings (YAML reads ``1:``, ``on:`` or ``null:`` as such).

    The value of a top-level extension key is any YAML value (section 3.1), whose keys
    only SHOULD be strings (section 2.4): it is not looked into.
    """
    found: list[tuple[list[Any], str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                hint = " (YAML reads yes, no, on and off as booleans)" if isinstance(key, bool) else ""
                found.append(
                    ([*parts, key], f"a key must be a string, not {_type_name(key)}: quote it{hint}")
                )
            elif not parts and key.startswith("x-"):
                continue
            found += _key_problems(value, [*parts, key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _key_problems(value, [*parts, i])
    return found


def _string_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _string_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_string_keys(v) for v in node]
    return node


def schema_problems(kind: str, document: Any, file: str) -> list[Problem]:
    """Validate *document* against the *kind* schema; return every problem, in document order."""
    found: dict[tuple[str, str], Problem] = {}
    # JSON Schema knows only string keys: report the others, then validate with them as text.
    for parts, message in _key_problems(document, []):
        where = pointer(*parts)
        found[(where, message)] = Problem(file=file, path=where, message=message)
    if not found and conforms(load_schema(kind), document):
        return []  # valid, as nearly every document is: no jsonschema to import
    if found:
        document = _string_keys(document)
    for error in _validator(kind).iter_errors(document):
        for parts, message in _describe_all(error):
            where = pointer(*parts)
            found.setdefault((where, message), Problem(file=file, path=where, message=message))
    return sorted(found.values(), key=lambda p: p.path)
