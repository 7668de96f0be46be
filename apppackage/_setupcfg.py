"""Description keys from a checkout's ``setup.cfg`` (and a trivially literal ``setup.py``).

A checkout's description takes what ``metadata.yaml`` and ``pyproject.toml`` leave
out from here (spec section 2.5 names ``pyproject.toml``; these older files are a
convenience of this implementation). ``setup.cfg`` gives ``[metadata]`` name, version
(a literal, ``file:`` or ``attr:``) and description, and ``[options]``
``python_requires`` and ``install_requires``. ``setup.py`` is read only when its
``setup(...)`` call passes those as literals; anything else is ignored, never run.
A ``setup.cfg`` that cannot be parsed gives nothing.

``SETUP_CFG_ORIGINS`` and ``SETUP_PY_ORIGINS`` say where in each file a key is found,
as a JSON pointer: ``/section/option`` in ``setup.cfg``, ``/keyword`` of the
``setup(...)`` call in ``setup.py``.
"""

from __future__ import annotations

import ast
import configparser
from pathlib import Path
from typing import Any

__all__ = ["SETUP_CFG_ORIGINS", "SETUP_PY_ORIGINS", "from_setup_cfg", "from_setup_py"]

SETUP_CFG_ORIGINS = (
    (("name",), "/metadata/name"),
    (("version",), "/metadata/version"),
    (("summary",), "/metadata/description"),
    (("requires", "python"), "/options/python_requires"),
    (("dependencies", "packages"), "/options/install_requires"),
)
SETUP_PY_ORIGINS = (
    (("name",), "/name"),
    (("version",), "/version"),
    (("summary",), "/description"),
    (("requires", "python"), "/python_requires"),
    (("dependencies", "packages"), "/install_requires"),
)


def _name(value: str) -> str:
    from .pypa import canonical_name

    return canonical_name(value.strip())


def _lines(value: str) -> list[str]:
    """A setup.cfg list: one item per line (or ``;``-free comma list on one line)."""
    items = [line.strip() for line in value.splitlines() if line.strip()]
    if len(items) == 1 and "," in items[0] and ";" not in items[0]:
        items = [i.strip() for i in items[0].split(",") if i.strip()]
    return [i for i in items if not i.startswith("#")]


def _keys(
    name: str | None,
    version: str | None,
    summary: str | None,
    python: str | None,
    packages: list[str] | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name:
        out["name"] = _name(name)
    if version:
        out["version"] = version.strip()
    if summary:
        out["summary"] = summary.strip()
    if python:
        out["requires"] = {"python": python.strip()}
    if packages:
        out["dependencies"] = {"packages": packages}
    return out


def from_setup_cfg(root: Path) -> dict[str, Any]:
    """The description keys ``root/setup.cfg`` provides; ``{}`` when there is none or it is unreadable."""
    path = root / "setup.cfg"
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text("utf-8"), str(path))
    except (configparser.Error, UnicodeDecodeError):
        return {}
    meta = parser["metadata"] if parser.has_section("metadata") else {}
    options = parser["options"] if parser.has_section("options") else {}
    version = meta.get("version")
    if version:
        version = _directive(root, version, options.get("package_dir", ""))
    requires = options.get("install_requires")
    return _keys(
        meta.get("name"),
        version,
        meta.get("description"),
        options.get("python_requires"),
        _lines(requires) if requires else None,
    )


def _directive(root: Path, value: str, package_dir: str) -> str | None:
    """Resolve ``file:`` and ``attr:`` version directives without running any code."""
    value = value.strip()
    if value.startswith("file:"):
        target = (root / value[5:].strip()).resolve()
        if root.resolve() not in target.parents or not target.is_file():
            return None
        return target.read_text("utf-8").strip() or None
    if value.startswith("attr:"):
        module, _, attr = value[5:].strip().rpartition(".")
        return _literal_attribute(root, module, attr, package_dir) if module else None
    return value


def _literal_attribute(root: Path, module: str, attr: str, package_dir: str) -> str | None:
    bases = [root, root / "src"]
    for line in _lines(package_dir):
        key, sep, directory = line.partition("=")
        if sep and not key.strip():
            bases.insert(0, root / directory.strip())
    rel = Path(*module.split("."))
    for base in bases:
        for candidate in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
            if candidate.is_file():
                return _assigned_string(candidate.read_text("utf-8"), attr)
    return None


def _assigned_string(source: str, attr: str) -> str | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if attr in names and isinstance(node.value.value, str):
                return node.value.value
    return None


def from_setup_py(root: Path) -> dict[str, Any]:
    """The keys a ``setup(...)`` call in ``root/setup.py`` passes as literals; ``{}`` otherwise."""
    path = root / "setup.py"
    if not path.is_file():
        return {}
    try:
        tree = ast.parse(path.read_text("utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if called != "setup":
            continue
        literals: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                continue
            try:
                literals[keyword.arg] = ast.literal_eval(keyword.value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                continue
        packages = literals.get("install_requires")
        return _keys(
            _str(literals.get("name")),
            _str(literals.get("version")),
            _str(literals.get("description")),
            _str(literals.get("python_requires")),
            [p for p in packages if isinstance(p, str)] if isinstance(packages, list | tuple) else None,
        )
    return {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
