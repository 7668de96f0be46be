"""``pyapp`` init, validate, inspect, verify and command; help and shell completion."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from pyapp_tools.building.builder import BuildOptions, build
from pyapp_tools.building.cli import main as build_main
from pyapp_tools.cli import main

INVALID_METADATA = """\
pyapp: "1.0"
name: broken
version: "one"
wsgi:
  app: "no reference"
commands:
  go: {call: "x:y", color: red}
"""


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return CliRunner()


@pytest.fixture
def hello_pyapp(repo_root: Path, tmp_path: Path) -> Path:
    return build(repo_root / "examples/hello", BuildOptions(out_dir=tmp_path / "dist")).path


def test_validate_a_valid_checkout_and_package(runner: CliRunner, repo_root: Path, hello_pyapp: Path) -> None:
    for path in (repo_root / "examples/hello", hello_pyapp):
        result = runner.invoke(main, ["validate", str(path)])
        assert result.exit_code == 0, result.output
        assert "valid (hello 1.0.0)" in result.output


def test_validate_lists_every_problem(runner: CliRunner, write_project: Callable[..., Path]) -> None:
    root = write_project({"metadata.yaml": INVALID_METADATA})
    result = runner.invoke(main, ["validate", str(root)])
    assert result.exit_code == 1
    assert "metadata.yaml:/wsgi/app" in result.output
    assert "metadata.yaml:/commands/go" in result.output
    data = json.loads(runner.invoke(main, ["validate", str(root), "--json"]).stdout)
    assert data["valid"] is False
    assert {p["path"] for p in data["problems"]} >= {"/wsgi/app", "/commands/go/color"}


def test_validate_prints_warnings_of_a_newer_minor_version(
    runner: CliRunner, write_project: Callable[..., Path]
) -> None:
    root = write_project(
        {"metadata.yaml": 'pyapp: "1.7"\nname: n\nversion: "1"\nfuture: 1\n', "src/x.py": ""}
    )
    result = runner.invoke(main, ["validate", str(root)])
    assert result.exit_code == 0, result.output
    assert "warning: metadata.yaml:/future" in result.output


def test_validate_prints_warnings_of_a_newer_configuration_spec(
    cli, runner: CliRunner, write_project: Callable[..., Path]
) -> None:
    root = write_project(
        {
            "metadata.yaml": 'pyapp: "1.0"\nname: n\nversion: "1"\n',
            "configuration.yaml": 'pyapp: "1.2"\nfields:\n  port: {type: port, placeholder: "8080"}\n',
            "src/x.py": "",
        }
    )
    warning = "warning: configuration.yaml:/fields/port/placeholder: unknown key 'placeholder' ignored"
    result = cli("pyapp", "validate", root)
    assert result.returncode == 0, result.stderr
    assert "valid (n 1)" in result.stdout
    assert warning in result.stderr.splitlines()
    data = json.loads(cli("pyapp", "validate", root, "--json").stdout)
    assert data["valid"] is True
    assert data["warnings"] == [
        {
            "file": "configuration.yaml",
            "path": "/fields/port/placeholder",
            "message": "unknown key 'placeholder' ignored",
        }
    ]
    inspected = runner.invoke(main, ["inspect", str(root)])
    assert inspected.exit_code == 0, inspected.output
    assert warning in inspected.output


def test_inspect_json(runner: CliRunner, repo_root: Path) -> None:
    result = runner.invoke(main, ["inspect", str(repo_root / "examples/hello"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["name"], data["version"]) == ("hello", "1.0.0")
    assert data["wsgi"] == {"app": "hello.app:application", "factory": False}
    assert data["commands"][0]["name"] == "greet"
    assert [f["name"] for f in data["config"]["fields"]] == ["greeting"]
    python = next(r for r in data["requirements"] if r["kind"] == "python")
    assert (python["requirement"], python["satisfied"]) == (">=3.10", "yes")


def test_inspect_shows_the_keys_of_spec_1_1_and_the_signer(
    runner: CliRunner, write_project: Callable[..., Path], tmp_path: Path
) -> None:
    from signkit import make_key

    root = write_project(
        {
            "metadata.yaml": (
                'pyapp: "1.1"\nname: live\nversion: "2.0.0"\nasgi:\n  app: live.app:make\n  factory: true\n'
                "data: [templates/**]\ndata_version: 3\n"
                "updates:\n  strategy: latest-tag\n  tag_pattern: release-*\n  start: after-stop\n"
            ),
            "src/live/__init__.py": "",
            "src/live/app.py": "def make(config):\n    return None\n",
            "templates/page.html": "<p>hi</p>\n",
        }
    )
    key, fingerprint = make_key(tmp_path / "keys")
    built = runner.invoke(build_main, [str(root), "-o", str(tmp_path / "dist"), "--sign", str(key)])
    assert built.exit_code == 0, built.output
    package = next((tmp_path / "dist").glob("*.pyapp"))

    shown = runner.invoke(main, ["inspect", str(package)])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert "  asgi: live.app:make (factory)" in lines
    assert not any(line.startswith("  wsgi:") for line in lines), "an ASGI app shows no empty wsgi line"
    assert f"  signed by: {fingerprint}" in lines
    assert "  updates: latest-tag (release-*); a new release starts after-stop; data_version 3" in lines
    assert "  data files: templates/**" in lines

    data = json.loads(runner.invoke(main, ["inspect", str(root), "--json"]).stdout)
    assert data["asgi"] == {"app": "live.app:make", "factory": True} and data["wsgi"] is None
    assert data["updates"] == {
        "strategy": "latest-tag", "branch": "main", "tag_pattern": "release-*", "prereleases": False,
        "start": "after-stop",
    }  # fmt: skip
    assert (data["data"], data["data_version"], data["signer"]) == (["templates/**"], 3, None)


def test_inspect_checks_host_requirements(runner: CliRunner, write_project: Callable[..., Path]) -> None:
    root = write_project(
        {
            "metadata.yaml": 'pyapp: "1.0"\nname: needs\nversion: "1"\nrequires:\n'
            '  python: "<3"\n  os: [plan9]\n  rpm: [x]\n'
            "  external: [sh, a postgresql server]\n",
            "src/x.py": "",
        }
    )
    data = json.loads(runner.invoke(main, ["inspect", str(root), "--json"]).stdout)
    got = {(r["kind"], r["requirement"]): r["satisfied"] for r in data["requirements"]}
    assert got[("python", "<3")] == "no"
    assert got[("os", "plan9")] == "no"
    # rpm cannot tell on a Debian system (its database is empty there), nor where it is missing.
    rpm_answers = shutil.which("rpm") is not None and shutil.which("dpkg-query") is None
    assert got[("rpm", "x")] == ("no" if rpm_answers else "unknown")
    assert got[("external", "sh")] == "yes"
    assert got[("external", "a postgresql server")] == "no"
    text = runner.invoke(main, ["inspect", str(root)]).output
    assert "python <3: no" in text


def test_inspect_asks_dpkg_about_debian_packages(
    runner: CliRunner, write_project: Callable[..., Path]
) -> None:
    if shutil.which("dpkg-query") is None:
        pytest.skip("no dpkg-query on PATH (not a Debian system): deb requirements cannot be checked here")
    # dpkg-query belongs to the package dpkg, so dpkg is installed wherever it runs.
    root = write_project(
        {
            "metadata.yaml": 'pyapp: "1.0"\nname: needs\nversion: "1"\n'
            "requires:\n  deb: [dpkg, surely-not-a-package-name]\n",
            "src/x.py": "",
        }
    )
    data = json.loads(runner.invoke(main, ["inspect", str(root), "--json"]).stdout)
    got = {r["requirement"]: r["satisfied"] for r in data["requirements"] if r["kind"] == "deb"}
    assert got == {"dpkg": "yes", "surely-not-a-package-name": "no"}
    text = runner.invoke(main, ["inspect", str(root)]).output
    assert "deb dpkg: yes (installed)" in text
    assert "deb surely-not-a-package-name: no (not installed)" in text


def test_verify_passes_then_names_the_changed_file(hello_pyapp: Path, tmp_path: Path, cli) -> None:
    ok = cli("pyapp", "verify", hello_pyapp)
    assert ok.returncode == 0, ok.stderr
    assert "all 7 files match RECORD" in ok.stdout
    tampered = tmp_path / "tampered.pyapp"
    with zipfile.ZipFile(hello_pyapp) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "src/hello/app.py":
                data = data.replace(b"Visit number", b"Visit Number", 1)
            dst.writestr(info, data)
    bad = cli("pyapp", "verify", tampered)
    assert bad.returncode == 1
    assert "src/hello/app.py: sha256 does not match RECORD" in bad.stderr
    assert "metadata.yaml" not in bad.stderr


def test_verify_a_checkout_without_record(runner: CliRunner, repo_root: Path) -> None:
    result = runner.invoke(main, ["verify", str(repo_root / "examples/hello")])
    assert result.exit_code == 1
    assert "RECORD" in result.output


def test_command_exit_codes_and_output(repo_root: Path, hello_pyapp: Path, cli, tmp_path: Path) -> None:
    hello = repo_root / "examples/hello"
    ok = cli("pyapp", "command", hello, "greet", "Ada", "Grace")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "Hello, Ada!\nHello, Grace!\n"
    usage = cli("pyapp", "command", hello_pyapp, "greet")
    assert usage.returncode == 2
    assert "usage: greet NAME" in usage.stdout
    changed = cli("pyapp", "command", "--set", "greeting=Howdy", hello_pyapp, "greet", "--help")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout == "Howdy, --help!\n"
    unknown = cli("pyapp", "command", hello, "nope")
    assert unknown.returncode == 1
    assert "no command 'nope'" in unknown.stderr and "greet" in unknown.stderr


def test_command_reads_the_terminals_stdin(write_project: Callable[..., Path], cli) -> None:
    root = write_project(
        {
            "metadata.yaml": 'pyapp: "1.0"\nname: echo\nversion: "1"\ncommands:\n  upper: echo:upper\n',
            "src/echo.py": "import sys\n\ndef upper(argv):\n    sys.stdout.write(sys.stdin.read().upper())\n"
            "    return 7\n",
        }
    )
    proc = cli("pyapp", "command", root, "upper", input="quiet words\n")
    assert (proc.returncode, proc.stdout) == (7, "QUIET WORDS\n")


def test_invalid_set_is_refused_with_the_field_name(repo_root: Path, cli) -> None:
    proc = cli("pyapp", "command", "--set", "greeting=<script>", repo_root / "examples/hello", "greet", "x")
    assert proc.returncode == 1
    assert "--set:/greeting: does not match the pattern" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = cli("pyapp", "command", "--set", "colour=red", repo_root / "examples/hello", "greet", "x")
    assert proc.returncode == 1
    assert "--set:/colour: unknown setting" in proc.stderr


@pytest.mark.slow
def test_init_output_validates_passes_its_tests_builds_and_runs(
    tmp_path: Path, cli, serve_app: Callable[..., object]
) -> None:
    app = tmp_path / "My App"
    created = cli("pyapp", "init", app, check=True)
    assert "metadata.yaml" in created.stdout
    assert cli("pyapp", "init", app).returncode == 1  # never overwrites
    assert cli("pyapp", "validate", app, check=True).returncode == 0
    # The README's own command for the tests, as it says it, needing nothing but Python: run without
    # the site module (-S), no installed package can be imported (pytest, say).
    told = [line.split("#")[0].split() for line in (app / "README.md").read_text().splitlines()]
    command = next(words for words in told if "tests" in words)
    assert command[0] == "python"
    tests = subprocess.run(
        [sys.executable, "-S", *command[1:]], cwd=app, capture_output=True, text=True, check=False
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "Ran 4 tests" in tests.stderr and "OK" in tests.stderr
    built = json.loads(cli("pyapp-build", app, "--json", check=True).stdout)
    assert built["path"] == str(app / "dist" / "my-app-0.1.0.pyapp")
    with zipfile.ZipFile(built["path"]) as zf:
        assert "src/my_app/app.py" in zf.namelist()
        assert not [n for n in zf.namelist() if n.startswith(("tests/", "README"))]
    for target in (app, built["path"]):
        with serve_app(target, "--set", "greeting=Bonjour") as server:
            status, body = server.get("/")
            assert status == 200 and "Bonjour from my-app 0.1.0" in body
            assert server.get("/health") == (200, "ok")
    hello = cli("pyapp", "command", app, "hello", "World")
    assert (hello.returncode, hello.stdout) == (0, "Hello, World!\n")


def test_every_command_has_help_with_an_example(runner: CliRunner) -> None:

    assert isinstance(main, click.Group)
    names = ["init", "validate", "inspect", "verify", "run", "command"]
    assert set(names) <= set(main.list_commands(click.Context(main)))
    for name in names:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.output and f"pyapp {name} " in result.output
    result = runner.invoke(build_main, ["--help"])
    assert "Examples:" in result.output and "pyapp-build examples/hello" in result.output


def test_shell_completion(cli, cli_env: dict[str, str], repo_root: Path) -> None:
    env = dict(cli_env, _PYAPP_COMPLETE="bash_complete", COMP_WORDS="pyapp in", COMP_CWORD="1")
    proc = cli("pyapp", env=env)
    assert proc.returncode == 0
    assert {"plain,init", "plain,inspect"} <= set(proc.stdout.split())
    words = f"pyapp command {repo_root / 'examples/hello'} g"
    env.update(COMP_WORDS=words, COMP_CWORD="3")
    assert "plain,greet" in cli("pyapp", env=env).stdout.split()
