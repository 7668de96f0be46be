"""A rollback or update refused for its data version (spec section 3.19), worded for the edge that asked.

The runtime refuses with :class:`~pyapp_runtime.errors.DataVersionTooLow`, whose message names ``pyapp``
commands; the server checks the same before it queues a job and names, instead, what its own
clients do: the API's calls and ``pyapp-ctl``'s commands, XML-RPC's calls, or the web interface's
buttons. The error is a ``409 data-version`` whose body adds ``data_version``,
``target_data_version`` and ``backup`` (the name of the backup to restore first, ``null``: none is kept).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

from .errors import ApiError

if TYPE_CHECKING:
    from pyapp_runtime.errors import DataVersionTooLow

__all__ = ["Edge", "install_refusal", "rollback_refusal"]

Edge = Literal["api", "xmlrpc", "ui"]
API = "/api/v1/apps"


def _error(exc: DataVersionTooLow, *, restore: str | None, again: str, force: str) -> ApiError:
    return ApiError(
        exc.explain(restore=restore if exc.backup else None, again=again, force=force),
        status=409,
        code="data-version",
        extra={
            "data_version": exc.data_version,
            "target_data_version": exc.target_data_version,
            "backup": exc.backup_name,
        },
    )


def _restore(exc: DataVersionTooLow, edge: Edge) -> str:
    name, backup = exc.app, exc.backup_name or ""
    if edge == "xmlrpc":
        return f"apps.restore({json.dumps(name)}, {json.dumps(backup)})"
    if edge == "ui":
        return f"Restore {backup}… (under Backups)"
    body = json.dumps({"backup": backup})
    return f"POST {API}/{name}/restore {body} (pyapp-ctl apps restore {name} {backup})"


def rollback_refusal(exc: DataVersionTooLow, *, to: str | None, edge: Edge) -> ApiError:
    """The refusal of a rollback of *exc*'s app (to release *to*, else the previous one) for *edge*."""
    name = exc.app
    if edge == "xmlrpc":
        args = f"{json.dumps(name)}, {json.dumps(to or '')}"
        again, force = f"apps.rollback({args})", f'apps.rollback({args}, {{"force": true}})'
    elif edge == "ui":
        version = exc.target.rsplit(" ", 1)[-1]
        again, force = f"Roll back to {version} (under Releases)", f"Roll back to {version} anyway"
    else:
        ctl = f"pyapp-ctl apps rollback {name}" + (f" --to {to}" if to else "")
        body = {"to": to} if to else {}
        again = f"POST {API}/{name}/rollback {json.dumps(body)} ({ctl})"
        force = f"POST {API}/{name}/rollback {json.dumps({**body, 'force': True})} ({ctl} --force)"
    return _error(exc, restore=_restore(exc, edge), again=again, force=force)


def install_refusal(exc: DataVersionTooLow, *, older: bool, edge: Edge) -> ApiError:
    """The refusal of an update of *exc*'s app to a package of a lower data version, for *edge*; *older*: the
    package's version is not newer than the current one's (sending it again needs ``force`` anyway)."""
    name = exc.app
    if edge == "xmlrpc":
        options = ', {"force": true}'
        again = f"apps.update({json.dumps(name)}, PATH{options if older else ''})"
        force = f"apps.update({json.dumps(name)}, PATH{options})"
    elif edge == "ui":
        checked = ", with “Install even when…” checked"
        again = "Upload it again (under Update)" + (checked if older else "")
        force = f"Upload it{checked}"
    else:
        ctl = f"pyapp-ctl apps update {name} PACKAGE"
        flag = "?force=true" if older else ""
        again = f"POST {API}/{name}/update{flag} with the package ({ctl}{' --force' if older else ''})"
        force = f"POST {API}/{name}/update?force=true with the package ({ctl} --force)"
    return _error(exc, restore=_restore(exc, edge), again=again, force=force)
