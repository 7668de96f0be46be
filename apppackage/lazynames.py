"""Names of a package imported from its modules only when first asked for (PEP 562).

A package's ``__init__`` lists which module holds each public name and takes its ``__getattr__`` and
``__dir__`` from :func:`lazy_names`: importing the package then costs nothing until a name is used, and
a name costs only its own module.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["lazy_names"]


def lazy_names(
    package: str, names: Mapping[str, str], namespace: dict[str, object]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the package *package* whose *names* map each public name to
    the module (relative to the package) that defines it; *namespace* is the package's ``globals()``,
    where a name is kept once imported."""

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        loaded = importlib.import_module(f"{package}.{module}")
        value = getattr(loaded, name)
        namespace[name] = value
        if names.get(module) == module:
            # Loading the module bound its name in the package to the module: a public name that is
            # also its module's (``detect`` of ``webservers/detect.py``) is the object it stands for.
            namespace[module] = getattr(loaded, module)
        return value

    def __dir__() -> list[str]:
        return sorted(str(n) for n in namespace.get("__all__", names))  # type: ignore[attr-defined]

    return __getattr__, __dir__
