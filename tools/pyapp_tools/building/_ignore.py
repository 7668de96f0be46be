"""Which files of a project go into a package: never VCS dirs, caches, virtualenvs or ignored files.

A project that is a git work tree asks git (``git ls-files --others --ignored
--exclude-standard``), so every ignore source git knows counts. Anywhere else the
project's ``.gitignore`` files are read here, with the common subset of their
syntax: ``*``, ``?``, ``[...]`` and ``**`` globs, ``dir/`` patterns matching
directories only, a leading (or inner) ``/`` anchoring a pattern to its file's
directory, ``!`` re-including, ``#`` comments and ``\\`` escapes.

The directories and files a package declares (``paths``, static dirs) are always
taken, even when ignored themselves; the rules apply to what is inside them.

A symbolic link is never taken, nor anything below it (spec section 2.1: a package holds
regular files only); :func:`select_files` says which it passed over, for a warning.

A checkout's ``.pyappignore`` (spec section 3.17) names what a build never takes, the
declared directories and what is inside them too, whatever version control says: the same
syntax, read from the root only. Only a declared file (the configuration spec, the
requirements file) is taken whatever it says. The files ``data`` names are found among
what all these rules leave.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from apppackage.globs import compile_glob, glob_matches
from apppackage.sources import IGNORED_DIRS, IGNORED_SUFFIXES

# Virtualenvs and build output: left out at the project's root only, since deeper down a
# directory of these names is the application's own (a package called "build").
IGNORED_ROOT_DIRS = frozenset({".venv", "venv", "dist", "build", ".eggs"})

PYAPPIGNORE = ".pyappignore"
"""The checkout's file of what a build never takes (spec section 3.17)."""

__all__ = ["PYAPPIGNORE", "IgnoreRules", "git_ignored", "pyappignore_rules", "select_data", "select_files"]


@dataclass(frozen=True, kw_only=True)
class _Rule:
    base: str
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _translate(pattern: str) -> str:
    """A gitignore glob (already stripped of ``!``, a trailing ``/`` and anchoring) as a regex."""
    out = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == n:
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


class IgnoreRules:
    """``.gitignore`` rules; the last rule matching a path decides, as in git."""

    def __init__(self, rules: Iterable[_Rule] = ()) -> None:
        self.rules: list[_Rule] = list(rules)
        self._read: set[str] = set()

    @staticmethod
    def parse(text: str, base: str = "") -> list[_Rule]:
        """The rules of one ``.gitignore`` found in the directory *base* (relative, '' for the root)."""
        rules = []
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            line = line.rstrip()
            if line.endswith("\\"):
                line += " "
            negate = line.startswith("!")
            if negate or line.startswith(("\\!", "\\#")):
                line = line[1:]
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            if not line:
                continue
            anchored = "/" in line
            line = line.lstrip("/")
            regex = _translate(line)
            if not anchored:
                regex = "(?:.*/)?" + regex
            rules.append(_Rule(base=base, regex=re.compile(regex), negate=negate, dir_only=dir_only))
        return rules

    def add_file(self, root: Path, directory: str) -> None:
        """Add the rules of ``root/directory/.gitignore`` when there is one."""
        if directory in self._read:
            return
        self._read.add(directory)
        path = root / directory / ".gitignore" if directory else root / ".gitignore"
        if path.is_file():
            self.rules += self.parse(path.read_text("utf-8", "replace"), directory)

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Whether the '/'-separated path *rel* (relative to the project) is ignored."""
        result = False
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.base:
                if not rel.startswith(rule.base + "/"):
                    continue
                sub = rel[len(rule.base) + 1 :]
            else:
                sub = rel
            if rule.regex.fullmatch(sub):
                result = not rule.negate
        return result


def pyappignore_rules(root: Path) -> IgnoreRules:
    """The rules of the checkout's ``.pyappignore`` at *root*; none when it has none."""
    path = root / PYAPPIGNORE
    if not path.is_file():
        return IgnoreRules()
    return IgnoreRules(IgnoreRules.parse(path.read_text("utf-8", "replace")))


def git_ignored(root: Path) -> set[str] | None:
    """What git ignores under *root* (directories end with ``/``); ``None`` when it is no work tree."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        inside = subprocess.run(
            [git, "-C", str(root), "rev-parse", "--is-inside-work-tree"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None
        listed = subprocess.run(
            [git, "-C", str(root), "ls-files", "-z", "--others", "--ignored", "--exclude-standard",
             "--directory"],
            capture_output=True, timeout=120, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    entries = {e for e in listed.stdout.decode("utf-8", "surrogateescape").split("\0") if e}
    if entries & {"./", "."}:
        # The project itself is ignored by an enclosing repository: git says nothing finer.
        return None
    return entries


def select_files(
    root: Path, tops: Iterable[str], exclude: Iterable[Path] = (), *, links: list[str] | None = None
) -> list[str]:
    """Every file to pack under the declared *tops* (directories or files), sorted and de-duplicated.

    Directories in *exclude* (such as the build's output directory) are skipped. The symbolic
    links it leaves out (spec section 2.1), to files or directories, a top among them, and not
    ignored themselves, are added to *links* when it is given.
    """
    passed: set[str] = set()
    skipped = {p.resolve() for p in exclude}
    git = git_ignored(root)
    rules = IgnoreRules()
    if git is None:
        rules.add_file(root, "")
    never = pyappignore_rules(root)

    def ignored(rel: str, is_dir: bool, top: str) -> bool:
        if never.ignored(rel, is_dir):
            return True
        if git is None:
            return rules.ignored(rel, is_dir)
        if (rel + "/" if is_dir else rel) in git:
            return True
        # Below an ignored directory (that is not the declared top or above it).
        parts = rel.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i]) + "/"
            if prefix in git and not (top + "/").startswith(prefix):
                return True
        return False

    found: set[str] = set()
    for top in tops:
        top = top.strip("/")
        top = "" if top == "." else top
        path = root / top
        if top and path.is_symlink():
            passed.add(top)
            continue
        if path.is_file():
            found.add(top)
            continue
        if not path.is_dir():
            continue
        parents = top.split("/") if top else []
        if any(never.ignored("/".join(parents[: i + 1]), True) for i in range(len(parents))):
            continue  # .pyappignore leaves out a declared directory too, with all below it
        if git is None and top:
            # The rules of .gitignore files between the root and the top apply inside it.
            parts = top.split("/")
            for i in range(1, len(parts) + 1):
                rules.add_file(root, "/".join(parts[:i]))
        for dirpath, dirnames, filenames in os.walk(path):
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            prefix = "" if rel_dir == "." else rel_dir + "/"
            keep = []
            for d in sorted(dirnames):
                rel = prefix + d
                full = Path(dirpath, d)
                if (
                    d in IGNORED_DIRS
                    or (not prefix and d in IGNORED_ROOT_DIRS)
                    or d.endswith(".egg-info")
                    or full.resolve() in skipped
                    or (full / "pyvenv.cfg").exists()
                    or ignored(rel, True, top)
                ):
                    continue
                if full.is_symlink():
                    if not ignored(rel, False, top):  # git lists an ignored link as a file
                        passed.add(rel)
                    continue
                if git is None:
                    rules.add_file(root, rel)
                keep.append(d)
            dirnames[:] = keep
            for f in filenames:
                rel = prefix + f
                if f.endswith(IGNORED_SUFFIXES) or ignored(rel, False, top):
                    continue
                if Path(dirpath, f).is_symlink():
                    passed.add(rel)
                elif Path(dirpath, f).is_file():
                    found.add(rel)
    if links is not None:
        links += sorted(passed - set(links))
    return sorted(found)


def select_data(root: Path, patterns: Sequence[str], exclude: Iterable[Path] = ()) -> list[str]:
    """Every file of the checkout at *root* one of the ``data`` *patterns* names (spec section 3.17), sorted.

    They are found among the files no rule above leaves out, anywhere in the checkout.
    """
    if not patterns:
        return []
    compiled = [compile_glob(p) for p in patterns]
    return [rel for rel in select_files(root, ["."], exclude) if glob_matches(compiled, rel)]
