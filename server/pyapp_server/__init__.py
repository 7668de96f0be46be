"""pyapp_server: the management server, a Pyramid application served by waitress.

``main(global_config, **settings)`` makes the WSGI app; :mod:`pyapp_server.serve`
runs it. The JSON API lives under ``/api/v1`` (``/api/v1/openapi.json`` describes
it), XML-RPC at ``/RPC2``. Everything done to apps is done by
:class:`pyapp_runtime.Host`.
"""

from __future__ import annotations

from .app import main, services_of

__all__ = ["main", "services_of"]
