"""examples/hello: the smallest package, a pure WSGI app with a setting, a writable dir and a command.

It is installed with ``pyapp install`` and reached over its daemon's socket (see conftest.py).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from pyapp_tools.building.builder import BuildOptions, build
from testkit import app_process, request

from apppackage import AppPackage

if TYPE_CHECKING:
    from conftest import Installed, Served
    from pyapp_tools.building.builder import BuildResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PREFIX = "/apps/hello"  # a mount path (SCRIPT_NAME)
PASSWORD = "pa55-w0rd"
TOKEN = "t0ken-v4lue"


@pytest.fixture
def hello(install: Any) -> Installed:
    return install("hello", {"greeting": "Hi"})


def test_validates(pyapp_for: Callable[[str], BuildResult]) -> None:
    for path in (EXAMPLES / "hello", pyapp_for("hello").path):
        with AppPackage(path) as package:
            assert package.validate() == [], path


def test_the_page_greets_and_counts_visits(hello: Installed) -> None:
    hello.mount(PREFIX)
    app = hello.web(PREFIX)
    first = app.get("/")
    second = app.get("/")
    assert first.content_type == "text/html"
    assert "<h1>Hi from hello 1.0.0</h1>" in first.text
    assert "<p>Visit number 1.</p>" in first.text
    assert "<p>Visit number 2.</p>" in second.text
    assert f'<a href="{PREFIX}/env">' in first.text
    assert (hello.writable_path("counters") / "visits").read_text() == "2"


def test_env_shows_what_the_host_gave(hello: Installed) -> None:
    hello.mount(PREFIX)
    data = hello.web(PREFIX).get("/env").json
    assert data["script_name"] == PREFIX
    variables = data["variables"]
    assert variables["PYAPP_NAME"] == "hello"
    assert variables["PYAPP_ROOT"] == str(hello.release)
    assert hello.release.parent == hello.app_dir / "releases"
    # The daemon reads the values the operator gave from a file of its generation, under run/.
    config_file = Path(variables["PYAPP_CONFIG_FILE"])
    assert config_file.parent == hello.app_dir / "run"
    assert yaml.safe_load(config_file.read_text()) == {"greeting": "Hi"}
    assert variables["PYAPP_WRITABLE_COUNTERS"] == str(hello.writable_path("counters"))


def visit_concurrently(where: str | int, visits: int = 200, clients: int = 4) -> list[int]:
    """GET / *visits* times from *clients* clients at once (a new connection each time); the visit
    number of each answer, in the order the answers came. Every answer must be 200."""
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(lambda _: request(where, "/", timeout=60), range(visits)))
    failed = [(status, body) for status, body in answers if status != 200]
    assert failed == [], f"{len(failed)} of {visits} visits failed, the first: {failed[0]}"
    return [int(re.search(r"Visit number (\d+)\.", body)[1]) for _, body in answers]  # type: ignore[index]


def test_every_visit_counts_once_under_concurrent_clients(hello: Installed) -> None:
    numbers = visit_concurrently(hello.socket)
    assert sorted(numbers) == list(range(1, 201))  # no visit lost, none counted twice
    assert (hello.writable_path("counters") / "visits").read_text() == "200"


def test_every_visit_counts_once_across_waitress_processes(install: Any) -> None:
    hello = install("hello", host="listen: port\nmethod: processes\nprocesses: 3\n")
    web = hello.processes()
    assert [p["role"] for p in web] == ["web"] * 3 and len({p["pid"] for p in web}) == 3, web
    before = {p["pid"]: reads(p["pid"]) for p in web}
    numbers = visit_concurrently(web[0]["port"])
    assert sorted(numbers) == list(range(1, 201))
    assert (hello.writable_path("counters") / "visits").read_text() == "200"
    # The kernel spread the connections over the processes sharing the port: several of them counted.
    assert sum(reads(pid) > count for pid, count in before.items()) >= 2


def reads(pid: int) -> int:
    """How many read calls the app's process of the program *pid* has made (an idle waitress makes none)."""
    app = app_process(pid)  # inside its sandbox, when it has one
    io = dict(line.split(": ") for line in Path(f"/proc/{app}/io").read_text().splitlines())
    return int(io["syscr"])


@pytest.fixture
def hello_with_services(install: Any, wheelhouse: Path, tmp_path: Path) -> Installed:
    """hello with three services declared (one under a variable of its own), installed with
    values that carry a password and a token."""
    source = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", source, ignore=shutil.ignore_patterns("__pycache__"))
    with open(source / "metadata.yaml", "a") as meta:
        meta.write(
            "services:\n"
            "  db:\n    type: postgresql\n"
            "  search:\n    type: http\n    variable: PYAPP_SEARCH_URL\n    required: false\n"
            "  queue:\n    type: amqp\n    required: false\n"
        )
    package = build(source, BuildOptions(out_dir=tmp_path / "dist", wheelhouse=wheelhouse, offline=True))
    services = {
        "db": f"postgresql://hello:{PASSWORD}@db.example:5432/hello",
        "search": f"https://search.example/api?key={TOKEN}&lang=en",
        "queue": f"{PASSWORD}-{TOKEN}",
    }
    return install("hello", package=package.path, services=services)


def test_env_shows_service_values_without_their_secrets(hello_with_services: Installed) -> None:
    page = hello_with_services.web().get("/env")
    assert PASSWORD not in page.text and TOKEN not in page.text
    variables = page.json["variables"]
    assert variables["PYAPP_SERVICE_DB"] == "postgresql://hello:****@db.example:5432/hello"
    assert variables["PYAPP_SEARCH_URL"] == "https://search.example/api?key=****&lang=****"
    assert variables["PYAPP_SERVICE_QUEUE"] == "****"  # not a URL: nothing of it is shown
    # What is no secret stays readable.
    assert variables["PYAPP_NAME"] == "hello"
    assert variables["PYAPP_WRITABLE_COUNTERS"] == str(hello_with_services.writable_path("counters"))
    # The app itself gets the values in the clear.
    given = hello_with_services.launch_of("web").payload["variables"]
    assert given["PYAPP_SERVICE_DB"] == f"postgresql://hello:{PASSWORD}@db.example:5432/hello"


def test_health_and_not_found(hello: Installed) -> None:
    app = hello.web()
    assert app.get("/health").text == "ok"
    app.get("/nothing", status=404)


def test_greet_command(hello: Installed) -> None:
    greeted = hello.run_command("greet", "Ada", "Grace")
    assert (greeted.returncode, greeted.output) == (0, "Hi, Ada!\nHi, Grace!\n")
    usage = hello.run_command("greet")
    assert (usage.returncode, usage.output) == (2, "usage: greet NAME...\n")


@pytest.mark.slow
def test_pyapp_run_serves_the_built_package(
    pyapp_for: Callable[[str], BuildResult], serve_cli: Callable[..., Served], cli_env: dict[str, str]
) -> None:
    built = pyapp_for("hello")
    served = serve_cli(built.path, "--set", "greeting=Howdy")
    page = served.get("/")
    variables = served.get_json("/env")["variables"]
    health = served.get("/health")
    missing = served.get("/missing")
    code, output = served.stop()
    assert page[:2] == (200, "text/html; charset=utf-8")
    assert "<h1>Howdy from hello 1.0.0</h1>" in page[2] and "Visit number 1." in page[2]
    assert health == (200, "text/plain", "ok")
    assert missing[0] == 404
    entry = Path(cli_env["XDG_CACHE_HOME"]) / "pyapp" / "run" / built.sha256
    assert variables["PYAPP_ROOT"] == str(entry / "app")
    state = Path(cli_env["XDG_STATE_HOME"]) / "pyapp" / "run" / "hello"
    assert variables["PYAPP_WRITABLE_COUNTERS"] == str(state / "data" / "counters")
    assert (code, "Traceback" in output) == (0, False)
