"""The description model and its checks (spec section 3)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from apppackage import AppPackage, InvalidDescription
from apppackage.checks import branch_problem, check_description, cron_problem
from apppackage.description import (
    DEFAULT_HOOK_TIMEOUT,
    Asgi,
    Command,
    Dependencies,
    Description,
    Health,
    Hook,
    Process,
    Requires,
    Service,
    StaticDir,
    Task,
    Updates,
)
from apppackage.safeyaml import dump_yaml, load_yaml
from apppackage.schema import load_schema

MINIMAL = {"pyapp": "1.0", "name": "mini", "version": "0.1"}
KEYS = load_schema("metadata")["properties"]
# Description.to_dict() of the spec's example, of every example and of a few edge cases, as
# the implementation before the from_dict/to_dict rewrite (commit 03518bc) wrote them. A build
# writes metadata.yaml from to_dict(): the same description must keep giving the same bytes.
# Add cases by hand; never regenerate the expected values from the current code. (The keys of
# version 1.1 in the spec's examples were added by hand, in the order Description declares them.)
TO_DICT_CASES = json.loads((Path(__file__).parent / "data" / "description_to_dict.json").read_text("utf-8"))


def where(problems: list[Any]) -> dict[str, str]:
    """Problems as {pointer: message}."""
    return {p.path: p.message for p in problems}


def test_minimal_description_takes_the_defaults() -> None:
    d = Description.from_dict(MINIMAL)
    assert (d.name, d.version, d.pyapp) == ("mini", "0.1", "1.0")
    assert d.paths == ("src",)
    assert d.dependencies.shared == ("*",)
    assert d.config is None and d.config_file == "configuration.yaml"
    assert d.wsgi is None
    assert (d.health.path, d.health.timeout, d.health.start) == ("/", 5.0, 30.0)
    assert d.to_dict() == MINIMAL


def test_the_demo_description_is_read_into_the_model(demo_metadata: dict[str, Any]) -> None:
    d = Description.from_dict(demo_metadata)
    assert d.wsgi is not None and d.wsgi.app == "demo.web:application" and not d.wsgi.factory
    assert d.services == (
        Service(name="db", type="postgresql", variable="PYAPP_SERVICE_DB", summary="The main database"),
        Service(name="cache", type="redis", variable="CACHE_URL", required=False),
    )
    assert d.static == (StaticDir(url="/static", dir="static"),)
    assert d.command("exit-code") == Command(
        name="exit-code", call="demo.commands:exit_code", help="Exit with the code given."
    )
    assert d.command("echo") == Command(name="echo", call="demo.commands:echo")
    assert d.command("nope") is None
    assert d.process("worker") == Process(
        name="worker", call="demo.worker:main", args=("--port", "{port}"), port=True
    )
    assert d.hook("install") == Hook(name="install", call="demo.hooks:behave", timeout=DEFAULT_HOOK_TIMEOUT)
    assert d.hook("pre-update") == Hook(name="pre-update", call="demo.hooks:behave", timeout=30.0)
    assert d.hook("backup") is None
    assert d.task("job") == Task(name="job", call="demo.hooks:behave", every=60)
    assert d.task("nightly") == Task(name="nightly", call="demo.hooks:behave", cron="0 3 * * mon-fri")
    assert d.extensions == {"x-demo": {"kept": True}}
    assert d.dependencies.is_shared("Some_Dist")


def test_to_dict_and_from_dict_round_trip(demo_metadata: dict[str, Any]) -> None:
    demo_metadata["dependencies"] = {
        "packages": ["waitress>=3", "PyYAML"],
        "requirements": "deps/requirements.txt",
        "shared": ["waitress"],
        "local": ["pyyaml"],
    }
    demo_metadata["requires"] = {"python": ">=3.10", "deb": ["libpq5"], "external": ["postgresql"]}
    demo_metadata["paths"] = ["src", "lib"]
    demo_metadata["wsgi"] = {"app": "demo.factory:make", "factory": True}
    demo_metadata["config"] = "settings/spec.yaml"
    demo_metadata["health"] = {"path": "/health", "timeout": 2.5, "start": 60}
    demo_metadata["authors"] = ["A. Author <a@example.org>"]
    demo_metadata["homepage"] = "https://example.org/demo"
    demo_metadata["processes"]["beat"] = {"command": "echo", "count": 2}
    demo_metadata["tasks"]["job"]["timeout"] = 10
    d = Description.from_dict(demo_metadata)
    stored = d.to_dict()
    assert Description.from_dict(stored) == d
    # Through YAML text as well, as a builder writes it.
    assert Description.from_dict(load_yaml(dump_yaml(stored), "metadata.yaml")) == d
    assert stored["dependencies"]["local"] == ["pyyaml"]
    assert not d.dependencies.is_shared("PyYAML") and d.dependencies.is_shared("waitress")
    assert not d.dependencies.is_shared("jinja2")
    assert stored["x-demo"] == {"kept": True}


def test_the_cases_cover_the_spec_example_and_every_example(repo_root: Path) -> None:
    examples = {p.relative_to(repo_root).as_posix() for p in repo_root.glob("examples/*/metadata.yaml")}
    examples |= {p.relative_to(repo_root).as_posix() for p in repo_root.glob("spec/examples/metadata*.yaml")}
    covered = {case["file"] for case in TO_DICT_CASES if "file" in case}
    assert covered == {"spec/examples/metadata.yaml", *examples}


@pytest.mark.parametrize(
    "case", TO_DICT_CASES, ids=[case.get("file") or case["description"] for case in TO_DICT_CASES]
)
def test_to_dict_writes_what_it_always_wrote(case: dict[str, Any], repo_root: Path) -> None:
    if "file" in case:
        raw = load_yaml((repo_root / case["file"]).read_bytes(), "metadata.yaml")
    else:
        raw = case["raw"]
    stored = Description.from_dict(raw).to_dict()
    assert stored == case["to_dict"]
    # As YAML text too: key order and 2 against 2.0 change the bytes of a built package.
    assert dump_yaml(stored) == dump_yaml(case["to_dict"])


def test_each_part_reads_and_writes_its_own_stored_shape() -> None:
    assert Requires.from_dict({"os": ["linux"]}) == Requires(os=("linux",))
    assert Requires(python="").to_dict() == {}, "the empty specifier allows every version, as none does"
    # ... and is read as none, so that a description equals itself written out and read back
    # (found by test_properties_description).
    assert Requires.from_dict({"python": "", "os": ["linux"]}) == Requires(os=("linux",))
    d = Description.from_dict({**MINIMAL, "requires": {"python": ""}})
    assert d == Description.from_dict(MINIMAL) == Description.from_dict(d.to_dict())
    assert Dependencies.from_dict({}) == Dependencies() and Dependencies().to_dict() == {}
    assert Dependencies(shared=()).to_dict() == {"shared": []}
    assert Health.from_dict({"timeout": 2}) == Health(timeout=2.0)
    assert Health(start=30).to_dict() == {}
    assert Service.from_dict("cache_2", {"type": "redis"}).variable == "PYAPP_SERVICE_CACHE_2"
    assert Service(name="db", type="redis", variable="PYAPP_SERVICE_DB").to_dict() == {"type": "redis"}
    assert Service(name="db", type="redis", variable="DB").to_dict() == {"type": "redis", "variable": "DB"}
    assert Command.from_dict("c", "a:b") == Command.from_dict("c", {"call": "a:b", "help": ""})
    assert Command(name="c", call="a:b").to_dict() == "a:b"
    assert Command(name="c", call="a:b", help="H").to_dict() == {"call": "a:b", "help": "H"}
    assert Hook.from_dict("install", {"call": "a:b", "timeout": 300}).to_dict() == "a:b"
    assert Hook(name="backup", call="a:b", timeout=60).to_dict() == {"call": "a:b", "timeout": 60}
    assert Process.from_dict("p", {"command": "c", "count": 1}).to_dict() == {"command": "c"}
    assert Task.from_dict("t", {"call": "a:b", "every": 5, "timeout": 9}).timeout == 9.0
    assert StaticDir.from_dict("/s", "static").to_dict() == "static"


def test_an_invalid_description_reports_every_error_with_its_path() -> None:
    raw = {
        "pyapp": "1.0",
        "name": "Not A Name",
        "version": 3,
        "wsgi": {"app": "no-colon-here"},
        "paths": ["/abs", "../up"],
        "writable": ["ok", "Bad-Name"],
        "hooks": {"install": {"call": "a.b:c", "timeout": -1}, "reinstall": "a:b"},
        "tasks": {"t": {"call": "a:b"}},
        "processes": {"p": {"call": "a:b", "command": "c"}},
        "health": {"path": "health"},
    }
    problems, warnings, _ = check_description(raw, "metadata.yaml")
    assert warnings == []
    found = where(problems)
    assert set(found) >= {
        "/name",
        "/version",
        "/wsgi/app",
        "/paths/0",
        "/paths/1",
        "/writable/1",
        "/hooks/install/timeout",
        "/hooks/reinstall",
        "/tasks/t",
        "/processes/p",
        "/health/path",
    }
    assert "write it in quotes" in found["/version"]
    assert "module:attribute" in found["/wsgi/app"]
    assert "relative path" in found["/paths/0"] and "relative path" in found["/paths/1"]
    assert found["/hooks/reinstall"].startswith("unknown key 'reinstall'")
    assert found["/tasks/t"] == "one of every, cron is required"
    assert found["/processes/p"] == "give only one of call, command, not both"
    assert all(p.file == "metadata.yaml" for p in problems)
    with pytest.raises(InvalidDescription) as info:
        Description.from_dict(raw)
    assert len(info.value.problems) == len(problems)
    assert "metadata.yaml:/wsgi/app" in str(info.value)


def test_every_unknown_key_is_reported_not_only_the_first() -> None:
    problems, _, _ = check_description({**MINIMAL, "colour": "red", "size": 3, "requires": {"pyton": "3"}})
    assert sorted(where(problems)) == ["/colour", "/requires/pyton", "/size"]


def test_a_missing_required_key_is_named() -> None:
    problems, _, _ = check_description({"pyapp": "1.0", "name": "x"})
    assert where(problems) == {"/version": "is required but missing"}


def test_not_a_mapping() -> None:
    problems, _, _ = check_description(["a", "list"])
    assert where(problems) == {"": "must be a mapping of keys to values"}


def test_schema_and_semantic_errors_are_reported_together() -> None:
    raw = {**MINIMAL, "version": "one.two", "wsgi": {"app": "bad"}, "requires": {"python": "3.10+"}}
    assert set(where(check_description(raw)[0])) == {"/version", "/wsgi/app", "/requires/python"}


def test_a_problem_in_a_mapping_form_is_reported_at_the_exact_key() -> None:
    raw = {**MINIMAL, "commands": {"c": {"call": "nope"}}, "hooks": {"install": {"call": "a:b", "x": 1}}}
    found = where(check_description(raw)[0])
    assert "module:attribute" in found["/commands/c/call"]
    assert found["/hooks/install/x"].startswith("unknown key 'x'")


# -- spec versions (section 3.1) -------------------------------------------------


def test_unknown_key_is_an_error_in_1_0() -> None:
    problems, warnings, _ = check_description({**MINIMAL, "newthing": 1})
    assert [p.path for p in problems] == ["/newthing"] and warnings == []


def test_unknown_keys_of_a_newer_minor_version_are_ignored_with_a_warning() -> None:
    raw = {
        **MINIMAL,
        "pyapp": "1.2",
        "newthing": 1,
        "other": {"a": 1},
        "wsgi": {"app": "a:b", "threads": 8},
        "hooks": {"install": {"call": "a:b", "retries": 2}},
    }
    problems, warnings, clean = check_description(raw)
    assert problems == []
    assert where(warnings) == {
        "/newthing": "unknown key 'newthing' ignored",
        "/other": "unknown key 'other' ignored",
        "/wsgi/threads": "unknown key 'threads' ignored",
        "/hooks/install/retries": "unknown key 'retries' ignored",
    }
    assert clean["wsgi"] == {"app": "a:b"} and clean["hooks"] == {"install": {"call": "a:b"}}
    d = Description.from_dict(raw)
    assert d.pyapp == "1.2" and d.wsgi is not None and d.wsgi.app == "a:b"
    assert d.hook("install") == Hook(name="install", call="a:b")
    assert raw["newthing"] == 1, "the caller's document is not changed"


def test_a_newer_minor_version_still_reports_real_errors() -> None:
    problems, warnings, _ = check_description({**MINIMAL, "pyapp": "1.7", "x": 1, "wsgi": {}})
    assert where(problems) == {"/wsgi/app": "is required but missing"}
    assert [w.path for w in warnings] == ["/x"]


@pytest.mark.parametrize("version", ["2.0", "0.9", "10.1"])
def test_another_major_version_is_refused(version: str) -> None:
    problems, _, _ = check_description({**MINIMAL, "pyapp": version, "unknown": 1})
    assert len(problems) == 1
    assert problems[0].path == "/pyapp"
    assert f"specification version {version} is not supported" in problems[0].message


@pytest.mark.parametrize("version", ["1", "v1.0", 1.0, ""])
def test_a_malformed_spec_version_is_an_error(version: Any) -> None:
    problems, _, _ = check_description({**MINIMAL, "pyapp": version})
    assert [p.path for p in problems] == ["/pyapp"]


def test_extension_keys_are_kept() -> None:
    d = Description.from_dict({**MINIMAL, "x-vendor": {"tier": "gold"}, "x-list": [1, 2]})
    assert d.extensions == {"x-vendor": {"tier": "gold"}, "x-list": [1, 2]}
    assert d.to_dict()["x-vendor"] == {"tier": "gold"}


def test_an_extension_value_may_have_keys_that_are_not_strings() -> None:
    # Found by test_properties_description: any YAML value of section 2.4 is an extension's (section 3.1).
    raw = load_yaml('pyapp: "1.0"\nname: x\nversion: "1"\nx-ports:\n  80: web\n  on: [1]\n', "metadata.yaml")
    d = Description.from_dict(raw)
    assert d.extensions == {"x-ports": {80: "web", True: [1]}}
    assert Description.from_dict(load_yaml(dump_yaml(d.to_dict()), "metadata.yaml")) == d
    # Elsewhere, such a key is still an error.
    raw = {**MINIMAL, "x-ok": {1: "a"}, "commands": {1: "a:b"}}
    assert list(where(check_description(raw)[0])) == ["/commands/1"]


def test_a_newer_minor_version_with_an_unknown_key_under_a_key_that_is_not_a_string() -> None:
    # Found by test_properties_description: ignoring /processes/None/extra raised KeyError: 'None'.
    raw = {**MINIMAL, "pyapp": "1.7", "processes": {None: {"call": "a:b", "extra": 1}}}
    problems, warnings, _ = check_description(raw)
    assert where(warnings) == {"/processes/None/extra": "unknown key 'extra' ignored"}
    assert "/processes/None" in where(problems)
    with pytest.raises(InvalidDescription, match="a key must be a string, not nothing"):
        Description.from_dict(raw)


def test_the_package_reports_warnings_of_a_newer_minor_version(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["pyapp"] = "1.2"
    demo_metadata["future"] = True
    pkg = AppPackage(package_factory(tmp_path / "p", demo_metadata))
    assert [str(w) for w in pkg.warnings] == ["metadata.yaml:/future: unknown key 'future' ignored"]
    assert pkg.validate() == []
    assert "future" not in pkg.description.to_dict()


# -- semantic checks ------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "2.1.0rc1", "1!2.0.post3.dev4", "0.1+local.7"])
def test_pep_440_versions_are_accepted(version: str) -> None:
    assert check_description({**MINIMAL, "version": version})[0] == []


@pytest.mark.parametrize("version", ["one", "1.0-beta-x", "1..0", "latest"])
def test_a_version_must_follow_pep_440(version: str) -> None:
    problems = check_description({**MINIMAL, "version": version})[0]
    assert where(problems) == {"/version": f"{version!r} is not a PEP 440 version (e.g. 1.0.2)"}


def test_requires_python_is_a_pep_440_specifier() -> None:
    assert check_description({**MINIMAL, "requires": {"python": ">=3.10,<4"}})[0] == []
    problems = check_description({**MINIMAL, "requires": {"python": "python3"}})[0]
    assert list(where(problems)) == ["/requires/python"]
    assert "PEP 440 version specifier" in problems[0].message


def test_packages_are_pep_508_requirements() -> None:
    good = [
        "waitress>=3",
        "PyYAML[libyaml]==6.0; python_version >= '3.10'",
        "pkg @ https://example.org/p.whl",
    ]
    assert check_description({**MINIMAL, "dependencies": {"packages": good}})[0] == []
    problems = check_description({**MINIMAL, "dependencies": {"packages": ["ok", "bad name ==", "x>=>1"]}})[0]
    assert sorted(where(problems)) == ["/dependencies/packages/1", "/dependencies/packages/2"]
    assert all("PEP 508" in p.message for p in problems)


def test_a_process_command_must_exist() -> None:
    raw = {**MINIMAL, "commands": {"serve": "a:b"}, "processes": {"one": {"command": "serve"}}}
    assert check_description(raw)[0] == []
    raw["processes"]["two"] = {"command": "nosuch"}
    assert where(check_description(raw)[0]) == {
        "/processes/two/command": "names the command 'nosuch', which is not under /commands"
    }


@pytest.mark.parametrize(
    "cron",
    ["* * * * *", "*/15 0-6,22 1 jan-mar MON-FRI", "0 0 31 12 7", "5,10,15 */2 * * sun", "1-59/7 * * * *"],
)
def test_valid_cron_expressions(cron: str) -> None:
    assert cron_problem(cron) is None
    raw = {**MINIMAL, "tasks": {"t": {"call": "a:b", "cron": cron}}}
    assert check_description(raw)[0] == []


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("60 * * * *", "minute field '60': '60' is not in 0-59"),
        ("* 24 * * *", "hour field '24': '24' is not in 0-23"),
        ("* * 0 * *", "day of month field '0': '0' is not in 1-31"),
        ("* * * 13 *", "month field '13': '13' is not in 1-12"),
        ("* * * * 8", "day of week field '8': '8' is not in 0-7"),
        ("* * * foo *", "month field 'foo': 'foo' is not in 1-12"),
        ("*/0 * * * *", "minute field '*/0': step '0' must be a positive number"),
        ("30-10 * * * *", "minute field '30-10': range '30-10' runs backwards"),
        ("1-2-3 * * * *", "minute field '1-2-3': '1-2-3' is not a number or range"),
        ("* * * *", "a cron expression has 5 fields (minute hour day month weekday), not 4"),
    ],
)
def test_invalid_cron_expressions(cron: str, reason: str) -> None:
    assert cron_problem(cron) == reason


def test_a_bad_cron_field_is_reported_at_the_task() -> None:
    raw = {**MINIMAL, "tasks": {"nightly": {"call": "a:b", "cron": "0 25 * * *"}}}
    assert where(check_description(raw)[0]) == {"/tasks/nightly/cron": "hour field '25': '25' is not in 0-23"}


def test_service_variables_must_not_repeat() -> None:
    raw = {
        **MINIMAL,
        "services": {
            "db": {"type": "postgresql"},
            "other": {"type": "postgresql", "variable": "PYAPP_SERVICE_DB"},
            "a": {"type": "redis", "variable": "CACHE"},
            "b": {"type": "redis", "variable": "CACHE"},
        },
    }
    assert where(check_description(raw)[0]) == {
        "/services/other/variable": "variable PYAPP_SERVICE_DB is already used by service 'db'",
        "/services/b/variable": "variable CACHE is already used by service 'a'",
    }


def test_package_names_follow_the_pattern() -> None:
    for name in ("a", "my-app", "app.v2", "x_1"):
        assert check_description({**MINIMAL, "name": name})[0] == [], name
    for name in ("My-App", "-x", "", "a b", "x" * 65):
        assert [p.path for p in check_description({**MINIMAL, "name": name})[0]] == ["/name"], name


def test_keys_yaml_reads_as_booleans_or_numbers_are_reported_not_a_crash() -> None:
    raw = load_yaml('pyapp: "1.0"\nname: x\nversion: "1"\non: true\ncommands:\n  1: a:b\n', "metadata.yaml")
    problems = [str(p) for p in check_description(raw)[0]]
    assert problems == [
        "metadata.yaml:/True: a key must be a string, not a boolean: quote it "
        "(YAML reads yes, no, on and off as booleans)",
        f"metadata.yaml:/True: unknown key 'True' (expected one of: {', '.join(sorted(KEYS))})",
        "metadata.yaml:/commands/1: a key must be a string, not a number: quote it",
    ]
    raw = load_yaml('pyapp: "1.0"\nname: x\nversion: "1"\ncommands:\n  "1": a:b\n', "metadata.yaml")
    assert check_description(raw)[0] == []


@pytest.mark.parametrize(
    "variable", ["PYAPP_NAME", "TMPDIR", "SCRIPT_NAME", "PYAPP_PORT", "PYAPP_WRITABLE_UPLOADS", "PYTHONPATH"]
)
def test_a_service_must_not_take_a_variable_the_host_sets(variable: str) -> None:
    raw = {**MINIMAL, "services": {"db": {"type": "postgresql", "variable": variable}}}
    assert where(check_description(raw)[0]) == {
        "/services/db/variable": f"variable {variable} is set by the host for another purpose (section 5.3): "
        "choose another"
    }


def test_port_in_args_needs_a_port() -> None:
    raw = {
        **MINIMAL,
        "commands": {"serve": "a:b"},
        "processes": {
            "ok": {"call": "a:b", "args": ["--port={port}"], "port": True},
            "bad": {"command": "serve", "args": ["--bind", "127.0.0.1:{port}"]},
        },
    }
    assert where(check_description(raw)[0]) == {
        "/processes/bad/args/1": "uses {port}, but the process gets no port: add port: true"
    }


def test_static_url_paths_have_no_dot_segments() -> None:
    raw = {**MINIMAL, "static": {"/static": "s", "/a/../b": "s", "/./x/": "s", "/v1.2/.well-known": "s"}}
    assert sorted(where(check_description(raw)[0])) == ["/static/~1.~1x~1", "/static/~1a~1..~1b"]


# -- the keys version 1.1 adds (sections 3.16 to 3.19, 8.1) -------------------------------------

V11 = {**MINIMAL, "pyapp": "1.1"}


def test_the_keys_of_1_1_are_read_into_the_model_and_written_back() -> None:
    raw = {
        **V11,
        "asgi": {"app": "chat.app:make_app", "factory": True},
        "data": ["templates", "translations/**/*.mo"],
        "updates": {"strategy": "one-branch", "branch": "release/2.x", "start": "after-stop"},
        "data_version": 4,
    }
    d = Description.from_dict(raw)
    assert d.asgi == Asgi(app="chat.app:make_app", factory=True) and d.wsgi is None
    assert d.data == ("templates", "translations/**/*.mo")
    assert d.updates == Updates(strategy="one-branch", branch="release/2.x", start="after-stop")
    assert (d.updates.tag_pattern, d.updates.prereleases) == ("v*", False)
    assert d.data_version == 4
    assert d.to_dict() == raw
    assert Description.from_dict(load_yaml(dump_yaml(d.to_dict()), "metadata.yaml")) == d


def test_without_the_keys_of_1_1_a_description_takes_their_defaults_and_writes_none() -> None:
    for raw in (MINIMAL, V11):
        d = Description.from_dict(raw)
        assert (d.asgi, d.data, d.data_version) == (None, (), 0)
        assert d.updates == Updates(strategy="always-latest", branch="main", tag_pattern="v*", start="beside")
        assert d.to_dict() == raw
    # Values equal to their defaults are not written either.
    raw = {**V11, "updates": {"strategy": "always-latest", "start": "beside"}, "data_version": 0, "data": []}
    assert Description.from_dict(raw).to_dict() == V11


def test_a_1_0_document_that_uses_a_key_of_1_1_is_told_to_declare_1_1() -> None:
    raw = {**MINIMAL, "asgi": {"app": "not a reference"}, "data_version": 2, "wsgi": {"app": "a:b"}}
    problems, warnings, _ = check_description(raw)
    assert where(problems) == {
        "/asgi": "unknown key 'asgi' in a pyapp 1.0 document: it is new in 1.1 "
        '(declare pyapp: "1.1" to use it)',
        "/data_version": "unknown key 'data_version' in a pyapp 1.0 document: it is new in 1.1 "
        '(declare pyapp: "1.1" to use it)',
    }
    assert warnings == []
    with pytest.raises(InvalidDescription, match=r'metadata\.yaml:/asgi: .*declare pyapp: "1\.1"'):
        Description.from_dict(raw)


def test_a_reader_of_1_1_ignores_what_a_later_minor_version_adds_but_knows_the_keys_of_1_1() -> None:
    raw = {
        **V11,
        "pyapp": "1.3",
        "data": ["templates"],
        "updates": {"strategy": "latest-tag", "channel": "x"},
    }
    problems, warnings, clean = check_description(raw)
    assert problems == [] and [w.path for w in warnings] == ["/updates/channel"]
    assert Description.from_checked(clean).data == ("templates",)


def test_wsgi_and_asgi_together_are_an_error_at_asgi() -> None:
    raw = {**V11, "wsgi": {"app": "a.web:app"}, "asgi": {"app": "a.web:asgi"}}
    assert where(check_description(raw)[0]) == {
        "/asgi": "give either wsgi or asgi, not both: an application is served by one server (remove one)"
    }


def test_asgi_has_the_shape_of_wsgi() -> None:
    raw = {**V11, "asgi": {"factory": "yes", "threads": 2}}
    assert where(check_description(raw)[0]) == {
        "/asgi/app": "is required but missing",
        "/asgi/factory": "expected true or false, got a string",
        "/asgi/threads": "unknown key 'threads' (expected one of: app, factory)",
    }


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("/srv/templates/**", "it is absolute: patterns are relative to the checkout's root"),
        ("C:/templates", "it is absolute"),
        ("templates/../../etc", "it has a '..' segment: the files of a package lie inside the checkout"),
        ("", "it is empty"),
        ("./templates", "it has a '.' segment: leave it out"),
        ("templates//x", "it has an empty segment"),
        ("templates/", "it has an empty segment"),
        ("templates\\*.html", "it has a backslash"),
    ],
)
def test_a_bad_data_pattern_is_reported_at_its_index(pattern: str, reason: str) -> None:
    raw = {**V11, "data": ["templates/**", pattern]}
    problems = where(check_description(raw)[0])
    assert list(problems) == ["/data/1"]
    assert problems["/data/1"].startswith(f"{pattern!r} is not a valid pattern: {reason}")


def test_data_patterns_may_use_stars_question_marks_and_dotted_names() -> None:
    patterns = ["templates", "**/*.po", "a/**/b", "*.txt", ".well-known/*", "fixtures/??.json", "x**y"]
    assert check_description({**V11, "data": patterns})[0] == []


@pytest.mark.parametrize(
    ("updates", "expected"),
    [
        (
            {"strategy": "one-branch", "branch": "bad..name"},
            {"/updates/branch": "'bad..name' is not a git branch name"},
        ),
        ({"strategy": "one-branch", "branch": ""}, {"/updates/branch": "the branch name is empty"}),
        (
            {"strategy": "latest-tag", "branch": "main"},
            {
                "/updates/branch": "applies only to strategy one-branch: remove it, or set strategy: "
                "one-branch"
            },
        ),
        (
            {"branch": "main", "prereleases": True},
            {
                "/updates/branch": "applies only to strategy one-branch",
                "/updates/prereleases": "applies only to strategy latest-tag",
            },
        ),
        ({"strategy": "latest-tag", "tag_pattern": ""}, {"/updates/tag_pattern": "the tag pattern is empty"}),
        (
            {"strategy": "latest-tag", "tag_pattern": "v *"},
            {"/updates/tag_pattern": "the tag pattern has white"},
        ),
        (
            {"strategy": "newest", "branch": "main"},
            {"/updates/strategy": "'newest' is not one of 'always-latest', 'one-branch', 'latest-tag'"},
        ),
        ({"start": "stop-first"}, {"/updates/start": "'stop-first' is not one of 'beside', 'after-stop'"}),
    ],
)
def test_the_update_policy_is_checked_at_each_key(updates: dict[str, Any], expected: dict[str, str]) -> None:
    problems = where(check_description({**V11, "updates": updates})[0])
    assert list(problems) == list(expected)
    for path, start in expected.items():
        assert problems[path].startswith(start), problems[path]


@pytest.mark.parametrize(("value", "message"), [(-1, "-1 is out of range"), (True, "expected an integer")])
def test_data_version_is_an_integer_from_0(value: Any, message: str) -> None:
    assert where(check_description({**V11, "data_version": value})[0])["/data_version"].startswith(message)


BRANCHES = [
    "main", "release/2.x", "feature/x.y", "ünïcode", "v1.0", "a b", "a..b", "-x", "x/", "/x", "x.lock",
    ".x", "a/.b", "a@{b", "HEAD", "x~1", "x^", "x:y", "x?", "x*", "x[", "x\\y", "a\tb", "a.", "a//b", "",
]  # fmt: skip


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("name", BRANCHES)
def test_a_branch_name_is_valid_exactly_when_git_says_so(name: str) -> None:
    git = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True)
    assert (branch_problem(name) is None) == (git.returncode == 0)
