"""Include fragments for a system web server pass that server's own configuration test."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pyapp_runtime.webservers import (
    Mount,
    Routes,
    StaticPath,
    Upstream,
    VirtualHost,
    find_installation,
    render_fragment,
)


def routes(port: int, tls_port: int, certificate: tuple[str, str], static: Path) -> Routes:
    cert, key = certificate
    return (
        Routes()
        .add_vhost(VirtualHost(name="shared", server_names=("shared.test", "*.shared.test"), port=port))
        .add_vhost(VirtualHost(name="fallback", port=port))
        .add_vhost(
            VirtualHost(
                name="secure", server_names=("secure.test",), port=tls_port, tls_certificate=cert, tls_key=key
            )
        )
        .mount(Mount(app="main", vhost="shared", upstream=Upstream.unix("/run/pyapp/main.sock")))
        .mount(
            Mount(
                app="sub",
                vhost="shared",
                prefix="/sub",
                upstream=Upstream.tcp("::1", 8001),
                static=(StaticPath(url="/static", directory=str(static)),),
            )
        )
        .mount(
            Mount(
                app="docs",
                vhost="fallback",
                prefix="/docs",
                static=(StaticPath(url="/", directory=str(static)),),
            )
        )
        .mount(Mount(app="safe", vhost="secure", prefix="/app", upstream=Upstream.tcp("127.0.0.1", 8002)))
    )


def config_test(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


@pytest.fixture
def table(tmp_path: Path, free_port: Callable[[], int], certificate: tuple[str, str]) -> Routes:
    static = tmp_path / "static"
    static.mkdir()
    return routes(free_port(), free_port(), certificate, static)


def test_an_nginx_fragment_goes_inside_http(tmp_path: Path, table: Routes) -> None:
    nginx = find_installation("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed")
    fragment = tmp_path / "pyapp.conf"
    fragment.write_text(render_fragment("nginx", table, empty_dir=str(tmp_path)))
    main = tmp_path / "nginx.conf"
    main.write_text(
        f'pid "{tmp_path}/nginx.pid";\nerror_log "{tmp_path}/error.log";\nevents {{}}\n'
        f'http {{\n    include "{fragment}";\n}}\n'
    )
    config_test([nginx.binary, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(main)])
    text = fragment.read_text()
    assert "server_name shared.test *.shared.test;" in text
    assert text.count("default_server") == 1  # only the host without names; no catch-all of ours
    # WebSocket handshakes pass on (the map goes in http, beside the server blocks).
    assert (
        "map $http_upgrade $pyapp_connection {" in text and "proxy_set_header Upgrade $http_upgrade;" in text
    )


def test_an_apache_fragment_needs_only_the_proxy_modules(tmp_path: Path, table: Routes) -> None:
    apache = find_installation("apache")
    if apache is None:
        pytest.skip("Apache is not installed")
    modules = ["mpm_event", "authz_core", "alias", "headers", "proxy", "socache_shmcb", "ssl"]
    fragment = tmp_path / "pyapp.conf"
    # Of an Apache whose version is not known, no WebSocket (mod_proxy_http's upgrade= came with 2.4.47).
    assert "upgrade=websocket" not in render_fragment("apache", table, empty_dir=str(tmp_path))
    fragment.write_text(render_fragment("apache", table, empty_dir=str(tmp_path), version=apache.version))
    if apache.version >= (2, 4, 47):
        assert fragment.read_text().count("upgrade=websocket") == 3  # each proxied mount
    listens = sorted({v.listen for v in table.vhosts.values()})

    def main(extra: list[str]) -> Path:
        lines = [f'ServerRoot "{tmp_path}"']
        lines += [f'LoadModule {m}_module "{apache.modules_dir}/mod_{m}.so"' for m in modules + extra]
        lines += [
            f'PidFile "{tmp_path}/httpd.pid"',
            f'ErrorLog "{tmp_path}/error.log"',
            "ServerName localhost",
        ]
        lines += [f"Listen {listen}" for listen in listens]
        lines.append(f'Include "{fragment}"')
        path = tmp_path / "httpd.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    config_test([apache.binary, "-t", "-f", str(main(["proxy_http"]))])
    done = subprocess.run(
        [apache.binary, "-t", "-f", str(main([]))], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "pyapp needs Apache's proxy_http module" in done.stderr


def test_a_lighttpd_fragment_adds_its_sockets(tmp_path: Path, table: Routes) -> None:
    lighttpd = find_installation("lighttpd")
    if lighttpd is None:
        pytest.skip("lighttpd is not installed")
    fragment = tmp_path / "pyapp.conf"
    fragment.write_text(render_fragment("lighttpd", table, empty_dir=str(tmp_path)))
    main = tmp_path / "lighttpd.conf"
    main.write_text(
        'server.modules = ("mod_alias", "mod_proxy", "mod_openssl")\n'
        f'server.document-root = "{tmp_path}"\nserver.bind = "127.0.0.1"\nserver.port = 8\n'
        f'include "{fragment}"\n'
    )
    output = config_test([lighttpd.binary, "-tt", "-f", str(main)])
    assert "WARNING" not in output
    assert fragment.read_text().count('proxy.header = ("upgrade" => "enable")') == 3
