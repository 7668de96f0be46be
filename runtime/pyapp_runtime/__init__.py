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
    "DiskFull",
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
    "NoSuchProcess",
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
    "UntrustedSigner",
    "WheelError",
    "__version__",
    "default_home",
]

_LAZY = {
    "Activator": "lifecycle.activation",
    "NullActivator": "lifecycle.activation",
    "AppInfo": "lifecycle.appinfo",
    "AppSummary": "lifecycle.appinfo",
    "ConfigInfo": "lifecycle.configure",
    "ConfigResult": "lifecycle.configure",
    "InstallResult": "lifecycle.install",
    "ReleaseInfo": "lifecycle.appinfo",
    "RemoveResult": "lifecycle.uninstall",
    "RestoreResult": "lifecycle.restore",
    "RollbackResult": "lifecycle.rollback",
    "AppLayout": "layout",
    "HostLayout": "layout",
    "default_home": "layout",
    "AppLock": "locking",
    "AppLocked": "errors",
    "BadBackup": "errors",
    "BadServices": "errors",
    "DependenciesMissing": "errors",
    "DiskFull": "errors",
    "HostError": "errors",
    "InstallHookFailed": "errors",
    "NoSuchApp": "errors",
    "NoSuchProcess": "errors",
    "NoSuchRelease": "errors",
    "NotAnUpgrade": "errors",
    "RequirementsNotMet": "errors",
    "UntrustedSigner": "errors",
    "WheelError": "errors",
    "BackupResult": "lifecycle.backup",
    "ConfigChange": "appconfig.values",
    "GarbageReport": "lifecycle.removal",
    "Hint": "dependencies.requirements",
    "RequirementsReport": "dependencies.requirements",
    "HookRun": "lifecycle.hooks",
    "Host": "host",
    "LaunchSpec": "releases.launch",
    "PlacedDistribution": "dependencies.choose",
    "Release": "releases.release",
    "ControlResult": "processes.runstate",
    "DaemonStatus": "processes.runstate",
    "DaemonFailed": "processes.daemons",
    "DaemonManager": "processes.daemons",
    "DaemonsDisabled": "errors",
    "HostSettings": "settings",
    "ServiceInfo": "appconfig.services",
    "ServicesInfo": "appconfig.services",
    "ServicesResult": "appconfig.services",
    "LogFile": "processes.logs",
}

if TYPE_CHECKING:
    from .appconfig.services import ServiceInfo, ServicesInfo, ServicesResult
    from .appconfig.values import ConfigChange
    from .dependencies.choose import PlacedDistribution
    from .dependencies.requirements import Hint, RequirementsReport
    from .errors import (
        AppLocked,
        BadBackup,
        BadServices,
        DaemonsDisabled,
        DependenciesMissing,
        DiskFull,
        HostError,
        InstallHookFailed,
        NoSuchApp,
        NoSuchProcess,
        NoSuchRelease,
        NotAnUpgrade,
        RequirementsNotMet,
        UntrustedSigner,
        WheelError,
    )
    from .host import Host
    from .layout import AppLayout, HostLayout, default_home
    from .lifecycle.activation import Activator, NullActivator
    from .lifecycle.appinfo import AppInfo, AppSummary, ReleaseInfo
    from .lifecycle.backup import BackupResult
    from .lifecycle.configure import ConfigInfo, ConfigResult
    from .lifecycle.hooks import HookRun
    from .lifecycle.install import InstallResult
    from .lifecycle.removal import GarbageReport
    from .lifecycle.restore import RestoreResult
    from .lifecycle.rollback import RollbackResult
    from .lifecycle.uninstall import RemoveResult
    from .locking import AppLock
    from .processes.daemons import DaemonFailed, DaemonManager
    from .processes.logs import LogFile
    from .processes.runstate import ControlResult, DaemonStatus
    from .releases.launch import LaunchSpec
    from .releases.release import Release
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
