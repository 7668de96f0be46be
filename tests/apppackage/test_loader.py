"""Loading ``module:attr`` references and the WSGI application (spec sections 3.6, 6.1 and 6.6)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from apppackage import AppPackage, AppPackageError, LoadError
from apppackage.loader import load_object, load_wsgi_app


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
