"""The conformance suite (conformance-tests/) run against every implementation shipped with it.

``conformance-tests/impl/implementations.json`` says which areas each implementation
answers. apppackage, the reference library, answers its cases in-process through
``apppackage_adapter.answer``, the function the ``apppackage-impl`` process calls, so a
failure names the case; pyapp-build (``pyapp-build-impl``) and the host
(``pyapp-host-impl``) answer theirs through the process contract, one process per
case, building and installing for real. A case an implementation lists as not passed
yet (``SKIPS`` of its adapter) must still fail, and is then skipped. A few tests run
the real runner: with apppackage, with the deliberately broken implementations (each
must fail the cases made to catch it), and on the case files.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SUITE = Path(__file__).resolve().parents[2] / "conformance-tests"
RUN = SUITE / "run"
IMPL = SUITE / "impl"
sys.path[:0] = [str(SUITE / "tools"), str(IMPL)]

import apppackage_adapter  # noqa: E402
import conformance_suite as suite  # noqa: E402
import pyapp_build_adapter  # noqa: E402
import pyapp_host_adapter  # noqa: E402

CASES = suite.load_cases()
IMPLEMENTATIONS = suite.implementations()
# What each implementation answers through the process contract does not pass yet, by its adapter.
SKIPS: dict[str, dict[str, str]] = {
    "apppackage-impl": apppackage_adapter.SKIPS,
    "pyapp-build-impl": pyapp_build_adapter.SKIPS,
    "pyapp-host-impl": pyapp_host_adapter.SKIPS,
}


def claimed(name: str) -> list[suite.Case]:
    areas = IMPLEMENTATIONS[name]["areas"]
    return [c for c in CASES if c.area in areas]


PROCESS_CASES = [(name, case) for name in ("pyapp-build-impl", "pyapp-host-impl") for case in claimed(name)]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUN), *args], capture_output=True, text=True, timeout=1200)


def impl(name: str) -> str:
    return shlex.join([sys.executable, str(IMPL / name)])


def failed_cases(result: subprocess.CompletedProcess[str]) -> set[str]:
    report: dict[str, Any] = json.loads(result.stdout)
    return {r["case"] for r in report["results"] if r["status"] == "failed"}


def strict_skip(name: str, case: suite.Case, reasons: list[str]) -> None:
    """A case the implementation lists as not passed yet must still fail; it is then skipped."""
    skip = SKIPS[name].get(case.description)
    if skip is not None:
        assert reasons, f"{case.id} passes now with {name}: remove it from SKIPS of its adapter"
        pytest.skip(skip)


@pytest.mark.parametrize("case", claimed("apppackage-impl"), ids=[c.id for c in claimed("apppackage-impl")])
def test_apppackage_case(case: suite.Case) -> None:
    # The JSON round trips keep the in-process run to what the process contract can carry.
    request = json.loads(json.dumps(suite.prepare_request(case)))
    answer = json.loads(json.dumps(apppackage_adapter.answer(request, skips=False)))
    reasons = suite.check(case, answer)
    strict_skip("apppackage-impl", case, reasons)
    assert not reasons, "\n".join([f"{case.id} ({case.cited})", *reasons])


@pytest.mark.slow
@pytest.mark.parametrize(("name", "case"), PROCESS_CASES, ids=[f"{n} {c.id}" for n, c in PROCESS_CASES])
def test_process_case(name: str, case: suite.Case) -> None:
    environ = {**os.environ, "PYAPP_CONFORMANCE_STRICT": "1"}
    result = suite.run_case([sys.executable, str(IMPL / name)], case, timeout=180, env=environ)
    if result["status"] == "skipped":  # strict: not a known failure, but what this machine lacks (no dpkg)
        pytest.skip(f"{name}: {result['reasons'][0]}")
    reasons = result["reasons"] if result["status"] == "failed" else []
    strict_skip(name, case, reasons)
    assert not reasons, "\n".join([f"{name}: {case.id} ({case.cited})", *reasons])


def test_the_suite_has_cases_in_every_area_and_every_area_an_implementation() -> None:
    per_area = {area: sum(1 for c in CASES if c.area == area) for area in suite.AREAS}
    assert all(per_area.values()), per_area
    assert len(CASES) >= 650
    answered = {a for entry in IMPLEMENTATIONS.values() if not entry.get("catches") for a in entry["areas"]}
    assert answered == set(suite.AREAS)


def test_every_skip_names_a_case_the_implementation_answers() -> None:
    for name, skips in SKIPS.items():
        assert set(skips) <= {c.description for c in claimed(name)}, name


def test_the_self_check_names_a_section_no_case_cites() -> None:
    cited = {section for case in CASES for section in case.sections}
    assert not suite._citing_problems(cited)
    problems = suite._citing_problems(cited - {"7.3"})
    assert len(problems) == 1
    assert "§7.3 is cited by no case" in problems[0]


def test_same_compares_with_another_value_of_the_answer() -> None:
    answer = {"results": [{"output": "s3cret"}, {"output": "s3cret"}, {"output": "other"}]}
    same = {"$same": "/results/0/output"}
    assert suite.match(same, "s3cret", root=answer) == []
    assert suite.match(same, "other", root=answer)
    assert suite.match({"$ne": same}, "other", root=answer) == []
    assert suite.match({"$same": "/results/9/output"}, "s3cret", root=answer)


def test_the_runner_reads_record_and_lock_of_a_built_package() -> None:
    import base64
    import hashlib

    import built_package
    import make_archive
    import make_wheel

    wheel = {"name": "tiny-dep", "version": "1.0"}
    data = make_wheel.build(wheel)
    lock = f"tiny-dep==1.0 \\\n    --hash=sha256:{hashlib.sha256(data).hexdigest()}\n"
    entries = [
        {"name": "metadata.yaml", "text": "pyapp: '1.0'\n"},
        {"name": f"deps/{make_wheel.file_name(wheel)}", "base64": base64.b64encode(data).decode()},
        {"name": "deps/requirements.txt", "text": lock},
    ]
    package = base64.b64encode(make_archive.build({"entries": entries})).decode()
    views = built_package.views({"packages": [package, package]})
    assert views["record_problems"] == []
    assert views["lock"] == ["tiny-dep==1.0"]
    assert views["lock_problems"] == []
    assert views["identical"] is True
    tampered = [
        *entries[:2],
        {"name": "deps/requirements.txt", "text": lock.replace("tiny-dep==1.0", "tiny-dep==2.0")},
    ]
    views = built_package.views(
        {"packages": [base64.b64encode(make_archive.build({"entries": tampered})).decode()]}
    )
    assert len(views["lock_problems"]) == 2  # the pin has no such wheel, and the wheel no pin


def test_self_check_passes() -> None:
    result = run("--self-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == f"{len(CASES)} cases checked, 0 problems"


@pytest.mark.slow
def test_apppackage_passes_through_the_process_contract() -> None:
    # One area through real processes proves the contract; the test command (./dev test) runs every case so.
    area = [c for c in CASES if c.area == "environment"]
    result = run("--impl", impl("apppackage-impl"), "--area", "environment")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    last = result.stdout.splitlines()[-1]
    skipped = sum(1 for c in area if c.description in apppackage_adapter.SKIPS)
    expected = f"{len(area) - skipped} passed, 0 failed" + (f", {skipped} skipped" if skipped else "")
    assert last == expected


def test_an_implementation_skips_the_areas_it_does_not_claim() -> None:
    result = run(
        "--impl", impl("pyapp-build-impl"), "--area", "environment", "--match", "declared paths come"
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "0 passed, 0 failed, 1 skipped"


@pytest.mark.slow
def test_every_broken_implementation_is_caught() -> None:
    result = run("--broken")
    assert result.returncode == 0, result.stdout + result.stderr
    broken = [name for name, entry in IMPLEMENTATIONS.items() if entry.get("catches")]
    for name in broken:
        count = len(IMPLEMENTATIONS[name]["catches"])
        assert f"{name}: caught by {count} of its {count} cases" in result.stdout


def test_an_implementation_ignoring_paths_fails_only_the_sys_path_cases() -> None:
    result = run("--impl", impl("broken-ignores-paths"), "--area", "environment", "--json")
    assert result.returncode == 1
    assert failed_cases(result) == set(IMPLEMENTATIONS["broken-ignores-paths"]["catches"])
    assert re.fullmatch(r"\d+ passed, 4 failed", result.stderr.strip().splitlines()[-1])


def test_an_implementation_accepting_dotdot_entries_fails_only_the_dotdot_cases() -> None:
    result = run("--impl", impl("broken-accepts-dotdot"), "--area", "archive", "--json")
    assert result.returncode == 1
    assert failed_cases(result) == set(IMPLEMENTATIONS["broken-accepts-dotdot"]["catches"])


def test_a_crashing_implementation_fails_every_case() -> None:
    crash = shlex.join([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])
    result = run("--impl", crash, "--area", "lifecycle", "--match", "rollback")
    count = sum(1 for c in CASES if c.area == "lifecycle" and "rollback" in c.description.lower())
    assert result.returncode == 1
    assert "the implementation crashed (exit status 3)" in result.stdout
    assert result.stdout.splitlines()[-1] == f"0 passed, {count} failed"


def test_an_answer_that_is_not_json_fails_the_case() -> None:
    garbage = shlex.join([sys.executable, "-c", "print('valid')"])
    result = run("--impl", garbage, "--area", "lifecycle", "--match", "rollback runs no hooks")
    assert result.returncode == 1
    assert "the answer is not JSON" in result.stdout
    assert result.stdout.splitlines()[-1] == "0 passed, 1 failed"


def test_an_implementation_may_skip_a_case_with_a_reason() -> None:
    skipper = shlex.join([sys.executable, "-c", 'print(\'{"skip": "no lifecycle here"}\')'])
    result = run("--impl", skipper, "--area", "lifecycle", "--match", "rollback runs no hooks")
    assert result.returncode == 0
    assert "no lifecycle here" in result.stdout
    assert result.stdout.splitlines()[-1] == "0 passed, 0 failed, 1 skipped"
