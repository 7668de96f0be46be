"""A supervised app's processes get its services' values, and a change of them restarts the processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import BadServices, Host

pytestmark = pytest.mark.slow

DB = "postgresql://web:first-pw@db.example:5432/web"
NEW_DB = "postgresql://web:second-pw@db2.example:5432/web"


def test_the_web_daemon_sees_its_services_and_a_change_restarts_it(
    host: Host, home: Path, packages: Any, helpers: Any
) -> None:
    package = packages.webprobe(
        services={
            "db": {"type": "postgresql"},
            "cache": {"type": "sqlite"},
            "mail": {"type": "smtp", "required": False},
        }
    )
    host.install(package, services=[f"db={DB}"])
    sock = helpers.stable_socket(home, "webprobe")
    before = helpers.env_of(sock)
    variables = before["variables"]
    assert variables["PYAPP_SERVICE_DB"] == DB
    assert (
        variables["PYAPP_SERVICE_CACHE"]
        == f"sqlite://{home / 'apps' / 'webprobe' / 'data' / 'cache.sqlite3'}"
    )
    assert "PYAPP_SERVICE_MAIL" not in variables

    result = host.set_services("webprobe", [f"db={NEW_DB}"])
    assert result.changed == ("db",) and result.restarted
    after = helpers.env_of(sock)
    assert after["variables"]["PYAPP_SERVICE_DB"] == NEW_DB
    assert after["process"] != before["process"]
    assert "second-pw" not in str(result.to_dict()) and "second-pw" not in str(
        host.services("webprobe").to_dict()
    )

    # Stopped, the app keeps its values; without a required one it does not start again.
    host.stop("webprobe")
    (home / "apps" / "webprobe" / "services.yaml").write_text("{}\n")
    with pytest.raises(BadServices, match=r"/db: the required postgresql service has no value"):
        host.start("webprobe")
