"""The files of a checkout that a build leaves out though the app's code could read them (spec section 3.17).

A package holds what its description declares (``paths``, ``data``, the static dirs, the
configuration spec, the requirements file): a file next to them that the code opens
(``templates/page.html`` beside the code dir) works from the checkout and is missing
once built. :func:`left_out` finds such files, leaving aside what a project keeps for
its authors (tests, docs, packaging and CI files, dotfiles) and what its ``.pyappignore``
excludes, and names first those whose name appears in the app's Python code; before them,
each ``data`` pattern that packs nothing, and each symbolic link (never packed: spec section
2.1). ``pyapp-build`` and ``pyapp validate`` of a checkout show them as warnings: a build
never drops a file silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from apppackage import Problem
from apppackage.errors import pointer
from apppackage.globs import compile_glob, glob_matches
from apppackage.package import METADATA
from apppackage.record import RECORD

from ._ignore import PYAPPIGNORE, select_files

__all__ = ["SHOWN", "left_out", "unmatched_data"]

SHOWN = 20
"""How many left-out files are named one by one; the rest are counted."""

# A project's own files for its authors, never read by the app it packages.
_AUTHOR_DIRS = frozenset({"tests", "test", "testing", "docs", "doc", "examples", "benchmarks", "dist"})
_AUTHOR_FILES = re.compile(
    r"(?i)^(?:readme|license|licence|copying|notice|authors|contributors|contributing|changelog|changes|"
    r"history|news|code_of_conduct|security)(?:\..*)?$"
    r"|^(?:pyproject\.toml|setup\.py|setup\.cfg|tox\.ini|noxfile\.py|conftest\.py|manifest\.in|makefile|"
    r"dockerfile.*|docker-compose.*\.ya?ml|compose\.ya?ml|requirements.*\.txt|.*\.lock)$",
)
_CODE_SCAN_LIMIT = 8 << 20  # bytes of Python code searched for file names


def _authors_own(rel: str) -> bool:
    parts = rel.split("/")
    if any(p.startswith(".") for p in parts) or parts[0] in _AUTHOR_DIRS or rel.endswith(".pyapp"):
        return True
    return len(parts) == 1 and bool(_AUTHOR_FILES.match(parts[0]))


def _code_text(root: Path, included: Iterable[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    budget = _CODE_SCAN_LIMIT
    for name in included:
        if not name.endswith(".py") or budget <= 0:
            continue
        try:
            text = (root / name).read_text("utf-8", errors="replace")
        except OSError:
            continue
        budget -= len(text)
        texts[name] = text
    return texts


def _named_in(rel: str, code: dict[str, str]) -> str | None:
    """The first code file naming *rel* (its path, or its file name when that is distinctive)."""
    name = rel.rpartition("/")[2]
    wanted = [rel] if len(name) < 5 else [rel, name]
    for source, text in code.items():
        if any(w in text for w in wanted):
            return source
    return None


def unmatched_data(patterns: Sequence[str], included: Iterable[str]) -> list[Problem]:
    """A warning at ``/data/N`` for each of the description's ``data`` *patterns* that matches none of
    *included* (the package's contents): a pattern that packs nothing (section 3.17)."""
    included = list(included)
    empty = [
        (i, pattern)
        for i, pattern in enumerate(patterns)
        if not any(glob_matches([regex], rel) for regex in [compile_glob(pattern)] for rel in included)
    ]
    return [
        Problem(
            file=METADATA,
            path=pointer("data", i),
            message=f"{pattern!r} matches no file the build packs: patterns are relative to the checkout's "
            f"root, and what .gitignore or {PYAPPIGNORE} excludes is never packed",
        )
        for i, pattern in empty
    ]


def _fix(rel: str) -> str:
    """How to pack *rel*, or to say that the app never reads it."""
    top, _, rest = rel.partition("/")
    if rel.endswith(".py"):
        pack = "add its directory to `paths` in metadata.yaml"
    else:
        pack = f"add {top + '/**' if rest else top} to `data` in metadata.yaml"
    return f"{pack}, or list it in {PYAPPIGNORE} if the app never reads it"


def left_out(
    root: Path,
    included: Iterable[str],
    exclude: tuple[Path, ...] = (),
    *,
    limit: int | None = SHOWN,
    data: Sequence[str] = (),
) -> list[Problem]:
    """A warning for each file of the checkout at *root* that is not among *included* (the package's
    contents) and that the app could read; those its code names come first, at most *limit* (then
    one that counts the others; ``None``: every one). Before them, one for each of the ``data``
    patterns that matches none of *included* (:func:`unmatched_data`), and one for each symbolic
    link of the checkout, never packed."""
    inside = {*included, METADATA, RECORD}  # the two a build writes itself
    links: list[str] = []
    candidates = [
        rel
        for rel in select_files(root, ["."], exclude, links=links)
        if rel not in inside and not _authors_own(rel)
    ]
    unmatched = unmatched_data(data, inside) + [
        Problem(
            file=rel,
            path="",
            message="a symbolic link, left out of the package: a package holds regular files only (spec "
            "section 2.1); if the app reads it, put a copy of what it points to in its place",
        )
        for rel in links
        if not _authors_own(rel)
    ]
    if not candidates:
        return unmatched
    code = _code_text(root, sorted(inside))
    named = {rel: _named_in(rel, code) for rel in candidates}
    ordered = sorted(candidates, key=lambda rel: (named[rel] is None, rel))
    problems = unmatched + [
        Problem(
            file=rel,
            path="",
            message=(
                f"left out of the package, though {named[rel]} names it: {_fix(rel)}"
                if named[rel]
                else "left out of the package (outside `paths`, `data`, the static dirs and the config "
                f"spec): {_fix(rel)}"
            ),
        )
        for rel in ordered[:limit]
    ]
    if limit is not None and len(ordered) > limit:
        more = f"and {len(ordered) - limit} more files left out of the package (`--json` lists every one)"
        problems.append(Problem(file=".", path="", message=more))
    return problems
