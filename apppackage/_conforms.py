"""A first pass of JSON Schema validation that answers only yes or no (spec sections 3 and 4).

Importing :mod:`jsonschema` and building its validator costs about 50 ms, most of the start-up
of a command that reads a package, while nearly every document a host reads is valid.
:func:`conforms` decides with the standard library whether a document conforms to a schema, by
the draft 2020-12 meaning of the keywords the schemas in ``apppackage/schemas/`` use;
:mod:`apppackage.schema` imports jsonschema only to list the problems of a document it does not
accept.

It may only be wrong towards no. Each keyword is evaluated by the very comparisons jsonschema
makes (``bool`` is neither a number nor equal to ``1``, ``1.0`` is an integer, ``uniqueItems``
by its sort-then-compare), so a verdict is jsonschema's verdict. What it cannot decide that way
(a keyword it does not know, a ``$ref`` outside the document, a ``$id`` below the root, a value
of no JSON type, any error) is a no for the whole document, never a false subschema: a false
subschema could turn into a valid ``oneOf`` or ``if``. A later keyword in a schema is thus never
accepted unseen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from itertools import pairwise
from typing import Any

__all__ = ["conforms"]


class _Undecided(Exception):
    """This pass cannot tell what jsonschema would say: the answer is no, for the whole document."""


def conforms(schema: Mapping[str, Any], instance: Any) -> bool:
    """Whether *instance* is valid under *schema* (draft 2020-12); ``False`` when it cannot tell.

    *schema* is the root, as :func:`json.loads` reads it: its ``$ref`` are pointers into it.
    """
    try:
        if schema.get("$schema", _DRAFT_2020_12) != _DRAFT_2020_12:
            return False  # another dialect: its keywords may mean other things
        return _valid(schema, instance, schema)
    except Exception:  # noqa: BLE001 - any error (RecursionError, a bad pattern) is a no: jsonschema decides
        return False


_DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
_JSON_TYPES = (dict, list, str, int, float, type(None))

# Keywords that never change a verdict; $id and $schema only at the root (a $id below it would
# move the base of the $ref under it).
_ANNOTATIONS = frozenset(
    {"title", "description", "$comment", "default", "examples", "deprecated", "readOnly", "writeOnly"}
)
_ROOT_ONLY = frozenset({"$id", "$schema"})


def _valid(schema: Any, instance: Any, root: Mapping[str, Any]) -> bool:
    """Whether *instance* is valid under the subschema *schema* of *root*; raises when undecided."""
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, dict) and schema is not root:
        raise _Undecided(f"not a schema: {schema!r}")
    if not schema.keys() <= _KNOWN:
        raise _Undecided(f"unknown keywords {sorted(schema.keys() - _KNOWN)}")
    if schema is not root and not schema.keys().isdisjoint(_ROOT_ONLY):
        raise _Undecided("$id or $schema below the root")
    if not isinstance(instance, _JSON_TYPES):
        raise _Undecided(f"not a JSON value: {type(instance).__name__}")
    # Every keyword is known: the first that fails is jsonschema's failure too.
    return all(_KEYWORDS[key](value, instance, schema, root) for key, value in schema.items())


# -- jsonschema's comparisons ---------------------------------------------------------------


def _is_integer(value: Any) -> bool:
    # Draft 6 and later: a float with no fractional part is an integer.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    # A value of another numbers.Number type never gets here (_valid refuses it).
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "integer": _is_integer,
    "null": lambda value: value is None,
    "number": _is_number,
    "object": lambda value: isinstance(value, dict),
    "string": lambda value: isinstance(value, str),
}

_TRUE, _FALSE = object(), object()


def _unbool(value: Any) -> Any:
    """Tell ``True`` from ``1`` and ``False`` from ``0`` (jsonschema's ``unbool``)."""
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value


def _equal(one: Any, two: Any) -> bool:
    """JSON equality, as jsonschema's ``equal``: ``True != 1``, ``1 == 1.0``, into lists and mappings."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(_equal(i, j) for i, j in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(key in two and _equal(v, two[key]) for key, v in one.items())
    return bool(_unbool(one) == _unbool(two))


def _unique(items: list[Any]) -> bool:
    """jsonschema's ``uniq``, step for step: neighbours once sorted, else every pair."""
    try:
        ordered = sorted(_unbool(i) for i in items)
        return not any(_equal(i, j) for i, j in pairwise(ordered))
    except (NotImplementedError, TypeError):
        seen: list[Any] = []
        for item in items:
            item = _unbool(item)
            if any(_equal(i, item) for i in seen):
                return False
            seen.append(item)
        return True


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _search(pattern: str, text: str) -> bool:
    """``re.search(pattern, text)``, with the compiled pattern kept."""
    return _regex(pattern).search(text) is not None


def _resolve(ref: Any, root: Mapping[str, Any]) -> Any:
    """The subschema a local ``$ref`` (``#`` and a JSON pointer) points at, in *root*."""
    if not isinstance(ref, str) or not ref.startswith("#") or "%" in ref:
        raise _Undecided(f"not a local $ref: {ref!r}")
    target: Any = root
    if ref == "#":
        return target
    if not ref.startswith("#/"):
        raise _Undecided(f"not a JSON pointer: {ref!r}")
    for segment in ref[2:].split("/"):
        if isinstance(target, list):
            target = target[int(segment)]
        elif isinstance(target, dict):
            target = target[segment.replace("~1", "/").replace("~0", "~")]
        else:
            raise _Undecided(f"$ref {ref!r} points into a value")
        if isinstance(target, dict) and "$id" in target:
            raise _Undecided(f"$ref {ref!r} goes through a $id")
    return target


# -- the keywords: each (value, instance, schema, root) -> the keyword holds -----------------


def _type(types: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    names = [types] if isinstance(types, str) else list(types)
    if not all(isinstance(name, str) and name in _TYPES for name in names):
        raise _Undecided(f"unknown type in {types!r}")
    return any(_TYPES[name](instance) for name in names)


def _enum(choices: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    return any(_equal(choice, instance) for choice in choices)


def _properties(properties: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    if not isinstance(instance, dict):
        return True
    return all(
        _valid(subschema, instance[name], root) for name, subschema in properties.items() if name in instance
    )


def _pattern_properties(patterns: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    if not isinstance(instance, dict):
        return True
    return all(
        _valid(subschema, value, root)
        for pattern, subschema in patterns.items()
        for key, value in instance.items()
        if _search(pattern, key)
    )


def _additional_properties(extra: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    if not isinstance(instance, dict):
        return True
    # Only this schema object's properties and patternProperties, the patterns as one (as jsonschema).
    known = schema.get("properties", {})
    patterns = "|".join(schema.get("patternProperties", {}))
    extras = [key for key in instance if key not in known and not (patterns and _search(patterns, key))]
    if isinstance(extra, dict):
        return all(_valid(extra, instance[key], root) for key in extras)
    return bool(extra) or not extras


def _property_names(names: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    if not isinstance(instance, dict):
        return True
    return all(_valid(names, key, root) for key in instance)


def _required(required: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    if not isinstance(instance, dict):
        return True
    return all(name in instance for name in required)


def _items(items: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    # Without prefixItems (an unknown keyword here), items applies to every item.
    if not isinstance(instance, list):
        return True
    if items is False:
        return not instance
    return all(_valid(items, item, root) for item in instance)


def _min_items(least: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    return not (isinstance(instance, list) and len(instance) < least)


def _unique_items(unique: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    return not (unique and isinstance(instance, list) and not _unique(instance))


def _min_length(least: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    return not (isinstance(instance, str) and len(instance) < least)


def _max_length(most: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    return not (isinstance(instance, str) and len(instance) > most)


# The comparisons as jsonschema writes them: NaN passes each of them there, and so here.
def _minimum(least: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    return not (_is_number(instance) and instance < least)


def _maximum(most: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    return not (_is_number(instance) and instance > most)


def _exclusive_minimum(bound: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    return not (_is_number(instance) and instance <= bound)


def _pattern(pattern: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    return not isinstance(instance, str) or _search(pattern, instance)


def _one_of(subschemas: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    matched = 0
    for subschema in subschemas:
        matched += _valid(subschema, instance, root)
        if matched > 1:
            return False
    return matched == 1


def _all_of(subschemas: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    return all(_valid(subschema, instance, root) for subschema in subschemas)


def _if(condition: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    branch = "then" if _valid(condition, instance, root) else "else"
    return branch not in schema or _valid(schema[branch], instance, root)


def _ref(ref: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    # In 2020-12 a $ref is one keyword among its siblings, which apply too.
    return _valid(_resolve(ref, root), instance, root)


def _holds(value: Any, instance: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    """An annotation, $defs (read through $ref), then and else (read by if)."""
    return True


_KEYWORDS: dict[str, Callable[[Any, Any, Any, Mapping[str, Any]], bool]] = {
    "$ref": _ref,
    "type": _type,
    "enum": _enum,
    "properties": _properties,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "propertyNames": _property_names,
    "required": _required,
    "items": _items,
    "minItems": _min_items,
    "uniqueItems": _unique_items,
    "minLength": _min_length,
    "maxLength": _max_length,
    "minimum": _minimum,
    "maximum": _maximum,
    "exclusiveMinimum": _exclusive_minimum,
    "pattern": _pattern,
    "oneOf": _one_of,
    "allOf": _all_of,
    "if": _if,
    **dict.fromkeys(("then", "else", "$defs", *_ANNOTATIONS, *_ROOT_ONLY), _holds),
}
_KNOWN = frozenset(_KEYWORDS)
