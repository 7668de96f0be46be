"""schemathesis against openapi.json, in process (WSGI) with an admin token: every operation, with data
that fits the document and data that does not, answers as the document says and never with a 5xx.

Two passes: random names against a host with one app installed, and the app's own name (so that the
operations on an installed app get past their 404). Bounded: a fixed number of examples per operation,
derandomized (the same cases on every run), no example database.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from pyapp_server import main, services_of
from pyapp_server.api import openapi_document
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=40, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)

schema = schemathesis.openapi.from_dict(openapi_document())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# The installed app by name. Removing it would leave the other operations nothing to work on; start, stop,
# restart and reload answer 501 by design on a host that runs no app processes (the suite's:
# PYAPP_DAEMONS=0, test_process_control.py has them on) and are left to test_api.py.
on_the_app = schemathesis.openapi.from_dict(openapi_document()).exclude(
    path=["/api/v1/apps/{name}", "/api/v1/apps/{name}/{action}", "/api/v1/apps/{name}/reload"],
    method=["DELETE", "POST"],
)
on_the_app.config.update(parameters={"name": "hello"})
on_the_app.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, packages):
    """The app (its host with hello installed) and an admin token.

    The host's web server stays ``none`` whatever the generated settings say (``PYAPP_WEB_SERVER``
    overrides the setting): no generated virtual host is ever served.
    """
    data_dir = tmp_path_factory.mktemp("schemathesis") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYAPP_WEB_SERVER", "none")
        app = main(None, data_dir=str(data_dir), drop_interval="0")
        services = services_of(app)
        try:
            job = services.apps.install(packages.hello(), "schemathesis")
            assert services.jobs.wait(job.id, 120).state == "succeeded"
            yield app, services.tokens.create("admin", "schemathesis").secret
        finally:
            services.close()


@schema.parametrize()
@BOUNDED
def test_every_operation_answers_as_documented_and_never_with_a_server_error(case, served) -> None:
    app, token = served
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@on_the_app.parametrize()
@BOUNDED
def test_the_operations_on_an_installed_app_answer_as_documented(case, served) -> None:
    app, token = served
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
