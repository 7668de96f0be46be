"""Keys a source checkout's ``pyproject.toml`` gives a description (spec section 2.5)."""

from __future__ import annotations

import sys
from typing import Any

from .errors import InvalidDescription, Problem

__all__ = ["ORIGINS", "from_pyproject"]

# Where each description key that pyproject.toml can give is found in it (section 2.5).
ORIGINS = (
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
    from .pypa import canonical_name

    try:
        data = _toml_loads(text)
    except ValueError as exc:
        raise InvalidDescription([Problem(file=file, path="", message=f"invalid TOML: {exc}")]) from None
    project = data.get("project")
    if not isinstance(project, dict):
        return {}
    out: dict[str, Any] = {}
    if isinstance(project.get("name"), str):
        out["name"] = canonical_name(project["name"])
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
