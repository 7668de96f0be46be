"""Installing an app: the upload form (a progress bar and drag-and-drop when scripts run, a plain
form otherwise), and what the drop folder took, did and refused (and why).

An upload is received as ``POST /api/v1/apps`` receives one (:func:`~pyapp_server.uploads.receive_package`:
staged privately, held to ``max_upload_size``) and installed by the same
:meth:`AppManager.install`; the browser is then sent to the job's page.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request

from apppackage.errors import AppPackageError

from ..errors import classify
from ..uploads import uploaded_package
from .pages import may, problems

__all__ = ["includeme"]


def _page(request: Request, **extra: Any) -> dict[str, Any]:
    report = request.services.drop.report()
    settings = request.services.settings
    shown = str(settings.data_dir)
    admin = may(request, "admin")

    def told(text: str) -> str:
        # Only admins are told the server's paths.
        return text if admin else text.replace(shown, "DATA_DIR")

    return {
        "drop": {
            "watched": settings.drop_interval > 0,
            "path": str(settings.drop_folder) if admin else None,
            "waiting": report.waiting,
            "done": report.done,
            "failed": [{"file": f.file, "time": f.time, "reason": told(f.reason)} for f in report.failed],
        },
        "max_upload_size": settings.max_upload_size,
        "error": None,
        **extra,
    }


def install_form(request: Request) -> dict[str, Any]:
    return _page(request)


def install(request: Request) -> Any:
    try:
        received = uploaded_package(request)
        job = request.services.apps.install(
            received.path, request.actor, force=received.force, staged=received.staged,
            trust_key=received.trust_key,
        )  # fmt: skip
    except AppPackageError as exc:
        message, found = problems(exc)
        request.response.status = classify(exc)[0]
        return _page(request, error={"message": message, "errors": found})
    return HTTPSeeOther(request.route_path("ui.job", id=job.id))


def includeme(config: Configurator) -> None:
    config.add_route("ui.install", "/install")
    config.add_view(
        install_form, route_name="ui.install", request_method="GET", renderer="install.jinja2",
        permission="deploy",
    )  # fmt: skip
    config.add_view(
        install, route_name="ui.install", request_method="POST", renderer="install.jinja2",
        permission="deploy", require_csrf=True,
    )  # fmt: skip
