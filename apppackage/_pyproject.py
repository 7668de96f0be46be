"""Keys a source checkout's ``pyproject.toml`` gives a description (spec section 2.5)."""

from __future__ import annotations

import re
import sys
from typing import Any

from .errors import InvalidDescription, Problem, pointer

__all__ = ["from_pyproject", "locate_problems", "merge_pyproject"]

# Where each description key that pyproject.toml can give is found in it (section 2.5).
_ORIGINS = (
    (("name",), "/project/name"),
    (("version",), "/project/version"),
    (("summary",), "/project/description"),
    (("requires", "python"), "/project/requires-python"),
    (("dependencies", "packages"), "/project/dependencies"),
)


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    data: dict[str, Any] = tomllib.loads(text)
    return data


def from_pyproject(text: str, file: str = "pyproject.toml") -> dict[str, Any]:
    """The description keys that ``[project]`` provides (section 2.5)."""
    try:
        data = _toml_loads(text)
    except ValueError as exc:
        raise InvalidDescription([Problem(file=file, path="", message=f"invalid TOML: {exc}")]) from None
    project = data.get("project")
    if not isinstance(project, dict):
        return {}
    out: dict[str, Any] = {}
    if isinstance(project.get("name"), str):
        out["name"] = re.sub(r"[-_.]+", "-", project["name"]).lower()
    if isinstance(project.get("version"), str):
        out["version"] = project["version"]
    if isinstance(project.get("description"), str):
        out["summary"] = project["description"]
    if isinstance(project.get("requires-python"), str):
        out["requires"] = {"python": project["requires-python"]}
    deps = project.get("dependencies")
    if isinstance(deps, list) and deps:
        out["dependencies"] = {"packages": list(deps)}
    return out


def merge_pyproject(raw: dict[str, Any], pyproject: dict[str, Any]) -> dict[str, Any]:
    """*raw* with the keys it leaves out taken from *pyproject*; ``metadata.yaml`` always wins."""
    merged = dict(raw)
    for key, value in pyproject.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = {**value, **merged[key]}
    return merged


def locate_problems(
    problems: list[Problem], raw: dict[str, Any], pyproject: dict[str, Any], file: str = "pyproject.toml"
) -> list[Problem]:
    """*problems* of a merged description, those in values taken from *pyproject* pointed at *file*."""
    out = []
    for problem in problems:
        for keys, origin in _ORIGINS:
            prefix = pointer(*keys)
            inside = problem.path == prefix or problem.path.startswith(prefix + "/")
            if inside and _has(pyproject, keys) and not _has(raw, keys):
                problem = Problem(
                    file=file, path=origin + problem.path[len(prefix) :], message=problem.message
                )
                break
        out.append(problem)
    return out


def _has(document: dict[str, Any], keys: tuple[str, ...]) -> bool:
    node: Any = document
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True
