"""The conformance suite (conformance-tests/) run against apppackage, the reference implementation.

Every case runs in-process through ``apppackage_adapter.answer``, the function the
``apppackage-impl`` process calls, so a failure names the case. A few tests run the
real runner through the process contract: with apppackage, with deliberately broken
implementations (which must fail the cases made to catch them), and on the case files.
"""

from __future__ import annotations

import json
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

CASES = suite.load_cases()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUN), *args], capture_output=True, text=True, timeout=1200)


def impl(name: str) -> str:
    return shlex.join([sys.executable, str(IMPL / name)])


def failed_cases(result: subprocess.CompletedProcess[str]) -> set[str]:
    report: dict[str, Any] = json.loads(result.stdout)
    return {r["case"] for r in report["results"] if r["status"] == "failed"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: suite.Case) -> None:
    # The JSON round trips keep the in-process run to what the process contract can carry.
    request = json.loads(json.dumps(suite.prepare_request(case)))
    answer = json.loads(json.dumps(apppackage_adapter.answer(request, skips=False)))
    reasons = suite.check(case, answer)
    skip = apppackage_adapter.SKIPS.get(case.description)
    if skip is not None:
        # A skip is strict: once apppackage passes the case, the skip must go.
        assert reasons, f"{case.id} passes now: remove it from SKIPS in apppackage_adapter.py"
        pytest.skip(skip)
    assert not reasons, "\n".join([f"{case.id} ({case.cited})", *reasons])


def test_the_suite_has_cases_in_every_area() -> None:
    per_area = {area: sum(1 for c in CASES if c.area == area) for area in suite.AREAS}
    assert all(per_area.values()), per_area
    assert len(CASES) >= 150


def test_every_skip_names_a_case() -> None:
    assert set(apppackage_adapter.SKIPS) <= {c.description for c in CASES}


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


def test_an_implementation_ignoring_paths_fails_the_sys_path_cases() -> None:
    result = run("--impl", impl("broken-ignores-paths"), "--area", "environment", "--json")
    assert result.returncode == 1
    assert {
        "declared paths come first, in their declared order",
        "a nested declared path is joined to the root",
        "an empty paths list leaves only site-packages and server-packages",
        "the path . puts the root itself on sys.path",
    } <= failed_cases(result)
    assert re.fullmatch(r"\d+ passed, 4 failed", result.stderr.strip().splitlines()[-1])


def test_an_implementation_accepting_dotdot_entries_fails_the_archive_cases() -> None:
    result = run("--impl", impl("broken-accepts-dotdot"), "--area", "archive", "--json")
    assert result.returncode == 1
    assert failed_cases(result) == {
        "an entry whose name starts with .. is refused",
        "an entry with a .. component inside its name is refused",
    }


def test_a_crashing_implementation_fails_every_case() -> None:
    crash = shlex.join([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])
    result = run("--impl", crash, "--area", "lifecycle")
    lifecycle = sum(1 for c in CASES if c.area == "lifecycle")
    assert result.returncode == 1
    assert "the implementation crashed (exit status 3)" in result.stdout
    assert result.stdout.splitlines()[-1] == f"0 passed, {lifecycle} failed"


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
