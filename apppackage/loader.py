"""Loading ``module:attr`` references (spec section 3.6 and 6.1)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from ._bootstrap import split_ref
from .errors import LoadError

__all__ = ["load_object", "load_wsgi_app"]

WSGIApp = Callable[..., Any]


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
    """The WSGI callable of section 3.6: the object itself, or ``factory(config)``."""
    obj = load_object(ref)
    if factory:
        try:
            obj = obj(dict(config or {}))
        except Exception as exc:
            raise LoadError(ref, f"the factory raised {type(exc).__name__}: {exc}") from exc
    if not callable(obj):
        kind = "the factory's result" if factory else "the object"
        raise LoadError(ref, f"{kind} is not callable, so it is not a WSGI application")
    return obj  # type: ignore[no-any-return]
