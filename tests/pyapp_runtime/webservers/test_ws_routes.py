"""The routing table: what it accepts, what it refuses and why, and its file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pyapp_runtime.webservers import (
    InvalidRoute,
    Mount,
    MountConflict,
    Routes,
    RouteStore,
    StaticPath,
    Upstream,
    VirtualHost,
    asgi_daemon_options,
    daemon_arguments,
    daemon_options,
    static_paths,
)

from apppackage.description import StaticDir
from apppackage.errors import AppPackageError

SOCK = Upstream.unix("/run/pyapp/app.sock")


def table() -> Routes:
    return (
        Routes()
        .add_vhost(VirtualHost(name="shared", server_names=("example.test",), port=8080))
        .add_vhost(VirtualHost(name="own", server_names=("own.test",), port=8080))
        .mount(
            Mount(
                app="root",
                vhost="shared",
                upstream=SOCK,
                static=(StaticPath(url="/static", directory="/srv/r"),),
            )
        )
        .mount(Mount(app="blog", vhost="shared", prefix="/blog/", upstream=Upstream.tcp("127.0.0.1", 8001)))
    )


def test_a_root_mount_and_a_sub_mount_share_a_host_and_the_longest_prefix_comes_first() -> None:
    routes = table()
    assert [m.prefix for m in routes.mounts_on("shared")] == ["/blog", "/"]
    assert routes.url("blog", "/post/1") == "http://example.test:8080/blog/post/1"
    assert routes.url("root") == "http://example.test:8080/"


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("/", "'root' is already mounted at /"),
        ("/blog", "'blog' is already mounted at /blog"),
        ("/blog/admin", "/blog/admin lies inside /blog, where 'blog' is mounted"),
        ("/static", "'root' serves static files at /static, which overlaps 'new' at /static"),
        ("/static/deep", "'root' serves static files at /static"),
    ],
)
def test_overlapping_mounts_are_refused_naming_the_holder(prefix: str, message: str) -> None:
    with pytest.raises(MountConflict) as caught:
        table().mount(Mount(app="new", vhost="shared", prefix=prefix, upstream=SOCK))
    assert message in str(caught.value)
    assert "unmount" in str(caught.value)
    assert isinstance(caught.value, AppPackageError) and isinstance(caught.value, ValueError)


def test_an_outer_prefix_over_another_app_is_refused_too() -> None:
    routes = (
        Routes()
        .add_vhost(VirtualHost(name="v", port=80))
        .mount(Mount(app="a", vhost="v", prefix="/a/b", upstream=SOCK))
    )
    with pytest.raises(MountConflict, match="'a' is mounted at /a/b, inside /a") as caught:
        routes.mount(Mount(app="b", vhost="v", prefix="/a", upstream=SOCK))
    assert (caught.value.holder, caught.value.vhost, caught.value.path) == ("a", "v", "/a/b")


def test_what_does_not_conflict() -> None:
    routes = table()
    # Whole segments: /blogging is not inside /blog.
    routes = routes.mount(Mount(app="blogging", vhost="shared", prefix="/blogging", upstream=SOCK))
    # Another virtual host is another URL space.
    routes = routes.mount(Mount(app="other", vhost="own", prefix="/blog", upstream=SOCK))
    # Moving an app does not conflict with its own old mount.
    routes = routes.mount(Mount(app="blog", vhost="shared", prefix="/blog/v2", upstream=SOCK))
    assert routes.mounts["blog"].prefix == "/blog/v2"


def test_a_new_upstream_or_new_static_dirs_keep_the_mount() -> None:
    routes = table().set_upstream("blog", Upstream.unix("/run/pyapp/blog-2.sock"))
    assert routes.mounts["blog"].prefix == "/blog"
    assert str(routes.mounts["blog"].upstream) == "unix:/run/pyapp/blog-2.sock"
    routes = routes.set_static("root", static_paths([StaticDir(url="/static/", dir="public")], "/srv/r/2.0"))
    assert routes.mounts["root"].static == (StaticPath(url="/static", directory="/srv/r/2.0/public"),)
    with pytest.raises(InvalidRoute, match="'ghost' is not mounted"):
        routes.set_upstream("ghost", SOCK)


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        ({"prefix": "blog"}, "is not a URL path"),
        ({"prefix": "/a b"}, "is not a URL path"),
        ({"prefix": "/a/../b"}, "'.' or '..'"),
        ({"vhost": "nowhere"}, "there is no virtual host 'nowhere'"),
        ({"upstream": None}, "nothing to serve"),
        ({"static": (StaticPath(url="/", directory="/srv"),)}, "would serve every request from files"),
        (
            {"static": (StaticPath(url="/s", directory="/a"), StaticPath(url="/s/", directory="/b"))},
            "listed twice",
        ),
    ],
)
def test_malformed_mounts_are_refused(mount: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"app": "x", "vhost": "shared", "prefix": "/x", "upstream": SOCK, **mount}
    with pytest.raises(InvalidRoute, match=message):
        table().mount(Mount(**fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Upstream.parse("example.com:80"), "not an IP address"),
        (lambda: Upstream.parse("10.0.0.1:80"), "not a loopback address"),
        (lambda: Upstream.parse("127.0.0.1:0"), "not a port number"),
        (lambda: Upstream.unix("relative.sock"), "must be absolute"),
        (lambda: Upstream.unix("/a:b.sock"), "must be absolute and use only"),
        (lambda: Upstream.unix("/" + "x" * 120), "longer than 107 bytes"),
        (lambda: StaticPath(url="/s", directory='/srv/"quoted"'), "contains a quote"),
        (lambda: StaticPath(url="/s", directory="srv"), "must be an absolute path"),
        (lambda: VirtualHost(name="v", port=70000), "not a port number"),
        (lambda: VirtualHost(name="v", port=80, address="localhost"), "not an IP address"),
        (lambda: VirtualHost(name="v", port=80, server_names=("bad_name",)), "not a host name"),
        (lambda: VirtualHost(name="v", port=80, tls_certificate="/c.pem"), "both a certificate and a key"),
        (lambda: VirtualHost(name="v", port=80, directives={"iis": "x"}), "unknown web server 'iis'"),
        (lambda: VirtualHost(name="Bad", port=80), "not a valid name"),
    ],
)
def test_malformed_values_are_refused(make: object, message: str) -> None:
    with pytest.raises(InvalidRoute, match=message):
        make()  # type: ignore[operator]


def test_upstreams_read_and_write_as_text() -> None:
    assert str(Upstream.parse("unix:/run/a.sock")) == "unix:/run/a.sock"
    assert str(Upstream.parse("/run/a.sock")) == "unix:/run/a.sock"
    assert str(Upstream.parse("localhost:8001")) == "127.0.0.1:8001"
    assert str(Upstream.parse("[::1]:8001")) == "[::1]:8001"


@pytest.mark.parametrize(
    ("other", "message"),
    [
        ({"server_names": ("example.test", "b.test")}, "already answers to example.test"),
        ({"server_names": ("b.test",), "tls_certificate": "/c", "tls_key": "/k"}, "does not use TLS"),
        ({"server_names": ("b.test",), "address": "0.0.0.0"}, "listened on all addresses"),
    ],
)
def test_virtual_hosts_that_would_answer_the_same_requests_are_refused(
    other: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRoute, match=message):
        table().add_vhost(VirtualHost(name="new", port=8080, **other))  # type: ignore[arg-type]


def test_two_default_hosts_on_one_port_are_refused_but_not_on_two() -> None:
    routes = Routes().add_vhost(VirtualHost(name="a", port=8080)).add_vhost(VirtualHost(name="b", port=8081))
    with pytest.raises(InvalidRoute, match="already the default host"):
        routes.add_vhost(VirtualHost(name="c", port=8080))


def test_a_virtual_host_in_use_cannot_be_removed() -> None:
    with pytest.raises(InvalidRoute, match="still serves blog, root: unmount them first"):
        table().remove_vhost("shared")
    assert "shared" not in table().unmount("root").unmount("blog").remove_vhost("shared").vhosts


def test_the_table_round_trips_through_its_file_written_atomically(tmp_path: Path) -> None:
    store = RouteStore(tmp_path / "webservers")
    assert store.load() == Routes()
    routes = table().add_vhost(
        VirtualHost(
            name="tls",
            server_names=("Secure.Test",),
            port=8443,
            tls_certificate="/c.pem",
            tls_key="/k.pem",
            directives={"nginx": "client_max_body_size 5m;"},
        )
    )
    store.save(routes)
    assert store.load() == routes
    assert store.load().vhosts["tls"].server_names == ("secure.test",)
    assert sorted(os.listdir(store.state_dir)) == ["state.json"]
    raw = json.loads(store.path.read_text())
    assert raw["mounts"]["blog"] == {
        "vhost": "shared",
        "prefix": "/blog",
        "upstream": "127.0.0.1:8001",
        "static": [],
    }
    updated = store.update(lambda r: r.unmount("blog"))
    assert "blog" not in updated.mounts and "blog" not in store.load().mounts


def test_a_broken_file_is_reported_with_where_and_what_to_do(tmp_path: Path) -> None:
    store = RouteStore(tmp_path)
    raw = table().to_dict()
    raw["mounts"]["blog"]["prefix"] = "/blog/../x"
    store.path.write_text(json.dumps(raw))
    with pytest.raises(
        InvalidRoute, match=r"state\.json:/mounts/blog/prefix: prefix '/blog/\.\./x'"
    ) as caught:
        store.load()
    assert caught.value.where.endswith("state.json:/mounts/blog/prefix")
    store.path.write_text("{not json")
    with pytest.raises(InvalidRoute, match=r"not valid JSON.*fix or remove the file"):
        store.load()


def test_daemon_options_make_waitress_trust_only_the_web_server() -> None:
    routes = table()
    blog = daemon_options(routes.mounts["blog"])
    assert blog == {
        "host": "127.0.0.1",
        "port": 8001,
        "trusted_proxy": "127.0.0.1",
        "trusted_proxy_headers": "x-forwarded-for x-forwarded-host x-forwarded-proto",
        "trusted_proxy_count": 1,
        "clear_untrusted_proxy_headers": True,
        "url_prefix": "/blog",
    }
    root = daemon_options(routes.mounts["root"], socket_perms="660")
    assert (root["unix_socket"], root["unix_socket_perms"], root["trusted_proxy"]) == (
        "/run/pyapp/app.sock",
        "660",
        "localhost",
    )
    assert "url_prefix" not in root
    assert daemon_arguments(routes.mounts["blog"])[-2:] == [
        "--clear-untrusted-proxy-headers",
        "--url-prefix=/blog",
    ]
    static_only = Mount(
        app="docs", vhost="shared", prefix="/docs", static=(StaticPath(url="/", directory="/srv"),)
    )
    with pytest.raises(InvalidRoute, match="static-only"):
        daemon_options(static_only)


def test_asgi_daemon_options_give_the_mount_path_as_root_path_and_trust_only_the_web_server() -> None:
    routes = table()
    blog = asgi_daemon_options(routes.mounts["blog"])
    assert blog == {
        "host": "127.0.0.1",
        "port": 8001,
        "mount_path": "/blog",
        "uvicorn": {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.1"},
    }
    root = asgi_daemon_options(routes.mounts["root"], socket_perms="660")
    # uvicorn sees no peer address on a unix socket: whoever may connect to it is the web server.
    assert root == {
        "unix_socket": "/run/pyapp/app.sock",
        "unix_socket_perms": "660",
        "mount_path": "",
        "uvicorn": {"proxy_headers": True, "forwarded_allow_ips": "*"},
    }


@pytest.mark.parametrize("socket_perms", [None, "660"])
def test_daemon_options_and_arguments_are_the_same_to_waitress(socket_perms: str | None) -> None:
    """``waitress.serve(**daemon_options)`` and ``waitress-serve *daemon_arguments`` make the same server."""
    from waitress.adjustments import Adjustments

    params = [name for name, _ in Adjustments._params]
    for mount in table().mounts.values():
        options = daemon_options(mount, socket_perms=socket_perms)
        # waitress-serve's own parser, as it reads its command line.
        parsed, positional = Adjustments.parse_args(daemon_arguments(mount, socket_perms=socket_perms))
        assert positional == [], mount.app
        assert (parsed.pop("help"), parsed.pop("call")) == (False, False)
        assert set(parsed) == set(options), mount.app
        from_options, from_arguments = Adjustments(**options), Adjustments(**parsed)
        for name in params:
            assert getattr(from_arguments, name) == getattr(from_options, name), (mount.app, name)
