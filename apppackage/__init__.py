"""apppackage: read, validate and run pyapp application packages (spec/pyapp-1.1.md).

Names are re-exported lazily so that ``import apppackage`` stays cheap: YAML is imported
when a package is read, packaging's parsers only for unusual requirements (:mod:`.pypa`), and
jsonschema only to list the problems of a document that does not conform (:mod:`.schema`).
"""

from __future__ import annotations

from .lazynames import lazy_names

# Not imported from typing: that import alone would double the cost of ``import apppackage``.
TYPE_CHECKING = False

__version__ = "0.1.0"

__all__ = [
    "SPEC_VERSION",
    "AppPackage",
    "AppPackageError",
    "CommandFailed",
    "ConfigSpec",
    "Description",
    "Environment",
    "Field",
    "HookFailed",
    "HostPaths",
    "IntegrityError",
    "InvalidConfiguration",
    "InvalidDescription",
    "InvalidPackage",
    "KeyFileError",
    "Launcher",
    "LoadError",
    "Problem",
    "RunResult",
    "UnsafeArchive",
    "__version__",
]

_LAZY = {
    "SPEC_VERSION": "_versions",
    "AppPackage": "package",
    "ConfigSpec": "configspec",
    "Field": "configspec",
    "Description": "description",
    "Environment": "environment",
    "HostPaths": "environment",
    "Launcher": "hooks",
    "RunResult": "hooks",
    "AppPackageError": "errors",
    "CommandFailed": "errors",
    "HookFailed": "errors",
    "IntegrityError": "errors",
    "InvalidConfiguration": "errors",
    "InvalidDescription": "errors",
    "InvalidPackage": "errors",
    "KeyFileError": "errors",
    "LoadError": "errors",
    "Problem": "errors",
    "UnsafeArchive": "errors",
}

if TYPE_CHECKING:
    from ._versions import SPEC_VERSION
    from .configspec import ConfigSpec, Field
    from .description import Description
    from .environment import Environment, HostPaths
    from .errors import (
        AppPackageError,
        CommandFailed,
        HookFailed,
        IntegrityError,
        InvalidConfiguration,
        InvalidDescription,
        InvalidPackage,
        KeyFileError,
        LoadError,
        Problem,
        UnsafeArchive,
    )
    from .hooks import Launcher, RunResult
    from .package import AppPackage


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
