"""notes: a small Pyramid notebook packaged as a pyapp application.

``main`` is the standard Pyramid application factory (what ``pserve`` or a
PasteDeploy file calls); :func:`notes.app.make_app` is the pyapp WSGI factory.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["main"]


def main(global_config: dict[str, Any], **settings: Any) -> Any:
    """Build the Pyramid WSGI application from *settings* (``notes.*`` keys, typed or text)."""
    # Pyramid is imported here, not at the top: commands, hooks and the task import
    # this package too, and none of them needs the web framework.
    with warnings.catch_warnings():
        # Pyramid 2.1 imports pkg_resources (it requires setuptools<82, which has it), and
        # setuptools warns about that on every start: nothing the operator can act on.
        warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
        from pyramid.config import Configurator
    from pyramid.csrf import SessionCSRFStoragePolicy

    from .sessions import SessionStore, session_factory
    from .settings import Settings

    parsed = Settings.from_mapping(settings, prefix="notes.")
    _, sessions_dir = parsed.require_dirs()
    with Configurator(settings=settings) as config:
        config.registry["notes.settings"] = parsed
        config.set_session_factory(session_factory(SessionStore(sessions_dir, parsed.session_secret)))
        config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
        config.set_default_csrf_options(require_csrf=True)
        config.include(".routes")
        config.scan(".views")
    return config.make_wsgi_app()
