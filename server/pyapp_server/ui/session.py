"""The session cookie of the web interface (Pyramid's signed cookie session) and its CSRF tokens.

The cookie holds the id of a sign-in session (:mod:`pyapp_server.sessions`), the form's CSRF
token and messages shown once. It is signed with a key made once per data directory
(``<data>/server/session-secret``, mode 0600), HttpOnly, ``SameSite=Strict``, and ``Secure``
(named ``__Host-pyapp``) when the server speaks HTTPS. A session left unused for
:data:`IDLE_TIMEOUT` seconds is forgotten.
"""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.session import SignedCookieSessionFactory

from ..sessions import session_secret

__all__ = ["IDLE_TIMEOUT", "cookie_name", "includeme"]

IDLE_TIMEOUT = 2 * 3600
"""Seconds without a request after which a browser is signed out."""


def cookie_name(tls: bool) -> str:
    """The session cookie's name: with HTTPS, a ``__Host-`` name no other site or path can set."""
    return "__Host-pyapp" if tls else "pyapp"


def includeme(config: Configurator) -> None:
    """The session factory and CSRF tokens kept in the session."""
    settings = config.registry["pyapp.services"].settings
    factory = SignedCookieSessionFactory(
        session_secret(settings.state_dir),
        cookie_name=cookie_name(settings.tls),
        secure=settings.tls,
        httponly=True,
        samesite="Strict",
        timeout=IDLE_TIMEOUT,
        reissue_time=IDLE_TIMEOUT // 20,
        salt="pyapp.ui.session.",
    )
    config.set_session_factory(factory)
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
