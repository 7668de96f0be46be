"""The names of the variables an app's own names give (spec sections 3.9 and 5.3).

Shared by the model (:mod:`apppackage.description`), its checks and the environment;
it imports nothing, so that any module of the package can use it.
"""

from __future__ import annotations

__all__ = ["env_name", "service_variable"]


def env_name(name: str) -> str:
    """The upper-case form of *name* used in variable names: non-alphanumerics become ``_`` (section 5.3)."""
    return "".join(c if c.isalnum() else "_" for c in name.upper())


def service_variable(service: str) -> str:
    """The variable of the service *service* when it names none, ``PYAPP_SERVICE_<NAME>`` (section 3.9)."""
    return f"PYAPP_SERVICE_{env_name(service)}"
