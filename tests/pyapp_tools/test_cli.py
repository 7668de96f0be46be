"""``pyapp`` and ``pyapp-ctl`` are each one group holding the commands of every command module."""

from __future__ import annotations

import click
from pyapp_tools import cli
from pyapp_tools.ctl import cli as ctl

PYAPP = {
    "package": ["init", "validate", "inspect", "verify", "run", "command"],
    "host": ["install", "list", "show", "rollback", "remove", "config", "backup", "restore"],
    "process": ["start", "stop", "restart", "reload", "status", "ps", "logs", "tasks", "export-systemd"],
    "boot": ["boot", "shutdown"],
    "service": ["services"],
    "web": ["vhost", "mount", "unmount", "web"],
    "settings": ["settings"],
}
PYAPP_CTL = [
    "apps", "completion", "config", "events", "host", "info", "jobs", "services", "tokens", "vhosts", "web",
]  # fmt: skip
PYAPP_CTL_APPS = [
    "backup", "backups", "install", "list", "log", "mount", "releases", "reload", "remove", "restart",
    "restore", "rollback", "show", "start", "stop", "unmount", "update",
]  # fmt: skip


def test_pyapp_has_the_commands_of_every_module() -> None:
    assert sorted(cli.main.commands) == sorted(name for names in PYAPP.values() for name in names)


def test_pyapp_ctl_has_the_commands_of_every_module() -> None:
    assert sorted(ctl.main.commands) == PYAPP_CTL
    apps = ctl.main.commands["apps"]
    assert isinstance(apps, click.Group)
    assert sorted(apps.commands) == PYAPP_CTL_APPS
