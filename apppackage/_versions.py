"""Reading a document by the specification version it declares (spec section 3.1).

Both documents of a package, ``metadata.yaml`` and ``configuration.yaml``, are read
by the same rules: another major version is refused with one problem at ``/pyapp``;
a minor version this implementation knows is checked strictly, by that version (a key a
later minor version added is an error in it); a newer minor version has its unknown keys
ignored, each with a warning, and the rest checked strictly.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .errors import Problem, pointer

__all__ = ["KEYS_ADDED", "SPEC_VERSION", "check_versioned", "is_newer_minor", "version_problem"]

SPEC_VERSION = "1.1"
"""The version of the specification this library implements (section 8.1)."""

KEYS_ADDED: dict[str, dict[str, str]] = {
    "metadata": {"asgi": "1.1", "data": "1.1", "updates": "1.1", "data_version": "1.1"},
    "configuration": {},
}
"""The top-level keys of each document a minor version after 1.0 added, with that version (section 8.1)."""


def check_versioned(
    kind: str, raw: Mapping[str, Any], file: str, version: Any
) -> tuple[list[Problem], list[Problem], dict[str, Any]]:
    """The JSON Schema problems of *raw* read as a document of *version* (section 3.1).

    *version* is of the major version implemented (:func:`version_problem` found
    nothing). Returns ``(errors, warnings, clean)``: *clean* is a copy of *raw* without
    the keys ignored because *version* is a newer minor version, each of which is a
    warning at its pointer.
    """
    from .schema import schema_problems

    clean: dict[str, Any] = copy.deepcopy(dict(raw))
    # A key of a later minor version is unknown to the version the document declares (section 3.1):
    # one problem for it, and nothing of its value is checked.
    early = [
        Problem(
            file=file,
            path=pointer(key),
            message=f"unknown key {key!r} in a pyapp {version} document: it is new in {added} "
            f'(declare pyapp: "{added}" to use it)',
        )
        for key, added in KEYS_ADDED[kind].items()
        if key in clean and _minor(version) < _minor(added)
    ]
    for problem in early:
        del clean[problem.path[1:]]
    problems = schema_problems(kind, clean, file)
    warnings: list[Problem] = []
    if is_newer_minor(version):
        # A newer minor version may only add keys (section 8.1): ignore them with a warning.
        for p in problems:
            if p.message.startswith("unknown key"):
                _delete(clean, p.path)
                warnings.append(
                    Problem(file=file, path=p.path, message=p.message.split(" (")[0] + " ignored")
                )
        if warnings:
            problems = schema_problems(kind, clean, file)
    return problems + early, warnings, clean


def _minor(version: Any) -> float:
    """The minor number of a ``1.MINOR`` *version*; infinity when it is not one (then no key is too new)."""
    major, _, minor = str(version).partition(".")
    return int(minor) if _is_number(major) and _is_number(minor) else float("inf")


def _is_number(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts digits such as '²' that ``int`` refuses."""
    return text.isascii() and text.isdigit()


def version_problem(value: Any, file: str, *, inherited: bool = False) -> Problem | None:
    """The one problem of a document of another major version, or ``None``.

    *inherited* says that *value* is the description's ``pyapp``, read for a
    configuration spec that gives none. A value that is not ``MAJOR.MINOR`` is left to
    the schema to report.
    """
    if not isinstance(value, str) or "." not in value:
        return None
    major, _, minor = value.partition(".")
    if not (_is_number(major) and _is_number(minor)):
        return None
    if int(major) == int(SPEC_VERSION.split(".")[0]):
        return None
    source = f" (the description's; {file} gives no pyapp)" if inherited else ""
    return Problem(
        file=file,
        path="/pyapp",
        message=f"specification version {value}{source} is not supported; this implementation reads "
        f'{SPEC_VERSION.split(".")[0]}.x (upgrade apppackage, or declare pyapp: "{SPEC_VERSION}")',
    )


def is_newer_minor(value: Any) -> bool:
    """Whether *value* is a minor version newer than the one implemented (compared as integers)."""
    try:
        return int(str(value).split(".")[1]) > int(SPEC_VERSION.split(".")[1])
    except (IndexError, ValueError):
        return False


def _delete(doc: dict[str, Any], path: str) -> None:
    """Remove the key at the JSON pointer *path* from *doc* (nothing when it names nothing).

    A pointer names a key by its text: a key YAML read as another scalar (``1:``, ``null:``),
    an error of its own, is found by the text :func:`~apppackage.errors.pointer` gave it.
    """
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    node: Any = doc
    for part in parents:
        if isinstance(node, list) and _is_number(part) and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and (keys := [k for k in node if str(k) == part]):
            node = node[keys[0]]
        else:
            return
    if isinstance(node, dict):
        for key in [k for k in node if str(k) == last][:1]:
            del node[key]
