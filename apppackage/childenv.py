"""The environment an application process starts with (spec section 5.3), apart from its payload.

Standard library only and nothing else imported: ``pyapp run`` uses it before the rest of pyapp loads.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["child_environ"]


def child_environ(variables: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without the host's own ``PYAPP_*`` and ``PYTHON*`` variables, with the
    application's *variables*; output unbuffered, so that its lines come as it writes them."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYAPP_", "PYTHON"))}
    environ.update(variables)
    environ.setdefault("PYTHONUNBUFFERED", "1")
    return environ
