"""Loading ``module:attr`` references, the WSGI and the ASGI application (spec sections 3.6, 3.16, 6.1, 6.6
and 6.7)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from apppackage import AppPackage, AppPackageError, LoadError
from apppackage.loader import load_asgi_app, load_object, load_wsgi_app


def call(app: Callable[..., Iterable[bytes]], path: str = "/") -> tuple[str, bytes]:
    """Call a WSGI application once; return its status and body."""
    seen: list[str] = []
    body = b"".join(app({"PATH_INFO": path, "SCRIPT_NAME": ""}, lambda status, headers: seen.append(status)))
    return seen[0], body


def variant(tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any], wsgi: Any) -> AppPackage:
    if wsgi is None:
        del demo_metadata["wsgi"]
    else:
        demo_metadata["wsgi"] = wsgi
    return AppPackage(package_factory(tmp_path / "variant", demo_metadata))


def test_the_wsgi_app_is_the_object_itself(demo_dir: Path) -> None:
    pkg = AppPackage(demo_dir)
    with pkg.activate():
        app = pkg.wsgi_app()
        assert app is sys.modules["demo.web"].application
        assert call(app) == ("200 OK", b"demo 2.1.0")


def test_a_factory_is_called_with_the_configuration(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    pkg = variant(tmp_path, package_factory, demo_metadata, {"app": "demo.factory:make", "factory": True})
    with pkg.activate():
        config = {"title": "Hi", "workers": 2}
        app = pkg.wsgi_app(config)
        assert app.config == config  # type: ignore[attr-defined]
        assert call(app) == ("200 OK", json.dumps(config, sort_keys=True).encode())
        # Without one: the filled-in configuration of the activation, as the app's file holds it
        # (defaults, secrets generated), as a host calls a factory (section 6.6).
        filled = pkg.wsgi_app().config  # type: ignore[attr-defined]
        assert filled == yaml.safe_load(Path(os.environ["PYAPP_CONFIG_FILE"]).read_text())
        assert filled["title"] == "Demo" and filled["mode"] == "ok" and len(filled["secret_key"]) == 24
    given = {"title": "Given", "mode": "ok"}
    with pkg.activate(config=given):
        assert pkg.wsgi_app().config == given  # type: ignore[attr-defined]
        assert yaml.safe_load(Path(os.environ["PYAPP_CONFIG_FILE"]).read_text()) == given
    # With host paths of one's own and no configuration given: the spec's defaults.
    with pkg.activate(pkg.host_paths(tmp_path / "state")):
        assert pkg.wsgi_app().config == {"title": "Demo", "mode": "ok"}  # type: ignore[attr-defined]


def test_load_object_walks_the_attribute_path(demo_dir: Path) -> None:
    with AppPackage(demo_dir).activate():
        assert load_object("demo.web:application.__name__") == "application"
        assert load_object("demo.web:NOT_CALLABLE") == 42


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("demo.nothere:app", "no module named 'demo.nothere' on the application's sys.path"),
        ("nopackage_xyz.web:app", "no module named 'nopackage_xyz' on the application's sys.path"),
        ("demo.web:nothere", "'demo.web' has no attribute path 'nothere' "),
        ("demo.web:application.nothere", "'demo.web' has no attribute path 'application.nothere' "),
        (
            "demo.needsdep:x",
            "importing 'demo.needsdep' failed: No module named 'notinstalled_dependency_xyz'",
        ),
        ("nocolon", "'nocolon' is not a 'module:attribute' reference"),
        ("demo.web:", "'demo.web:' is not a 'module:attribute' reference"),
    ],
)
def test_load_errors_say_what_failed(demo_dir: Path, ref: str, reason: str) -> None:
    with AppPackage(demo_dir).activate(), pytest.raises(LoadError) as info:
        load_object(ref)
    assert info.value.ref == ref
    assert info.value.reason.startswith(reason)
    assert str(info.value) == f"cannot load {ref!r}: {info.value.reason}"
    assert isinstance(info.value, AppPackageError)


def test_a_module_raising_on_import_is_named_with_its_line(demo_dir: Path) -> None:
    with AppPackage(demo_dir).activate(), pytest.raises(LoadError) as info:
        load_object("demo.broken:app")
    broken = demo_dir / "src" / "demo" / "broken.py"
    assert info.value.reason == f"importing 'demo.broken' raised RuntimeError: broken at import ({broken}:1)"
    assert "demo.broken" not in sys.modules


def test_an_attribute_error_raised_on_import_is_not_a_missing_attribute(demo_dir: Path) -> None:
    with AppPackage(demo_dir).activate(), pytest.raises(LoadError) as info:
        load_object("demo.attrbroken:VALUE")
    where = demo_dir / "src" / "demo" / "attrbroken.py"
    assert info.value.reason == (
        "importing 'demo.attrbroken' raised AttributeError: module 'os' has no attribute "
        f"'no_such_function' ({where}:3)"
    )


@pytest.mark.parametrize(
    ("wsgi", "reason"),
    [
        ({"app": "demo.web:NOT_CALLABLE"}, "the object is not callable, so it is not a WSGI application"),
        (
            {"app": "demo.factory:not_an_app", "factory": True},
            "the factory's result is not callable, so it is not a WSGI application",
        ),
        (
            {"app": "demo.factory:broken", "factory": True},
            "the factory raised ValueError: the factory refuses this configuration",
        ),
        ({"app": "demo.missing:app"}, "no module named 'demo.missing' on the application's sys.path"),
    ],
)
def test_wsgi_load_errors(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any], wsgi: dict[str, Any], reason: str
) -> None:
    pkg = variant(tmp_path, package_factory, demo_metadata, wsgi)
    with pkg.activate(), pytest.raises(LoadError) as info:
        pkg.wsgi_app({})
    assert (info.value.ref, info.value.reason) == (wsgi["app"], reason)


def test_an_app_without_wsgi_says_so(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    pkg = variant(tmp_path, package_factory, demo_metadata, None)
    with pkg.activate(), pytest.raises(LoadError, match="demo declares no WSGI application"):
        pkg.wsgi_app()


def test_load_wsgi_app_outside_a_package() -> None:
    assert load_wsgi_app("json:dumps", False) is json.dumps
    with pytest.raises(LoadError, match="the factory's result is not callable"):
        load_wsgi_app("builtins:dict", True, {"a": 1})


def test_the_hello_example_serves(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    pkg = AppPackage(repo_root / "examples" / "hello")
    assert pkg.validate() == []
    with pkg.activate():
        app = pkg.wsgi_app()
        status, body = call(app)
        assert status == "200 OK"
        assert b"<h1>Hello from hello 1.0.0</h1>" in body
        assert b"Visit number 1." in body
        assert call(app)[1].count(b"Visit number 2.") == 1
        assert call(app, "/health") == ("200 OK", b"ok")
        assert call(app, "/nope")[0] == "404 Not Found"


# -- the ASGI application (sections 3.16 and 6.7) --------------------------------------------------

ASGI_SOURCE = """
    import json
    import os

    NOT_CALLABLE = 42


    async def application(scope, receive, send):
        body = f"asgi {os.environ.get('PYAPP_VERSION')} at {scope['root_path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


    def make(config):
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": json.dumps(config, sort_keys=True).encode()})

        app.config = config
        return app


    def not_an_app(config):
        return 42


    async def make_async(config):
        return application
    """


def asgi_call(app: Callable[..., Any], path: str = "/", root_path: str = "") -> tuple[int, bytes]:
    """Serve one HTTP request with the ASGI 3 application *app* as an ASGI server does; its status, body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": root_path + path, "raw_path": (root_path + path).encode(), "root_path": root_path,
        "query_string": b"", "headers": [], "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 50000),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def asgi_variant(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any], asgi: Any
) -> AppPackage:
    """The demo served by an ASGI application instead of its WSGI one."""
    del demo_metadata["wsgi"]
    demo_metadata["pyapp"] = "1.1"
    demo_metadata["asgi"] = asgi
    root = package_factory(tmp_path / "asgi", demo_metadata, files={"src/demo/asgi.py": ASGI_SOURCE})
    return AppPackage(root)


def test_the_asgi_app_is_the_object_itself(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any], zip_factory: Any
) -> None:
    pkg = asgi_variant(tmp_path, package_factory, demo_metadata, {"app": "demo.asgi:application"})
    assert pkg.validate() == []
    for package in (pkg, AppPackage(zip_factory(pkg.root, tmp_path / "demo.pyapp"))):
        with package.activate():
            app = package.asgi_app()
            assert app is sys.modules["demo.asgi"].application
            assert asgi_call(app, "/hello", root_path="/demo") == (200, b"asgi 2.1.0 at /demo")


def test_an_asgi_factory_is_called_with_the_configuration(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    pkg = asgi_variant(tmp_path, package_factory, demo_metadata, {"app": "demo.asgi:make", "factory": True})
    with pkg.activate():
        config = {"title": "Hi", "mode": "ok"}
        assert asgi_call(pkg.asgi_app(config)) == (200, json.dumps(config, sort_keys=True).encode())
        # Without one: the filled-in configuration of the activation, as its file holds it (section 6.7).
        filled = pkg.asgi_app().config  # type: ignore[attr-defined]
        assert filled == yaml.safe_load(Path(os.environ["PYAPP_CONFIG_FILE"]).read_text())
        assert filled["title"] == "Demo" and len(filled["secret_key"]) == 24
    given = {"title": "Given", "mode": "ok"}
    with pkg.activate(config=given):
        assert pkg.asgi_app().config == given  # type: ignore[attr-defined]


def test_a_trusted_package_loads_its_asgi_app(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    checked = asgi_variant(
        tmp_path, package_factory, demo_metadata, {"app": "demo.asgi:make", "factory": True}
    )
    pkg = AppPackage.trusted(
        checked.root, checked.description.to_dict(), {"fields": {"title": {"type": "string"}}}
    )
    with pkg.activate(config={"title": "Trusted"}):
        assert asgi_call(pkg.asgi_app()) == (200, b'{"title": "Trusted"}')


@pytest.mark.parametrize(
    ("asgi", "reason"),
    [
        ({"app": "demo.asgi:NOT_CALLABLE"}, "the object is not callable, so it is not an ASGI application"),
        (
            {"app": "demo.asgi:not_an_app", "factory": True},
            "the factory's result is not callable, so it is not an ASGI application",
        ),
        (
            {"app": "demo.asgi:make_async", "factory": True},
            "the factory is a coroutine function: make it a plain function that returns the ASGI app",
        ),
        ({"app": "demo.missing:app"}, "no module named 'demo.missing' on the application's sys.path"),
    ],
)
def test_asgi_load_errors(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any], asgi: dict[str, Any], reason: str
) -> None:
    pkg = asgi_variant(tmp_path, package_factory, demo_metadata, asgi)
    with pkg.activate(), pytest.raises(LoadError) as info:
        pkg.asgi_app({})
    assert (info.value.ref, info.value.reason) == (asgi["app"], reason)


def test_asking_for_the_kind_of_app_a_package_does_not_declare_names_the_one_it_does(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any], demo_dir: Path
) -> None:
    with AppPackage(demo_dir) as wsgi, pytest.raises(LoadError) as info:
        wsgi.asgi_app()
    assert str(info.value) == (
        "cannot load 'asgi.app': demo declares no ASGI application (no /asgi in metadata.yaml): it declares "
        "a WSGI one, use wsgi_app()"
    )
    asgi = asgi_variant(tmp_path, package_factory, demo_metadata, {"app": "demo.asgi:application"})
    with (
        asgi,
        pytest.raises(
            LoadError, match=r"no /wsgi in metadata\.yaml\): it declares an ASGI one, use asgi_app"
        ),
    ):
        asgi.wsgi_app()


def test_load_asgi_app_outside_a_package() -> None:
    assert load_asgi_app("json:dumps", False) is json.dumps
    with pytest.raises(
        LoadError, match="the factory's result is not callable, so it is not an ASGI application"
    ):
        load_asgi_app("builtins:dict", True, {"a": 1})
