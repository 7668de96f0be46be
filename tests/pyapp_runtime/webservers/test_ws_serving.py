"""Real nginx, Apache and lighttpd in front of real waitress daemons, configured by the library."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime.webservers import (
    ConfigTestFailed,
    Mount,
    MountConflict,
    Routes,
    RouteStore,
    StaticPath,
    Upstream,
    VirtualHost,
    WebServer,
    static_paths,
)

from apppackage.description import StaticDir

pytestmark = pytest.mark.slow

KINDS = ["nginx", "apache", "lighttpd"]

# A setting each server's own configuration test refuses, and what it says about it.
BROKEN = {
    "nginx": ("not_a_directive on;", 'unknown directive "not_a_directive"'),
    "apache": ("NotADirective on", "Invalid command 'NotADirective'"),
    "lighttpd": ('not.a.key = "on"', "unknown config-key: not.a.key"),
}

# Client-sent proxy headers: the web server must replace them, never pass them on.
SPOOFED = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "https"}


@dataclass
class Site:
    kind: str
    server: WebServer
    store: RouteStore
    routes: Routes
    daemons: dict[str, Any]
    shared: int  # port of the shared virtual host
    own: int  # port of the TLS virtual host of its own
    files: int  # port of a default host (no names) serving a static-only app at /
    fetch: Callable[..., Any]
    client: str  # the address requests come from

    def get(self, path: str, host: str = "shared.test", **options: Any) -> Any:
        """A request to the shared virtual host (or the TLS one for host ``own.test``)."""
        if host == "own.test":
            return self.fetch(self.own, path, host, tls=True, **options)
        return self.fetch(self.shared, path, host, **options)


def _files(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(params=KINDS)
def site(
    request: pytest.FixtureRequest,
    short_dir: Path,
    make_server: Callable[[str], WebServer],
    start_daemon: Callable[[Mount], Any],
    certificate: tuple[str, str],
    free_port: Callable[[], int],
    fetch: Callable[..., Any],
    client_address: str,
) -> Site:
    """On one vhost: ``main`` (unix socket) at ``/``, ``sub`` (port) at ``/sub``, static-only ``docs``
    at ``/docs``; on a TLS vhost of its own: ``solo``."""
    kind: str = request.param
    server = make_server(kind)
    release = _files(short_dir / "release", {"public/hello.txt": "hello from main\n", "css/app.css": "b{}\n"})
    _files(short_dir / "docs", {"index.html": "<h1>docs</h1>\n", "guide/page.html": "guide\n"})
    # Links out of a static directory (spec 3.10: never served), to a file and to a directory.
    _files(short_dir / "outside", {"secret.txt": "not for the web\n"})
    (release / "public" / "leak.txt").symlink_to(short_dir / "outside" / "secret.txt")
    (release / "public" / "out").symlink_to(short_dir / "outside")
    shared, own, files = free_port(), free_port(), free_port()
    cert, key = certificate
    routes = (
        Routes()
        .add_vhost(VirtualHost(name="shared", server_names=("shared.test", "*.shared.test"), port=shared))
        .add_vhost(
            VirtualHost(name="own", server_names=("own.test",), port=own, tls_certificate=cert, tls_key=key)
        )
        .mount(
            Mount(
                app="main",
                vhost="shared",
                upstream=Upstream.unix(short_dir / "main.sock"),
                static=static_paths([StaticDir(url="/static", dir="public")], release),
            )
        )
        .mount(
            Mount(
                app="sub",
                vhost="shared",
                prefix="/sub",
                upstream=Upstream.tcp("127.0.0.1", free_port()),
                static=(StaticPath(url="/assets", directory=str(release / "css")),),
            )
        )
        .mount(
            Mount(
                app="docs",
                vhost="shared",
                prefix="/docs",
                static=(StaticPath(url="/", directory=str(short_dir / "docs")),),
            )
        )
        .mount(Mount(app="solo", vhost="own", upstream=Upstream.unix(short_dir / "solo.sock")))
        .add_vhost(VirtualHost(name="files", port=files))
        .mount(
            Mount(app="site", vhost="files", static=(StaticPath(url="/", directory=str(short_dir / "docs")),))
        )
    )
    store = RouteStore(short_dir / "webservers")
    store.save(routes)
    daemons = {app: start_daemon(routes.mounts[app]) for app in ("main", "sub", "solo")}
    server.activate(store.load(), start=True)
    return Site(kind, server, store, routes, daemons, shared, own, files, fetch, client_address)


def test_apps_answer_under_their_prefix_with_the_client_s_host_scheme_and_address(site: Site) -> None:
    root = site.get("/hello?x=1", f"shared.test:{site.shared}", headers=SPOOFED).json()
    assert root == {
        "app": "main",
        "script_name": "",
        "path_info": "/hello",
        "query": "x=1",
        "host": f"shared.test:{site.shared}",
        "scheme": "http",
        "remote_addr": site.client,
        "link": "/page",
    }
    sub = site.get("/sub/hello/there", f"www.shared.test:{site.shared}", headers=SPOOFED).json()
    assert (sub["app"], sub["script_name"], sub["path_info"]) == ("sub", "/sub", "/hello/there")
    assert (sub["host"], sub["scheme"], sub["remote_addr"]) == (
        f"www.shared.test:{site.shared}",
        "http",
        site.client,
    )
    assert sub["link"] == "/sub/page"
    exact = site.get("/sub", "shared.test").json()
    assert (exact["app"], exact["script_name"], exact["path_info"]) == ("sub", "/sub", "")
    # Escapes reach the app decoded (WSGI strings are latin-1), the query string as sent;
    # every server sends the path it routed on, normalized.
    escaped = site.get("/sub/a%20b/caf%C3%A9?q=a%20b", "shared.test").json()
    assert (escaped["path_info"], escaped["query"]) == ("/a b/caf\xc3\xa9", "q=a%20b")
    assert site.get("/sub/./a/../b", "shared.test").json()["path_info"] == "/b"
    moved = site.get("/elsewhere/../sub//c", "shared.test").json()
    assert (moved["app"], moved["script_name"], moved["path_info"]) == ("sub", "/sub", "/c")
    # Prefixes match whole segments: /subway belongs to the root app.
    subway = site.get("/subway", "shared.test").json()
    assert (subway["app"], subway["script_name"], subway["path_info"]) == ("main", "", "/subway")

    solo = site.get("/x/y", "own.test", headers=SPOOFED).json()
    assert solo == {
        "app": "solo",
        "script_name": "",
        "path_info": "/x/y",
        "query": "",
        "host": "own.test",
        "scheme": "https",
        "remote_addr": site.client,
        "link": "/page",
    }
    assert site.get("/hello", "nobody.test").status == 404


def test_static_files_are_served_by_the_web_server_alone(site: Site) -> None:
    hello = site.get("/static/hello.txt", "shared.test")
    assert (hello.status, hello.body) == (200, b"hello from main\n")
    css = site.get("/sub/assets/app.css", "shared.test")
    assert (css.status, css.body) == (200, b"b{}\n")
    assert css.headers["content-type"].startswith("text/css")
    assert site.get("/static/missing.txt", "shared.test").status == 404
    # A static-only app: its directory is the whole prefix, no daemon exists.
    assert site.get("/docs/", "shared.test").body == b"<h1>docs</h1>\n"
    assert site.get("/docs/guide/page.html", "shared.test").body == b"guide\n"
    assert site.get("/docs/nothing", "shared.test").status == 404
    # A static-only app at the root of a host that answers to any name.
    assert site.fetch(site.files, "/", "any.test").body == b"<h1>docs</h1>\n"
    assert site.fetch(site.files, "/guide/page.html", "127.0.0.1").body == b"guide\n"
    assert site.fetch(site.files, "/nothing", "any.test").status == 404
    # The daemons saw none of it.
    seen = site.daemons["main"].requests() + site.daemons["sub"].requests()
    assert not [uri for uri in seen if "static" in uri or "assets" in uri or "docs" in uri]


def test_no_symbolic_link_out_of_a_static_directory_is_followed(
    site: Site, request: pytest.FixtureRequest
) -> None:
    """Spec 3.10: a static file never comes from outside its directory, also not through a link."""
    if site.kind == "lighttpd":
        # Its switch (server.follow-symlink) checks every part of the path, and a host's static directories
        # lie below the link `current` (docs/web.md): not met yet.
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{site.kind} follows links out"))
    for escape in ("/static/leak.txt", "/static/out/secret.txt"):
        leaked = site.get(escape, "shared.test")
        assert leaked.status in (403, 404) and b"not for the web" not in leaked.body, escape


def test_a_conflicting_mount_is_refused_and_changes_nothing(site: Site) -> None:
    before = site.store.path.read_text()
    with pytest.raises(
        MountConflict, match=r"/sub/deeper lies inside /sub, where 'sub' is mounted"
    ) as caught:
        site.store.update(
            lambda r: r.mount(
                Mount(
                    app="intruder",
                    vhost="shared",
                    prefix="/sub/deeper",
                    upstream=Upstream.tcp("127.0.0.1", 9),
                )
            )
        )
    assert caught.value.holder == "sub"
    with pytest.raises(MountConflict, match="already mounted at /docs"):
        site.store.update(
            lambda r: r.mount(
                Mount(app="intruder", vhost="shared", prefix="/docs", upstream=Upstream.tcp("127.0.0.1", 9))
            )
        )
    assert site.store.path.read_text() == before
    assert site.get("/sub/x", "shared.test").json()["app"] == "sub"


def test_a_refused_setting_never_replaces_the_serving_configuration(site: Site) -> None:
    live = site.server.live.resolve()
    directive, message = BROKEN[site.kind]
    shared = site.routes.vhosts["shared"]
    broken = site.routes.add_vhost(
        VirtualHost(
            name="shared",
            server_names=shared.server_names,
            port=shared.port,
            directives={site.kind: directive},
        )
    )
    with pytest.raises(ConfigTestFailed) as caught:
        site.server.activate(broken)
    assert message in str(caught.value)
    assert "previous configuration keeps serving" in str(caught.value)
    assert site.server.live.resolve() == live
    assert site.get("/still", "shared.test").json()["path_info"] == "/still"
    # A valid setting of the same kind goes live.
    harmless = {
        "nginx": "add_header X-Pyapp-Test yes;",
        "apache": 'Header set X-Pyapp-Test "yes"',
        "lighttpd": 'server.tag = "pyapp-test"',
    }
    site.server.activate(
        site.routes.add_vhost(
            VirtualHost(
                name="shared",
                server_names=shared.server_names,
                port=shared.port,
                directives={site.kind: harmless[site.kind]},
            )
        )
    )
    assert site.server.live.resolve() != live
    assert site.get("/again", "shared.test").json()["path_info"] == "/again"
    static = site.get("/static/hello.txt", "shared.test")
    assert static.headers.get("x-pyapp-test") == "yes" or static.headers.get("server") == "pyapp-test"


def test_a_new_upstream_keeps_the_mount_and_takes_over(
    site: Site, start_daemon: Callable[..., Any], short_dir: Path
) -> None:
    routes = site.store.update(lambda r: r.set_upstream("sub", Upstream.unix(short_dir / "sub-2.sock")))
    assert (
        routes.mounts["sub"].prefix == "/sub"
        and routes.mounts["sub"].static == site.routes.mounts["sub"].static
    )
    start_daemon(routes.mounts["sub"], "sub-2")
    activation = site.server.activate(routes)
    assert activation.reloaded
    answer = site.get("/sub/new", "shared.test").json()
    assert (answer["app"], answer["script_name"], answer["path_info"]) == ("sub-2", "/sub", "/new")
    assert site.get("/sub/assets/app.css", "shared.test").body == b"b{}\n"
