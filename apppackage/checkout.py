"""What a source checkout adds to its description (spec section 2.5).

A package that is a directory may be a source checkout: the keys its ``metadata.yaml``
leaves out are taken from ``pyproject.toml``'s ``[project]`` table (section 2.5), then
from ``setup.cfg``, then from a ``setup.py`` whose ``setup(...)`` call passes them as
literals (these two are a convenience of this implementation: the spec names only
``pyproject.toml``). The first file that gives a key wins, ``metadata.yaml`` always;
when two give a mapping (``requires``, ``dependencies``) the two are merged key by key.
A problem in a value taken from one of these files is reported against that file, at
the place the value came from. An archive is never read this way: a built package's
``metadata.yaml`` is complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._names import PYPROJECT
from .errors import InvalidDescription, Problem, pointer

__all__ = [
    "CHECKOUT_FILES",
    "PYPROJECT",
    "SETUP_CFG",
    "SETUP_PY",
    "CheckoutKeys",
    "check_checkout",
    "checkout_keys",
    "locate_problems",
    "merge_keys",
]

SETUP_CFG = "setup.cfg"
SETUP_PY = "setup.py"
CHECKOUT_FILES = (PYPROJECT, SETUP_CFG, SETUP_PY)
"""The files a checkout's description draws on, the first that gives a key winning."""


@dataclass(frozen=True, kw_only=True)
class CheckoutKeys:
    """The description keys one file of a checkout gives, and where in that file each is.

    ``origins`` pairs a description key path (``("requires", "python")``) with the JSON
    pointer of the value it came from in ``file`` (``/project/requires-python``).
    """

    file: str
    keys: dict[str, Any]
    origins: tuple[tuple[tuple[str, ...], str], ...]


def checkout_keys(root: str | Path) -> list[CheckoutKeys]:
    """What each file of the checkout at *root* gives, in the order they win; files without any are left out.

    Raises :class:`InvalidDescription` when ``pyproject.toml`` is not valid TOML.
    """
    root = Path(root)
    found: list[CheckoutKeys] = []
    # The readers are imported only for the files there are: most directories have none.
    if (root / PYPROJECT).is_file():
        from ._pyproject import ORIGINS, from_pyproject

        keys = from_pyproject((root / PYPROJECT).read_bytes().decode("utf-8"), PYPROJECT)
        found.append(CheckoutKeys(file=PYPROJECT, keys=keys, origins=ORIGINS))
    if (root / SETUP_CFG).is_file():
        from ._setupcfg import SETUP_CFG_ORIGINS, from_setup_cfg

        found.append(CheckoutKeys(file=SETUP_CFG, keys=from_setup_cfg(root), origins=SETUP_CFG_ORIGINS))
    if (root / SETUP_PY).is_file():
        from ._setupcfg import SETUP_PY_ORIGINS, from_setup_py

        found.append(CheckoutKeys(file=SETUP_PY, keys=from_setup_py(root), origins=SETUP_PY_ORIGINS))
    return [f for f in found if f.keys]


def merge_keys(raw: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """*raw* with the keys it leaves out taken from *extra*; mappings merged key by key, *raw* winning."""
    merged = dict(raw)
    for key, value in extra.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = {**value, **merged[key]}
    return merged


def locate_problems(
    problems: Iterable[Problem], raw: Mapping[str, Any], extras: Iterable[CheckoutKeys]
) -> list[Problem]:
    """*problems* of a merged description, each in a value taken from one of *extras* pointed at its file.

    *raw* is ``metadata.yaml`` before the merge: a problem in a value it gives stays there,
    as does one in a key no file gives (a missing ``version`` is reported in ``metadata.yaml``).
    """
    extras = list(extras)
    return [_locate(problem, raw, extras) for problem in problems]


def _locate(problem: Problem, raw: Mapping[str, Any], extras: list[CheckoutKeys]) -> Problem:
    for extra in extras:  # in the order they win
        for keys, origin in extra.origins:
            prefix = pointer(*keys)
            if problem.path != prefix and not problem.path.startswith(prefix + "/"):
                continue
            if _has(raw, keys):
                return problem
            if _has(extra.keys, keys):
                return Problem(
                    file=extra.file, path=origin + problem.path[len(prefix) :], message=problem.message
                )
    return problem


def _has(document: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    node: Any = document
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True


def check_checkout(
    raw: Mapping[str, Any], root: str | Path, file: str = "metadata.yaml"
) -> tuple[list[Problem], list[Problem], dict[str, Any]]:
    """Check the description of the checkout at *root*: *raw*, its *file*, completed by the files above.

    Returns ``(errors, warnings, clean)`` as :func:`~apppackage.checks.check_description`
    does, each error located in the file its value came from.
    """
    from .checks import check_description

    try:
        extras = checkout_keys(root)
    except InvalidDescription as exc:
        return list(exc.problems), [], {}
    merged = dict(raw)
    for extra in extras:
        merged = merge_keys(merged, extra.keys)
    errors, warnings, clean = check_description(merged, file)
    return locate_problems(errors, raw, extras), warnings, clean
