"""Fixtures for the web interface: under WebTest, the server app with a browser (a cookie jar of its own)
signed in for each role; for the browser tests, a real server and one headless Chromium for the session."""

from __future__ import annotations

import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyapp_server import main, services_of
from testkit import processes_under, stop_process, stop_supervisord
from webtest import TestApp

ROLES = ("viewer", "deployer", "admin")


@dataclass
class Ui:
    """The server app, its parts, and tokens of each role."""

    wsgi: Any
    services: Any
    data_dir: Path
    secrets: dict[str, str]

    @staticmethod
    def csrf(page: Any) -> str:
        """The CSRF token in a page's forms."""
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, "the page has no form with a CSRF token"
        return found.group(1)

    def browser(self) -> TestApp:
        """A browser that has not signed in."""
        return TestApp(self.wsgi)

    def signed_in(self, role: str) -> TestApp:
        """A browser signed in with the token of *role*."""
        browser = self.browser()
        form = browser.get("/signin").forms[0]
        form["token"] = self.secrets[role]
        assert form.submit().status_int == 303
        return browser

    def wait(self, job_id: str) -> dict[str, Any]:
        job = self.services.jobs.wait(job_id, 120)
        assert job.done, job
        return dict(job.to_dict())

    def install(self, package: Path) -> None:
        job = self.services.apps.install(package, "test")
        assert self.wait(job.id)["state"] == "succeeded"


@pytest.fixture
def make_ui(tmp_path: Path) -> Iterator[Callable[..., Ui]]:
    made: list[Any] = []

    def make(**settings: Any) -> Ui:
        data_dir = tmp_path / f"data{len(made)}"
        wsgi = main(None, data_dir=str(data_dir), drop_interval="0", **settings)
        services = services_of(wsgi)
        made.append(services)
        secrets = {role: services.tokens.create(role, f"test-{role}").secret for role in ROLES}
        return Ui(wsgi=wsgi, services=services, data_dir=data_dir, secrets=secrets)

    yield make
    for services in made:
        services.close()


@pytest.fixture
def ui(make_ui: Callable[..., Ui]) -> Ui:
    return make_ui()


# -- a real server and a real browser, for the browser tests ---------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


@dataclass
class Console:
    """A live pyapp-server running apps' processes (behind nginx when it is installed): its URL and token."""

    base: Path
    data_dir: Path
    url: str
    token: str
    web_server: str | None
    proc: subprocess.Popen[bytes]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYAPP_")}
        env["PYAPP_HOME"] = str(self.data_dir)
        subprocess.run([str(BIN / "pyapp"), "web", "stop"], env=env, capture_output=True, timeout=120)
        stop_supervisord(self.data_dir / "supervisor")
        for pid in processes_under(self.base):
            stop_process(pid)


@pytest.fixture(scope="session")
def console() -> Iterator[Console]:
    """``pyapp-server run`` on a free port, running apps' processes, nginx (if installed) serving mounts."""
    from pyapp_runtime.webservers import find_installation

    base = Path(tempfile.mkdtemp(prefix="pyapp-ui-", dir="/tmp"))
    base.chmod(0o711)  # the web server's workers (another user when run as root) reach the apps' sockets
    data_dir, home = base / "data", base / "home"
    data_dir.mkdir()
    home.mkdir()
    web_server = "nginx" if find_installation("nginx") is not None else None
    low = random.randrange(40000, 49000)
    (data_dir / "host.yaml").write_text(f"web_server: {web_server or 'none'}\nports: {low}-{low + 40}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "XDG_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), PIP_NO_INDEX="1", PYAPP_DAEMONS="1")
    with open(base / "server.err", "wb") as err:
        proc = subprocess.Popen(
            [str(BIN / "pyapp-server"), "run", "--port", "0", "--data-dir", str(data_dir)],
            env=env, cwd=home, stdout=subprocess.PIPE, stderr=err,
        )  # fmt: skip
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline().decode() if ready else ""
    if " on http" not in line:
        proc.kill()
        raise AssertionError(f"pyapp-server did not start: {line!r}\n{(base / 'server.err').read_text()}")
    url = line.split(" on ", 1)[1].split()[0].removesuffix("/api/v1/")
    token = (data_dir / "server" / "local-token").read_text().strip()
    made = Console(base=base, data_dir=data_dir, url=url, token=token, web_server=web_server, proc=proc)
    try:
        yield made
    finally:
        made.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium (Debian's) for the session, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (./dev test installs the Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where pages are saved as images: ``$PYAPP_TEST_ARTIFACTS/screenshots`` (else ``test-artifacts/``)."""
    folder = Path(os.environ.get("PYAPP_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
