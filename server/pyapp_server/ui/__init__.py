"""The web interface: pages for people at ``/``, over the same :class:`~pyapp_server.manager.AppManager`
as the JSON API.

A browser signs in with an API token (:mod:`.signin`), which opens a sign-in session held by a
signed cookie (:mod:`.session`); the token's role decides what each page shows and which
actions it offers and allows. Every form carries Pyramid's CSRF token, every page works
without JavaScript, and ``static/ui.js`` makes a few of them live (job progress, uploads,
process states) by polling. Each concern has a module with its routes and views; the
templates are in ``templates/``, the style sheet and the script in ``static/``.
"""

from __future__ import annotations

from pyramid.config import Configurator

__all__ = ["includeme"]

CONCERNS = (".signin", ".dashboard", ".apps", ".config", ".install", ".jobs", ".web", ".host", ".tokens")


def includeme(config: Configurator) -> None:
    """The session, the templates and the headers, the error pages, then each concern's routes and views."""
    config.include("pyramid_jinja2")
    config.include(".session")
    config.include(".pages")
    config.include(".errorpages")
    for concern in CONCERNS:
        config.include(concern)
