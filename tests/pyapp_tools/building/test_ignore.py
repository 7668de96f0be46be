"""Which project files a build takes: ignore rules, with and without git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pyapp_tools.building._ignore import IgnoreRules, select_data, select_files


def rules(text: str) -> IgnoreRules:
    return IgnoreRules(IgnoreRules.parse(text))


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "ignored"),
    [
        ("*.log", "app/debug.log", False, True),
        ("*.log", "app/debug.txt", False, False),
        ("secret.txt", "src/app/secret.txt", False, True),
        ("/secret.txt", "src/app/secret.txt", False, False),
        ("/secret.txt", "secret.txt", False, True),
        ("cache/", "src/cache", True, True),
        ("cache/", "src/cache", False, False),
        ("src/gen", "src/gen", True, True),
        ("src/gen", "other/src/gen", True, False),
        ("**/fixtures", "src/a/b/fixtures", True, True),
        ("docs/**", "docs/a/b.txt", False, True),
        ("a/**/z", "a/b/c/z", False, True),
        ("a/**/z", "a/z", False, True),
        ("file?.txt", "src/file1.txt", False, True),
        ("file?.txt", "src/file10.txt", False, False),
        ("[ab].py", "src/a.py", False, True),
        ("[!ab].py", "src/a.py", False, False),
        ("\\#hash", "src/#hash", False, True),
        ("# comment", "src/# comment", False, False),
    ],
)
def test_gitignore_patterns(pattern: str, path: str, is_dir: bool, ignored: bool) -> None:
    assert rules(pattern).ignored(path, is_dir) is ignored


def test_negation_re_includes_and_the_last_rule_wins() -> None:
    r = rules("*.txt\n!keep.txt\n")
    assert r.ignored("src/drop.txt", False)
    assert not r.ignored("src/keep.txt", False)
    assert rules("!keep.txt\n*.txt\n").ignored("src/keep.txt", False)


def make_tree(root: Path) -> None:
    files = {
        "src/app/__init__.py": "",
        "src/app/views.py": "",
        "src/app/notes.log": "",
        "src/app/__pycache__/views.cpython-311.pyc": "",
        "src/app/stale.pyc": "",
        "src/app/local/settings.py": "",
        "src/app/keep.log": "",
        "src/app/sub/.gitignore": "*.tmp\n",
        "src/app/sub/data.tmp": "",
        "src/app/sub/data.txt": "",
        "src/.venv/pyvenv.cfg": "",
        "src/env/pyvenv.cfg": "",
        "src/env/lib/x.py": "",
        "src/.git/config": "",
        "src/pkg.egg-info/PKG-INFO": "",
        ".gitignore": "*.log\n!keep.log\nlocal/\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


EXPECTED = [
    "src/app/__init__.py",
    "src/app/keep.log",
    "src/app/sub/.gitignore",
    "src/app/sub/data.txt",
    "src/app/views.py",
]


def test_select_files_reads_gitignore_files(tmp_path: Path) -> None:
    make_tree(tmp_path)
    assert select_files(tmp_path, ["src"]) == EXPECTED


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_select_files_asks_git_in_a_work_tree(tmp_path: Path) -> None:
    make_tree(tmp_path)
    (tmp_path / "src/app/only-git-knows.txt").write_text("")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".git/info/exclude").write_text("only-git-knows.txt\n")
    assert select_files(tmp_path, ["src"]) == EXPECTED


def test_a_declared_directory_is_taken_even_when_ignored(tmp_path: Path) -> None:
    (tmp_path / "assets/built").mkdir(parents=True)
    (tmp_path / "assets/built/app.js").write_text("")
    (tmp_path / ".gitignore").write_text("built/\n")
    assert select_files(tmp_path, ["assets/built", "missing"]) == ["assets/built/app.js"]


# -- .pyappignore and data (spec section 3.17) --------------------------------------------------------

PYAPPIGNORE_TREE = {
    ".pyappignore": "# never in a package\n\n*.bak\nsecrets/\n/src/app/local.cfg\n"
    "fixtures/**\n!fixtures/keep.json\n",
    "src/app/__init__.py": "",
    "src/app/views.py.bak": "",
    "src/app/local.cfg": "",
    "src/app/sub/local.cfg": "",
    "src/app/secrets/key.pem": "",
    "static/style.css": "",
    "static/style.css.bak": "",
    "templates/page.html": "",
    "templates/page.html.bak": "",
    "fixtures/big.json": "",
    "fixtures/keep.json": "",
}


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize("git", [False, True], ids=["plain", "git work tree"])
def test_pyappignore_leaves_files_out_of_the_paths_the_static_dirs_and_data(
    tmp_path: Path, git: bool
) -> None:
    if git:
        if shutil.which("git") is None:
            pytest.skip("git is not installed")
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write_tree(tmp_path, PYAPPIGNORE_TREE)
    assert select_files(tmp_path, ["src", "static"]) == [
        "src/app/__init__.py",
        "src/app/sub/local.cfg",  # /src/app/local.cfg is anchored to the root: only that one file
        "static/style.css",
    ]
    assert select_data(tmp_path, ["templates", "fixtures/*.json"]) == [
        "fixtures/keep.json",  # '!' includes again what an earlier line left out
        "templates/page.html",
    ]


def test_a_file_the_description_names_is_taken_whatever_pyappignore_says(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {".pyappignore": "*.yaml\n*.txt\n", "configuration.yaml": "", "requirements.txt": ""}
    )
    assert select_files(tmp_path, ["configuration.yaml", "requirements.txt"]) == [
        "configuration.yaml",
        "requirements.txt",
    ]


def test_data_is_found_among_what_version_control_keeps(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitignore": "*.mo\n",
            "translations/de/app.po": "",
            "translations/de/app.mo": "",
            "dist/old/translations/x.po": "",
            "src/app/__pycache__/x.pyc": "",
        },
    )
    assert select_data(tmp_path, ["translations/**", "**/*.pyc", "dist"]) == ["translations/de/app.po"]
    assert select_data(tmp_path, []) == []


def test_pyappignore_leaves_out_a_declared_directory_and_everything_below_it(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {".pyappignore": "drafts/\n", "web/drafts/a.css": "", "web/b.css": "", "src/x.py": ""}
    )
    assert select_files(tmp_path, ["web/drafts", "web", "src"]) == ["src/x.py", "web/b.css"]
