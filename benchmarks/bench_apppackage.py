"""How much ``apppackage`` adds to the start of a process.

Measures, each in fresh interpreters and next to a bare ``python -c pass``:

- ``import apppackage`` (target: at most 15 ms above the bare interpreter);
- loading the WSGI application of ``examples/hello``: ``AppPackage`` + ``activate()`` +
  ``wsgi_app()``, what a host does before it serves the first request.

Runs are interleaved (bare, import, load, bare, ...) so that a slower moment of the
machine affects every measurement alike; best and median of N runs are printed.
Benchmarks print; they never fail on time.

    python benchmarks/bench_apppackage.py [RUNS]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (pyapp's bytecode written, as an installed wheel has it)

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "examples" / "hello"
TARGET_MS = 15.0

LOAD_HELLO = """
import sys
from apppackage import AppPackage
package = AppPackage(sys.argv[1])
with package.activate():
    app = package.wsgi_app()
    assert callable(app)
"""

# As a host loads a package it checked when it installed it: AppPackage.trusted with the description
# and configuration spec it kept (no YAML read, no JSON Schema), the app's paths and the configuration
# it filled in then (its file already written), then the WSGI app.
LOAD_VALIDATED = """
import json, sys
from apppackage import AppPackage, HostPaths
checked = json.loads(open(sys.argv[2]).read())
package = AppPackage.trusted(sys.argv[1], checked["description"], checked["config_spec"])
host = HostPaths.under(sys.argv[1], checked["state"], config_file=checked["config_file"])
with package.activate(host, config=checked["config"]):
    app = package.wsgi_app()
    assert callable(app)
"""
STATE = Path(tempfile.gettempdir()) / f"pyapp-bench-state-{os.getpid()}"
CHECKED = STATE / "checked.json"
VALIDATED_TARGET_MS = 30.0

CASES = {
    "bare": ["-c", "pass"],
    "import": ["-c", "import apppackage"],
    "load hello": ["-c", LOAD_HELLO, str(HELLO)],
    "load validated": ["-c", LOAD_VALIDATED, str(HELLO), str(CHECKED)],
}


def write_checked() -> None:
    """What a host keeps of hello once it checked it (as ``pyapp run``'s cache does): the clean description
    and the raw configuration spec; and the configuration it filled in, written to the file the app reads."""
    from apppackage import AppPackage
    from apppackage.safeyaml import load_yaml

    with AppPackage(HELLO) as package:
        description = package.check()
        file = description.config_file
        spec = load_yaml(package.read_bytes(file), file) if package.config_spec.fields else None
        config = package.config_spec.fill(generate_secrets=True)
        STATE.mkdir(parents=True, exist_ok=True)
        config_file = STATE / f"config.{package.config_spec.format}"
        config_file.write_text(package.config_spec.render(config), encoding="utf-8")
    checked = {
        "description": dict(description.to_dict()),
        "config_spec": spec,
        "config": config,
        "state": str(STATE),
        "config_file": str(config_file),
    }
    CHECKED.write_text(json.dumps(checked))


def run_once(args: list[str]) -> float:
    """Seconds one interpreter takes to run *args* and exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, list[float]]:
    for args in CASES.values():  # warm the OS caches and write bytecode caches first
        run_once(args)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, args in CASES.items():
            times[name].append(run_once(args))
    return times


def report(times: dict[str, list[float]]) -> None:
    bare_best = min(times["bare"]) * 1000
    bare_median = statistics.median(times["bare"]) * 1000
    print(f"{'':<12} {'best ms':>9} {'median ms':>10} {'+ms best':>9} {'+ms median':>11} {'ratio':>6}")
    for name, values in times.items():
        best = min(values) * 1000
        median = statistics.median(values) * 1000
        if name == "bare":
            print(f"{name:<12} {best:9.1f} {median:10.1f}")
            continue
        print(
            f"{name:<12} {best:9.1f} {median:10.1f} {best - bare_best:+9.1f} "
            f"{median - bare_median:+11.1f} {median / bare_median:6.2f}"
        )
    added = statistics.median(times["import"]) * 1000 - bare_median
    verdict = "met" if added <= TARGET_MS else "NOT met"
    print(f"\ntarget: import apppackage <= {TARGET_MS:g} ms above bare: {verdict} (median {added:+.1f} ms)")
    load = statistics.median(times["load hello"]) * 1000 - bare_median
    print(f"loading examples/hello's WSGI app adds {load:.1f} ms (median) to a bare interpreter")
    trusted = statistics.median(times["load validated"]) * 1000 - bare_median
    verdict = "met" if trusted <= VALIDATED_TARGET_MS else "NOT met"
    print(
        f"target: loading the validated package (AppPackage.trusted + WSGI app) <= {VALIDATED_TARGET_MS:g} ms"
        f" above bare: {verdict} (median {trusted:+.1f} ms)"
    )


def main(argv: list[str]) -> int:
    runs = int(argv[1]) if len(argv) > 1 else 20
    print(f"{sys.executable} ({sys.version.split()[0]}), {runs} runs each, interleaved\n")
    write_checked()
    try:
        report(measure(runs))
    finally:
        shutil.rmtree(STATE, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
