"""Managing the API tokens, for the API, XML-RPC and the web interface (admins only).

:class:`TokenAdmin` makes, lists and revokes tokens in the server's
:class:`~pyapp_server.tokens.TokenStore` and records each change as an event (``token``). A new token's
secret is in what :meth:`TokenAdmin.create` returns, this once; it is never stored, logged or shown again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ApiError
from .events import EventLog
from .tokens import TokenStore

__all__ = ["TokenAdmin"]


class TokenAdmin:
    """The tokens of *tokens*, their changes recorded in *events*."""

    def __init__(self, tokens: TokenStore, events: EventLog) -> None:
        self.tokens = tokens
        self.events = events

    def list(self) -> dict[str, Any]:
        """Every token (never a secret)."""
        return {"tokens": [t.to_dict() for t in self.tokens.list()]}

    def create(self, data: Mapping[str, Any], actor: str) -> dict[str, Any]:
        """Make a token of ``role`` (viewer, deployer, admin) for ``name``: the token with its secret (422: a
        field missing; 400: a role or name :class:`~pyapp_server.tokens.TokenStore` refuses)."""
        problems = [
            {"field": key, "path": f"/{key}", "message": "is required (a string)"}
            for key in ("role", "name")
            if not isinstance(data.get(key), str)
        ]
        problems += [
            {"field": key, "path": f"/{key}", "message": "unknown property"}
            for key in sorted(set(data) - {"role", "name"})
        ]
        if problems:
            raise ApiError("the request is not valid", status=422, code="invalid-request", errors=problems)
        new = self.tokens.create(data["role"], data["name"])
        self.events.record("token", f"token {new.token.name!r} ({new.token.role}) created", actor=actor)
        return dict(new.to_dict())

    def revoke(self, token_id: str, actor: str) -> dict[str, Any]:
        """Revoke token *token_id*: requests using it are refused from now on (404: no such token)."""
        token = self.tokens.revoke(token_id)
        self.events.record("token", f"token {token.name!r} ({token.role}) revoked", actor=actor)
        return dict(token.to_dict())
