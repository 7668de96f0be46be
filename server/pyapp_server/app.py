"""The WSGI application: ``main(global_config, **settings)``, the Pyramid app factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.router import Router

from .services import Services
from .settings import ServerSettings

__all__ = ["main", "services_of"]


def _services(request: Request) -> Services:
    services: Services = request.registry["pyapp.services"]
    return services


def main(global_config: Mapping[str, Any] | None = None, **settings: Any) -> Router:
    """Make the management server's WSGI app from *settings* (see :mod:`pyapp_server.settings`).

    The app owns a job thread pool and, unless ``drop_interval`` is 0, a drop folder
    watcher: ``services_of(app).close()`` stops them.
    """
    server_settings = ServerSettings.from_mapping(settings)
    services = Services.create(server_settings)
    try:
        with Configurator(settings={**server_settings.to_settings(), **settings}) as config:
            config.registry["pyapp.services"] = services
            config.add_request_method(_services, "services", reify=True)
            config.include(".routes")
            config.include(".errors")
            config.include(".gate")  # before the request log, which then logs what the gate refuses too
            config.include(".serverlog")
            config.include(".versioning")
            config.include(".auth")
            config.include(".api")
            config.include(".api_web")
            config.include(".api_host")
            config.include(".events")
            config.include(".jobs")
            config.include(".xmlrpc")
            config.include(".dropfolder")
            config.include(".ui")
            app: Router = config.make_wsgi_app()
    except BaseException:
        services.close()
        raise
    return app


def services_of(app: Router) -> Services:
    """The parts of an app made by :func:`main` (to close them, or to reach them from a test)."""
    services: Services = app.registry["pyapp.services"]
    return services
