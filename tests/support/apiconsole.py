"""A live management server's JSON API as the tests drive it: its admin token, every JSON answer checked
against ``openapi.json`` (the ``openapi`` fixture's checker)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class ApiConsole:
    """The live server *server* (the ``live_server`` fixture's) and its admin token."""

    def __init__(self, server: Any, openapi: Any) -> None:
        self.server = server
        self.openapi = openapi
        self.token = server.token

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """The status and JSON answer of one request (checked against the API's description)."""
        data = None if body is None else json.dumps(body).encode()
        status, headers, raw = self.server.request(
            method, path, token=token or self.token, body=data,
            content_type="application/json" if data is not None else None,
        )  # fmt: skip
        self.openapi.check(method, path.split("?")[0], status, headers.get("Content-Type", ""), raw)
        return status, json.loads(raw)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of a request that must succeed."""
        status, answer = self.call(method, path, body)
        assert status in (200, 201, 202), (method, path, status, answer)
        return answer

    def install(self, package: Path) -> None:
        """Install *package* (a path the server may read) and wait for its job to succeed."""
        status, job = self.call("POST", "/api/v1/apps", {"path": self.server.on_server(package)})
        assert status == 202, job
        for _ in range(30):
            job = self.ok("GET", f"/api/v1/jobs/{job['id']}?wait=10")
            if job["state"] in ("succeeded", "failed"):
                break
        assert job["state"] == "succeeded", job

    def processes(self, name: str) -> list[dict[str, Any]]:
        """App *name*'s processes as ``GET /api/v1/apps/NAME`` shows them."""
        return list(self.ok("GET", f"/api/v1/apps/{name}")["processes"])
