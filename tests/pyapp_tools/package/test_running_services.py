"""``pyapp run --service`` and ``pyapp command --service``: a local run gets its services' values."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "local-pw"
DB = f"postgresql://me:{PASSWORD}@127.0.0.1:5432/blog"

METADATA = """\
pyapp: "1.0"
name: svc-run
version: "0.1.0"
wsgi:
  app: svcrun:application
commands:
  env: svcrun:env
hooks:
  install: svcrun:install
services:
  db:
    type: postgresql
    summary: the posts
  cache:
    type: sqlite
  search:
    type: http
    variable: SEARCH_URL
    required: false
"""

CODE = """\
import json, os
from pathlib import Path


def _services():
    return {k: v for k, v in os.environ.items() if k.startswith("PYAPP_SERVICE_") or k == "SEARCH_URL"}


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(_services()).encode()]


def env(argv):
    print(json.dumps(_services()))


def install(context):
    Path(context["data_path"], "install-env.json").write_text(json.dumps(_services()))
"""


@pytest.fixture
def project(write_project: Callable[..., Path]) -> Path:
    return write_project({"metadata.yaml": METADATA, "src/svcrun.py": CODE}, name="svc-run")


def test_a_command_gets_the_given_services_and_a_provisioned_sqlite_file(
    project: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    state = tmp_path / "state-dir"
    ran = cli("pyapp", "command", "--state-dir", state, "--service", f"db={DB}", project, "env")
    assert ran.returncode == 0, ran.stderr
    cache = f"sqlite://{(state / 'data' / 'cache.sqlite3').resolve()}"
    expected = {"PYAPP_SERVICE_CACHE": cache, "PYAPP_SERVICE_DB": DB}
    assert json.loads(ran.stdout) == expected  # the optional search service is not set
    # The install hook of the first run saw them too.
    assert json.loads((state / "data" / "install-env.json").read_text()) == expected


def test_a_required_service_without_a_value_is_named_with_the_option(
    project: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    refused = cli("pyapp", "command", "--state-dir", tmp_path / "s", project, "env")
    assert refused.returncode == 1
    assert "/db: the required postgresql service has no value (the posts)" in refused.stderr
    assert "give it with --service NAME=VALUE" in refused.stderr
    assert "pyapp services" not in refused.stderr  # a local run has no stored services
    wrong = cli("pyapp", "command", "--service", f"db=mysql://me:{PASSWORD}@h/x", project, "env")
    assert wrong.returncode == 1 and "expected a postgresql URL" in wrong.stderr
    assert PASSWORD not in wrong.stderr


@pytest.mark.slow
def test_pyapp_run_serves_with_the_service_variables(
    project: Path, tmp_path: Path, serve_app: Callable[..., Any]
) -> None:
    options = (
        "--state-dir",
        tmp_path / "s",
        "--service",
        f"db={DB}",
        "--service",
        "search=http://127.0.0.1:9200/",
    )
    with serve_app(project, *options) as server:
        status, body = server.get("/")
    assert status == 200
    got = json.loads(body)
    assert got["PYAPP_SERVICE_DB"] == DB and got["SEARCH_URL"] == "http://127.0.0.1:9200/"
    assert got["PYAPP_SERVICE_CACHE"].endswith("/s/data/cache.sqlite3")
