"""The layering of the four packages, checked statically on their source (nothing is imported).

``apppackage`` (the format) <- ``pyapp_runtime`` (the host) <- ``pyapp_server`` <- ``pyapp_tools``:
a package imports only packages to its left, never another package's private modules, and no
two modules import each other, even lazily inside a function. Imports under
``if TYPE_CHECKING:`` are type-only: they count for the layering rules, not for cycles.
"""

from __future__ import annotations

import ast
import functools
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "apppackage": ROOT / "apppackage",
    "pyapp_runtime": ROOT / "runtime" / "pyapp_runtime",
    "pyapp_server": ROOT / "server" / "pyapp_server",
    "pyapp_tools": ROOT / "tools" / "pyapp_tools",
}


@dataclass(frozen=True, order=True)
class Import:
    file: str  # relative to the folder holding the packages
    line: int
    importer: str
    imported: str  # a module of the tree, or a dotted name outside it (kept as written)
    type_only: bool = False

    def __str__(self) -> str:
        note = "  (TYPE_CHECKING)" if self.type_only else ""
        return f"{self.file}:{self.line}  {self.importer} -> {self.imported}{note}"


@dataclass(frozen=True)
class Tree:
    modules: dict[str, str]  # module name -> file
    imports: list[Import]  # imports of the given packages only (no stdlib or third party)


def _module_name(package: str, folder: Path, path: Path) -> str:
    parts = [package, *path.relative_to(folder).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_nodes(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, at any depth, with whether it is under ``if TYPE_CHECKING:``."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, type_only = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, type_only
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack += [(child, True) for child in node.body]
            stack += [(child, type_only) for child in node.orelse]
        else:
            stack += [(child, type_only) for child in ast.iter_child_nodes(node)]


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules one import statement imports: ``from m import n`` is ``m.n`` if that is a module."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        if node.level - 1 >= len(anchor):
            return set()  # beyond the top-level package: not ours
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}


def _parse(path: Path) -> ast.Module:
    with warnings.catch_warnings():  # e.g. SyntaxWarning for an invalid escape: not our concern here
        warnings.simplefilter("ignore")
        return ast.parse(path.read_bytes(), filename=str(path))


def scan(packages: Mapping[str, Path]) -> Tree:
    """Read every module of ``packages`` (name -> folder) and the imports between them."""
    base = Path(os.path.commonpath([folder.parent for folder in packages.values()]))
    paths = {
        _module_name(package, folder, path): path
        for package, folder in packages.items()
        for path in sorted(folder.rglob("*.py"))
    }
    known = set(paths)
    imports: set[Import] = set()
    for module, path in paths.items():
        file = path.relative_to(base).as_posix()
        is_package = path.name == "__init__.py"
        for node, type_only in _import_nodes(_parse(path)):
            for target in _targets(node, module, is_package, known):
                if target.split(".")[0] in packages:
                    imports.add(Import(file, node.lineno, module, target, type_only))
    files = {module: path.relative_to(base).as_posix() for module, path in paths.items()}
    return Tree(files, sorted(imports))


def _top(module: str) -> str:
    return module.split(".")[0]


def forbidden_imports(tree: Tree, importer: str, forbidden: Iterable[str]) -> list[str]:
    """Imports by package ``importer`` of any of the ``forbidden`` packages."""
    banned = set(forbidden)
    return [str(i) for i in tree.imports if _top(i.importer) == importer and _top(i.imported) in banned]


def _is_private(module: str) -> bool:
    return any(part.startswith("_") and part not in ("__init__", "__main__") for part in module.split("."))


def private_imports(tree: Tree) -> list[str]:
    """Imports of a private module (``pkg._db``, ``pkg._sub.mod``) from another package."""
    return [str(i) for i in tree.imports if _top(i.importer) != _top(i.imported) and _is_private(i.imported)]


def _graph(tree: Tree) -> dict[str, dict[str, list[Import]]]:
    """Runtime imports between modules of the tree: importer -> imported -> the imports."""
    graph: dict[str, dict[str, list[Import]]] = {module: {} for module in tree.modules}
    for i in tree.imports:
        target = i.imported
        while target not in tree.modules and "." in target:  # ``import pkg.gone.name``
            target = target.rpartition(".")[0]
        if not i.type_only and target in tree.modules and target != i.importer:
            graph[i.importer].setdefault(target, []).append(i)
    return graph


def _components(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while not component or component[-1] != node:
                        component.append(stack.pop())
                        on_stack.discard(component[-1])
                    found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _shortest_cycle(graph: Mapping[str, Iterable[str]], start: str, members: set[str]) -> list[str]:
    paths = {start: [start]}
    queue = [start]
    for node in queue:  # breadth first, inside the component
        for child in sorted(graph[node]):
            if child == start:
                return [*paths[node], start]
            if child in members and child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    raise AssertionError(f"{start} is in no cycle")


def import_cycles(tree: Tree) -> list[list[str]]:
    """Each import cycle: a heading, an example loop, then every import between its modules."""
    graph = _graph(tree)
    cycles = []
    for component in _components(graph):
        if len(component) < 2:
            continue
        members = set(component)
        files = ", ".join(sorted(tree.modules[m] for m in component))
        edges = sorted(i for m in component for t, imps in graph[m].items() if t in members for i in imps)
        loop = " -> ".join(_shortest_cycle(graph, component[0], members))
        cycles.append([f"cycle of {len(component)} modules: {files}", f"  e.g. {loop}"])
        cycles[-1] += [f"  {edge}" for edge in edges]
    return sorted(cycles)


@functools.cache
def real_tree() -> Tree:
    return scan(PACKAGES)


def _check(rule: str, violations: list[str]) -> None:
    if violations:
        pytest.fail(f"{rule}: {len(violations)} violation(s)\n" + "\n".join(violations), pytrace=False)


def test_apppackage_imports_no_other_package() -> None:
    found = forbidden_imports(real_tree(), "apppackage", ["pyapp_runtime", "pyapp_server", "pyapp_tools"])
    _check("apppackage must not import pyapp_runtime/pyapp_server/pyapp_tools", found)


def test_runtime_imports_neither_tools_nor_server() -> None:
    found = forbidden_imports(real_tree(), "pyapp_runtime", ["pyapp_tools", "pyapp_server"])
    _check("pyapp_runtime must not import pyapp_tools/pyapp_server", found)


def test_server_does_not_import_tools() -> None:
    found = forbidden_imports(real_tree(), "pyapp_server", ["pyapp_tools"])
    _check("pyapp_server must not import pyapp_tools", found)


def test_no_private_module_imported_from_another_package() -> None:
    found = private_imports(real_tree())
    _check("private modules are for their own package", found)


def test_no_import_cycles() -> None:
    cycles = import_cycles(real_tree())
    _check("import cycles", ["\n".join(cycle) for cycle in cycles])


# The checker itself, on small fake trees.


def fake_tree(tmp_path: Path, files: Mapping[str, str]) -> Tree:
    """Write ``files`` (path under tmp_path -> source) and scan the packages they make."""
    for name, source in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    return scan({name: tmp_path / name for name in {Path(f).parts[0] for f in files}})


def test_checker_finds_forbidden_and_private_imports(tmp_path: Path) -> None:
    tree = fake_tree(
        tmp_path,
        {
            "apppackage/__init__.py": "",
            "apppackage/_pyproject.py": "",
            "apppackage/core.py": "import os\n\ndef f():\n    import pyapp_runtime.host\n",
            "pyapp_runtime/__init__.py": "from apppackage import core\n",
            "pyapp_runtime/host.py": "from . import _plain\nfrom ._plain import x\n",
            "pyapp_runtime/_plain.py": "x = 1\n",
            "pyapp_server/__init__.py": "",
            "pyapp_server/_db.py": "",
            "pyapp_tools/__init__.py": "",
            "pyapp_tools/ctl.py": "from pyapp_server._db import Store\nfrom apppackage import _pyproject\n",
        },
    )
    assert forbidden_imports(tree, "apppackage", ["pyapp_runtime", "pyapp_server", "pyapp_tools"]) == [
        "apppackage/core.py:4  apppackage.core -> pyapp_runtime.host"
    ]
    assert forbidden_imports(tree, "pyapp_runtime", ["pyapp_tools", "pyapp_server"]) == []
    assert private_imports(tree) == [
        "pyapp_tools/ctl.py:1  pyapp_tools.ctl -> pyapp_server._db",
        "pyapp_tools/ctl.py:2  pyapp_tools.ctl -> apppackage._pyproject",
    ]


def test_checker_finds_lazy_cycle_and_ignores_type_checking(tmp_path: Path) -> None:
    tree = fake_tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "def f():\n    from . import b\n    return b\n",
            "pkg/b.py": "import pkg.a\n",
            "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import D\n",
            "pkg/d.py": "import typing\nif typing.TYPE_CHECKING:\n    pass\nelse:\n    import pkg.sub.e\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/e.py": "from ..c import C\n",
        },
    )
    assert import_cycles(tree) == [
        [
            "cycle of 2 modules: pkg/a.py, pkg/b.py",
            "  e.g. pkg.a -> pkg.b -> pkg.a",
            "  pkg/a.py:2  pkg.a -> pkg.b",
            "  pkg/b.py:1  pkg.b -> pkg.a",
        ]
    ]
    assert "pkg/c.py:3  pkg.c -> pkg.d  (TYPE_CHECKING)" in [str(i) for i in tree.imports]


def test_checker_resolves_package_init_imports(tmp_path: Path) -> None:
    lazy_init = "def __getattr__(name):\n    import importlib\n    return importlib.import_module('lazy.m')\n"
    tree = fake_tree(
        tmp_path,
        {
            "eager/__init__.py": "from .m import thing\n__version__ = '1'\n",
            "eager/m.py": "from . import __version__\nthing = 1\n",
            "typed/__init__.py": "TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from .m import thing\n",
            "typed/m.py": "from . import __version__\n",
            "lazy/__init__.py": lazy_init,
            "lazy/m.py": "from lazy import thing\n",
        },
    )
    assert import_cycles(tree) == [
        [
            "cycle of 2 modules: eager/__init__.py, eager/m.py",
            "  e.g. eager -> eager.m -> eager",
            "  eager/__init__.py:1  eager -> eager.m",
            "  eager/m.py:1  eager.m -> eager",
        ]
    ]


@pytest.mark.parametrize(
    ("module", "private"),
    [("pkg._db", True), ("pkg._sub.mod", True), ("pkg.sub", False), ("pkg.__main__", False)],
)
def test_private_module_names(module: str, private: bool) -> None:
    assert _is_private(module) is private
