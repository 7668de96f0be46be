"""pyapp_runtime: the host side of pyapp — apps installed as immutable, isolated releases.

``Host(home).install("hello-1.0.0.pyapp")`` builds ``apps/hello/releases/<version>-<hash>/``,
installs its dependencies (shared ones once, in ``server-packages/``), runs its hooks
and switches ``apps/hello/current`` to it atomically. See docs/host-layout.md.

Names are re-exported lazily so that importing a submodule stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Activator",
    "AppInfo",
    "AppLayout",
    "AppLock",
    "AppLocked",
    "AppSummary",
    "BackupResult",
    "BadBackup",
    "BadServices",
    "ConfigChange",
    "ConfigInfo",
    "ConfigResult",
    "ControlResult",
    "DaemonFailed",
    "DaemonManager",
    "DaemonStatus",
    "DaemonsDisabled",
    "DependenciesMissing",
    "GarbageReport",
    "Hint",
    "HookRun",
    "Host",
    "HostError",
    "HostLayout",
    "HostSettings",
    "InstallHookFailed",
    "InstallResult",
    "LaunchSpec",
    "LogFile",
    "NoSuchApp",
    "NoSuchRelease",
    "NotAnUpgrade",
    "NullActivator",
    "PlacedDistribution",
    "Release",
    "ReleaseInfo",
    "RemoveResult",
    "RequirementsNotMet",
    "RequirementsReport",
    "RestoreResult",
    "RollbackResult",
    "ServiceInfo",
    "ServicesInfo",
    "ServicesResult",
    "WheelError",
    "__version__",
    "default_home",
]

_LAZY = {
    "Activator": "activation",
    "NullActivator": "activation",
    "AppInfo": "results",
    "AppSummary": "results",
    "ConfigInfo": "results",
    "ConfigResult": "results",
    "InstallResult": "results",
    "ReleaseInfo": "results",
    "RemoveResult": "results",
    "RestoreResult": "results",
    "RollbackResult": "results",
    "AppLayout": "layout",
    "HostLayout": "layout",
    "default_home": "layout",
    "AppLock": "locking",
    "AppLocked": "errors",
    "BadBackup": "errors",
    "BadServices": "errors",
    "DependenciesMissing": "errors",
    "HostError": "errors",
    "InstallHookFailed": "errors",
    "NoSuchApp": "errors",
    "NoSuchRelease": "errors",
    "NotAnUpgrade": "errors",
    "RequirementsNotMet": "errors",
    "WheelError": "errors",
    "BackupResult": "backup",
    "ConfigChange": "config",
    "GarbageReport": "removal",
    "Hint": "requirements",
    "RequirementsReport": "requirements",
    "HookRun": "hooks",
    "Host": "host",
    "LaunchSpec": "launch",
    "PlacedDistribution": "dependencies",
    "Release": "releases",
    "ControlResult": "runstate",
    "DaemonStatus": "runstate",
    "DaemonFailed": "daemons",
    "DaemonManager": "daemons",
    "DaemonsDisabled": "daemons",
    "HostSettings": "settings",
    "ServiceInfo": "services",
    "ServicesInfo": "services",
    "ServicesResult": "services",
    "LogFile": "logs",
}

if TYPE_CHECKING:
    from .activation import Activator, NullActivator
    from .backup import BackupResult
    from .config import ConfigChange
    from .daemons import DaemonFailed, DaemonManager, DaemonsDisabled
    from .dependencies import PlacedDistribution
    from .errors import (
        AppLocked,
        BadBackup,
        BadServices,
        DependenciesMissing,
        HostError,
        InstallHookFailed,
        NoSuchApp,
        NoSuchRelease,
        NotAnUpgrade,
        RequirementsNotMet,
        WheelError,
    )
    from .hooks import HookRun
    from .host import Host
    from .launch import LaunchSpec
    from .layout import AppLayout, HostLayout, default_home
    from .locking import AppLock
    from .logs import LogFile
    from .releases import Release
    from .removal import GarbageReport
    from .requirements import Hint, RequirementsReport
    from .results import (
        AppInfo,
        AppSummary,
        ConfigInfo,
        ConfigResult,
        InstallResult,
        ReleaseInfo,
        RemoveResult,
        RestoreResult,
        RollbackResult,
    )
    from .runstate import ControlResult, DaemonStatus
    from .services import ServiceInfo, ServicesInfo, ServicesResult
    from .settings import HostSettings


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyapp_runtime' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
