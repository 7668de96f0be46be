"""ARCHITECTURE.md against the tree: every module it names exists, every module of the house is named in it,
and no module of the runtime grows past the size where it should be split."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "ARCHITECTURE.md"
PACKAGES = {
    "apppackage": ROOT / "apppackage",
    "pyapp_runtime": ROOT / "runtime" / "pyapp_runtime",
    "pyapp_server": ROOT / "server" / "pyapp_server",
    "pyapp_tools": ROOT / "tools" / "pyapp_tools",
}
# The sections of ARCHITECTURE.md that map each package, by their heading.
SECTIONS = {
    "apppackage": "## apppackage",
    "pyapp_runtime": "## pyapp_runtime",
    "pyapp_server": "## pyapp_server and pyapp_tools",
    "pyapp_tools": "## pyapp_server and pyapp_tools",
}
# Folders the map names as a whole (libraries of their own); every other folder has each module named.
WHOLE = {"scheduler", "supervision", "webservers", "schemas"}
# Files of an app's checkout the map speaks of, not modules of the house.
CHECKOUT_FILES = {"setup.py"}
MAX_LINES = 400
_CODE = re.compile(r"`([^`\s]+)`")


def section(heading: str) -> str:
    """The text under the heading that starts with *heading*, up to the next one."""
    text = DOC.read_text("utf-8")
    match = re.search(rf"^{re.escape(heading)}\b.*$", text, re.M)
    assert match, f"ARCHITECTURE.md has no heading {heading!r}"
    end = text.find("\n## ", match.end())
    return text[match.start() : end if end >= 0 else len(text)]


def named(text: str) -> set[str]:
    """Every name in code spans of *text*, whole and by its last part (``a/b.py`` is also ``b.py``)."""
    out = set()
    for token in _CODE.findall(text):
        token = token.strip(",.")
        out.add(token)
        out.add(token.rstrip("/").rsplit("/", 1)[-1] + ("/" if token.endswith("/") else ""))
    return out


def modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_module_and_folder_of_the_package_is_named_in_its_map(package: str) -> None:
    root = PACKAGES[package]
    names = named(section(SECTIONS[package]))
    missing = []
    for path in modules(root):
        rel = path.relative_to(root)
        if path.name == "__init__.py":
            if len(rel.parts) > 1 and f"{rel.parts[0]}/" not in names:
                missing.append(f"{rel.parts[0]}/")
            continue
        if len(rel.parts) > 1 and rel.parts[0] in WHOLE:
            continue
        if path.name not in names:
            missing.append(str(rel))
    assert not missing, (
        f"ARCHITECTURE.md does not name, in its map of {package}: {', '.join(sorted(set(missing)))}"
    )


def test_every_path_it_names_exists() -> None:
    text = DOC.read_text("utf-8")
    tops = ("apppackage/", "runtime/", "server/", "tools/", "spec/", "docs/", "conformance-tests/", "tests/")
    gone = [
        token
        for token in sorted(set(_CODE.findall(text)))
        if token.startswith(tops) and "<" not in token and not (ROOT / token).exists()
    ]
    assert not gone, f"ARCHITECTURE.md names paths that do not exist: {', '.join(gone)}"
    for package, heading in SECTIONS.items():
        roots = [PACKAGES[p] for p, h in SECTIONS.items() if h == heading]
        files = {p.name for r in roots for p in modules(r)}
        folders = {f"{d.name}/" for r in roots for d in (r, *r.rglob("*")) if d.is_dir()}
        stale = [
            token
            for token in sorted(named(section(heading)) - CHECKOUT_FILES)
            if "/" not in token.rstrip("/")
            and (
                (token.endswith(".py") and token not in files)
                or (len(token) > 1 and token.endswith("/") and token not in folders)
            )
        ]
        assert not stale, f"ARCHITECTURE.md's map of {package} names what is not there: {', '.join(stale)}"


def test_no_runtime_module_is_over_400_lines() -> None:
    root = PACKAGES["pyapp_runtime"]
    long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in modules(root)
        if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, f"split these by concern (at most {MAX_LINES} lines a module): {'; '.join(long)}"
