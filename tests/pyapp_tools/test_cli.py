"""``pyapp`` and ``pyapp-ctl`` are each one group holding the commands of every command module."""

from __future__ import annotations

import importlib

import click
from pyapp_tools import cli
from pyapp_tools.ctl import cli as ctl

PYAPP = {
    "package": ["init", "validate", "inspect", "run", "command"],
    "signing": ["verify", "keygen"],
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
    """Each module registers exactly the commands the group names for it (it imports it for those)."""
    expected = sorted(name for names in PYAPP.values() for name in names)
    assert sorted(cli.main.list_commands(click.Context(cli.main))) == expected
    for module, names in cli.COMMANDS.items():
        group = click.Group()
        importlib.import_module(f"pyapp_tools.{module}").register(group)
        assert sorted(group.commands) == sorted(names), module
    ctx = click.Context(cli.main)
    assert all(cli.main.get_command(ctx, name) is not None for name in expected)
    assert cli.main.get_command(ctx, "nothing") is None


def test_a_command_loads_its_own_module_only() -> None:
    """``pyapp validate`` does not import the host's command modules (nor the runtime they use)."""
    import subprocess
    import sys

    code = (
        "import sys; from pyapp_tools.cli import main\n"
        "try:\n    main(['validate', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pyapp_tools.host', 'pyapp_runtime'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_pyapp_ctl_has_the_commands_of_every_module() -> None:
    assert sorted(ctl.main.commands) == PYAPP_CTL
    apps = ctl.main.commands["apps"]
    assert isinstance(apps, click.Group)
    assert sorted(apps.commands) == PYAPP_CTL_APPS
