"""The WSGI application: a page (and JSON) saying where each dependency was imported from.

Its HTML is built with markupsafe's ``Markup.format``, which escapes every value, and
its sentence with translationstring: the page uses both dependencies it reports on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from markupsafe import Markup
from translationstring import TranslationString

from .findings import findings, speedups

__all__ = ["application", "report"]

_ROW = Markup("<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>")
_PAGE = Markup(
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>\n'
    "<body><h1>{title}</h1>\n<p>{summary}</p>\n"
    "<table><tr><th>module</th><th>distribution</th><th>file</th><th>sys.path entry</th><th>from</th></tr>\n"
    '{rows}</table>\n<p>{speed}</p>\n<p><a href="{json_url}">The same as JSON</a></p></body></html>\n'
)


def report() -> dict[str, Any]:
    """Everything the page shows, as data."""
    found = findings()
    return {
        "name": os.environ.get("PYAPP_NAME", "report"),
        "version": os.environ.get("PYAPP_VERSION", "dev"),
        "dependencies": [f.to_dict() for f in found],
        "speedups": speedups(),
    }


def _html(data: dict[str, Any], script_name: str) -> str:
    deps = data["dependencies"]
    summary = TranslationString(
        "${name} ${version} imported ${count} dependencies.",
        mapping={"name": data["name"], "version": data["version"], "count": len(deps)},
    ).interpolate()
    rows = Markup("").join(
        _ROW.format(
            d["module"],
            f"{d['distribution']} {d['version']}",
            d["file"],
            d["path_entry"],
            "the interpreter" if d["in_interpreter"] else "the application's own packages",
        )
        for d in deps
    )
    sp = data["speedups"]
    speed = (
        f"markupsafe escapes with its compiled speedups: {sp['file']}"
        if sp["compiled"]
        else f"markupsafe escapes in pure Python ({sp['escape_module']}): its speedups are not in use"
    )
    return _PAGE.format(
        title=f"{data['name']}: dependencies",
        summary=summary,
        rows=rows,
        speed=speed,
        json_url=f"{script_name}/report.json",
    )


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO") or "/"
    script_name = environ.get("SCRIPT_NAME", "")
    if path == "/health":
        status, kind, body = "200 OK", "text/plain; charset=utf-8", "ok"
    elif path == "/report.json":
        status, kind, body = "200 OK", "application/json", json.dumps(report(), indent=2)
    elif path == "/":
        status, kind, body = "200 OK", "text/html; charset=utf-8", _html(report(), script_name)
    else:
        status, kind, body = "404 Not Found", "text/plain; charset=utf-8", "not found"
    data = body.encode("utf-8")
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(data)))])
    return [data]
