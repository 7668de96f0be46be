"""The patterns of ``data`` (spec section 3.17): what they match, and which are refused."""

from __future__ import annotations

import re

import pytest

from apppackage.globs import GLOB_PATTERN, compile_glob, glob_matches, glob_problem
from apppackage.schema import load_schema


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("templates", "templates/page.html", True),  # a directory takes every file below it
        ("templates", "templates/mail/digest.txt", True),
        ("templates", "src/templates/page.html", False),  # relative to the root, not at any depth
        ("templates", "templates.py", False),
        ("*.po", "de.po", True),
        ("*.po", "translations/de.po", False),  # '*' never crosses a '/'
        ("**/*.po", "de.po", True),  # '**' is any number of segments, none included
        ("**/*.po", "translations/de/LC_MESSAGES/app.po", True),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "a/xb", False),
        ("logs/**", "logs/2024/app.log", True),
        ("logs/**", "logs", False),
        ("fixtures/??.json", "fixtures/de.json", True),
        ("fixtures/??.json", "fixtures/den.json", False),
        ("x**y", "xay", True),  # '**' inside a segment means '*'
        ("x**y", "xa/y", False),
        ("[ab].txt", "[ab].txt", True),  # every other character stands for itself
        ("[ab].txt", "a.txt", False),
        ("*", ".env", True),
    ],
)
def test_what_a_pattern_matches(pattern: str, path: str, matches: bool) -> None:
    assert glob_matches([compile_glob(pattern)], path) is matches


@pytest.mark.parametrize(
    "pattern",
    ["templates", "**", "a/**/b", "*.txt", ".well-known/x", "x..y", "..x", "", "/x", "C:/x", "x\\y",
     "..", "a/..", "./x", "a/./b", ".", "x//y", "x/", "//"],
)  # fmt: skip
def test_the_schema_and_the_check_refuse_the_same_patterns(pattern: str) -> None:
    assert (re.search(GLOB_PATTERN, pattern) is None) == (glob_problem(pattern) is not None)


def test_the_schema_holds_the_pattern_of_the_library() -> None:
    assert load_schema("metadata")["$defs"]["glob"]["pattern"] == GLOB_PATTERN
    assert load_schema("metadata")["properties"]["data"]["items"] == {"$ref": "#/$defs/glob"}
