"""The glob patterns of ``data`` (spec section 3.17): their rules and what they match.

A pattern is relative to the root of a checkout and ``/``-separated; ``*`` matches any
characters but ``/``, ``?`` one character but ``/``, and ``**`` as a whole segment any
number of segments (none included); every other character stands for itself. It matches
a file's whole relative path, or a directory above the file (``templates`` takes every
file below ``templates/``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["GLOB_PATTERN", "compile_glob", "glob_matches", "glob_problem"]

GLOB_PATTERN = r"^(?!/)(?![A-Za-z]:)(?!.*\\)(?!(.*/)?\.{1,2}(/|$))(?!.*//)(?!.*/$).+$"
"""The schema's pattern of a valid glob (``$defs/glob`` of ``metadata.schema.json``): what
:func:`glob_problem` accepts."""


def glob_problem(pattern: str) -> str | None:
    """Why *pattern* is not a valid ``data`` pattern (section 3.17), or ``None``; says what to write."""
    if not pattern:
        return "it is empty: name files relative to the checkout's root (e.g. templates/**)"
    if pattern.startswith("/") or re.match(r"[A-Za-z]:", pattern):
        return (
            "it is absolute: patterns are relative to the checkout's root (templates/**, not /templates/**)"
        )
    if "\\" in pattern:
        return "it has a backslash: separate its segments with '/'"
    segments = pattern.split("/")
    if ".." in segments:
        return "it has a '..' segment: the files of a package lie inside the checkout"
    if "." in segments:
        return "it has a '.' segment: leave it out"
    if "" in segments:
        return "it has an empty segment ('//' or a trailing '/'): leave it out"
    return None


def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regular expression that fully matches the relative paths *pattern* names (itself, not below)."""
    parts: list[str] = []
    segments = pattern.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
            continue
        text = re.sub(r"\*+", "*", segment)
        regex = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in text)
        parts.append(regex if last else regex + "/")
    return re.compile("".join(parts))


def glob_matches(patterns: Iterable[re.Pattern[str]], path: str) -> bool:
    """Whether one of *patterns* (compiled) matches the file *path* or a directory above it."""
    compiled = list(patterns)
    prefix = ""
    for segment in path.split("/"):
        prefix = f"{prefix}/{segment}" if prefix else segment
        if any(p.fullmatch(prefix) for p in compiled):
            return True
    return False
