"""Loading ``module:attr`` references (spec section 6.1), WSGI and ASGI applications (6.6, 6.7)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from ._bootstrap import split_ref
from .errors import LoadError

__all__ = ["load_asgi_app", "load_object", "load_wsgi_app"]

WSGIApp = Callable[..., Any]
ASGIApp = Callable[..., Any]


def load_object(ref: str) -> Any:
    """Import *ref* (``package.module:attr.attr``) from the current ``sys.path``.

    Raises :class:`LoadError` saying which part failed and why.
    """
    try:
        module, attrs = split_ref(ref)
    except ValueError as exc:
        raise LoadError(ref, str(exc)) from None
    try:
        obj = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            raise LoadError(ref, f"no module named {exc.name!r} on the application's sys.path") from exc
        raise LoadError(ref, f"importing {module!r} failed: {exc}") from exc
    except Exception as exc:
        import traceback

        last = traceback.extract_tb(exc.__traceback__)[-1]
        raise LoadError(
            ref, f"importing {module!r} raised {type(exc).__name__}: {exc} ({last.filename}:{last.lineno})"
        ) from exc
    # Walked apart from the import: an AttributeError raised by the module's own code is not
    # a missing attribute.
    for attr in attrs.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError as exc:
            raise LoadError(ref, f"{module!r} has no attribute path {attrs!r} ({exc})") from exc
    return obj


def load_wsgi_app(ref: str, factory: bool, config: Mapping[str, Any] | None = None) -> WSGIApp:
    """The WSGI callable of section 6.6: the object itself, or ``factory(config)``."""
    return _load_app(ref, factory, config, "WSGI")


def load_asgi_app(ref: str, factory: bool, config: Mapping[str, Any] | None = None) -> ASGIApp:
    """The ASGI 3 application of section 6.7: the object itself, or ``factory(config)`` (not awaited)."""
    return _load_app(ref, factory, config, "ASGI")


def _load_app(ref: str, factory: bool, config: Mapping[str, Any] | None, kind: str) -> Callable[..., Any]:
    obj = load_object(ref)
    if factory:
        try:
            obj = obj(dict(config or {}))
        except Exception as exc:
            raise LoadError(ref, f"the factory raised {type(exc).__name__}: {exc}") from exc
        if isinstance(obj, Coroutine):
            obj.close()  # never awaited: without this Python warns that it was not
            reason = (
                f"the factory is a coroutine function: make it a plain function that returns the {kind} app"
            )
            raise LoadError(ref, reason)
    if not callable(obj):
        what = "the factory's result" if factory else "the object"
        article = "an" if kind == "ASGI" else "a"
        raise LoadError(ref, f"{what} is not callable, so it is not {article} {kind} application")
    return obj  # type: ignore[no-any-return]
