"""Where a host keeps everything (see docs/host-layout.md): pure path arithmetic, no I/O but reads.

::

    $PYAPP_HOME/
      server-packages/<dist>-<version>/   shared dependencies, one site dir per distribution+version
      webservers/                         the routing table and the host's own web server (docs/web.md)
      host.yaml                           the host's settings (docs/daemons.md); host.yaml.lock while changed
      events.jsonl                        what the host did by itself (docs/daemons.md, self-healing)
      shut-down                           after `pyapp shutdown`, until `pyapp boot`
      apps/<name>.lock                    the app's lock (fcntl)
      apps/<name>.journal/                the transaction in progress (absent when none is)
      apps/<name>/
        releases/<version>-<hash12>/      immutable releases; .staging-* while one is being built
        current -> releases/<id>          the active release (a relative symlink)
        previous -> releases/<id>         the release ``rollback`` goes back to
        config.yaml                       the operator's values (0600)
        services.yaml                     the operator's service values (0600, spec section 3.9)
        signer.json                       the key its packages must be signed with (0600, spec section 2.6)
        data-version.json                 the data version its data is in (spec section 3.19)
        app-config.yaml | app-config.ini  the rendered file the app reads (PYAPP_CONFIG_FILE)
        data/  tmp/  logs/  run/  backups/
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import HostError

__all__ = [
    "HOME_VARIABLE",
    "AppLayout",
    "HostLayout",
    "default_home",
    "release_id",
]

HOME_VARIABLE = "PYAPP_HOME"
RESERVED_SUFFIXES = (".lock", ".journal")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_RELEASE_ID = re.compile(r"^[^./][^/]*-[0-9a-f]{12}$")


def default_home() -> Path:
    """``$PYAPP_HOME``, else ``$XDG_DATA_HOME/pyapp``, else ``~/.local/share/pyapp``."""
    explicit = os.environ.get(HOME_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "pyapp"


def release_id(version: str, sha256_hex: str) -> str:
    """The directory name of a release: ``<version>-<first 12 hex digits of the package's sha256>``."""
    return f"{version}-{sha256_hex[:12]}"


@dataclass(frozen=True)
class HostLayout:
    """The paths of a host rooted at :attr:`home`."""

    home: Path

    @property
    def apps_dir(self) -> Path:
        return self.home / "apps"

    @property
    def server_packages(self) -> Path:
        return self.home / "server-packages"

    @property
    def server_packages_lock(self) -> Path:
        return self.server_packages / ".lock"

    @property
    def webservers(self) -> Path:
        """The routing table (``state.json``) and the state of the host's own web server."""
        return self.home / "webservers"

    @property
    def shutdown_file(self) -> Path:
        """Present after ``pyapp shutdown``: nothing is restored until ``pyapp boot``."""
        return self.home / "shut-down"

    @property
    def events_file(self) -> Path:
        """What the host did by itself (a supervisord restored, a crash loop retried), one JSON per line."""
        return self.home / "events.jsonl"

    @property
    def settings_lock(self) -> Path:
        """Held while ``host.yaml`` is changed (:mod:`pyapp_runtime.settingsfile`)."""
        return self.home / "host.yaml.lock"

    def app(self, name: str) -> AppLayout:
        """The layout of app *name*; refuse names that could escape or collide."""
        if not _NAME.match(name) or len(name) > 64:
            raise HostError(f"{name!r} is not an app name (lower-case letters, digits, '.', '_', '-')")
        if name.endswith(RESERVED_SUFFIXES):
            raise HostError(
                f"app name {name!r} ends with a suffix the host reserves ({', '.join(RESERVED_SUFFIXES)})"
            )
        return AppLayout(host=self, name=name)

    def app_names(self) -> list[str]:
        """Names of the apps that have a directory here, sorted."""
        try:
            entries = sorted(os.scandir(self.apps_dir), key=lambda e: e.name)
        except FileNotFoundError:
            return []
        return [
            e.name
            for e in entries
            if e.is_dir(follow_symlinks=False)
            and _NAME.match(e.name)
            and not e.name.endswith(RESERVED_SUFFIXES)
        ]

    def journaled_names(self) -> list[str]:
        """Apps with a transaction journal (an interrupted or running command), even without a directory."""
        try:
            entries = os.listdir(self.apps_dir)
        except FileNotFoundError:
            return []
        return sorted(e[: -len(".journal")] for e in entries if e.endswith(".journal"))


@dataclass(frozen=True)
class AppLayout:
    """The paths of one app on a host."""

    host: HostLayout
    name: str

    @property
    def dir(self) -> Path:
        return self.host.apps_dir / self.name

    @property
    def lock_file(self) -> Path:
        return self.host.apps_dir / f"{self.name}.lock"

    @property
    def journal_dir(self) -> Path:
        return self.host.apps_dir / f"{self.name}.journal"

    @property
    def releases(self) -> Path:
        return self.dir / "releases"

    @property
    def current(self) -> Path:
        return self.dir / "current"

    @property
    def previous(self) -> Path:
        return self.dir / "previous"

    @property
    def config_file(self) -> Path:
        """The operator's values, always YAML."""
        return self.dir / "config.yaml"

    @property
    def services_file(self) -> Path:
        """The values of the app's services (spec section 3.9), always YAML; they hold credentials."""
        return self.dir / "services.yaml"

    @property
    def signer_file(self) -> Path:
        """The key the app's packages must be signed with, pinned at its first install (spec section 2.6)."""
        return self.dir / "signer.json"

    @property
    def data_version_file(self) -> Path:
        """The data version the app's data is in (spec section 3.19, :mod:`.lifecycle.dataversion`)."""
        return self.dir / "data-version.json"

    def app_config_file(self, fmt: str) -> Path:
        """The rendered file the app reads (``PYAPP_CONFIG_FILE``), in the spec's format."""
        return self.dir / f"app-config.{'ini' if fmt == 'ini' else 'yaml'}"

    @property
    def app_config_files(self) -> tuple[Path, Path]:
        return (self.app_config_file("yaml"), self.app_config_file("ini"))

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def tmp(self) -> Path:
        return self.dir / "tmp"

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    @property
    def output(self) -> Path:
        """Where the host writes what the app's processes and hooks print: ``logs/``, or ``output/`` when
        the app has a user of its own (root writes there, and the app must not be able to plant a link
        in its way: docs/trust-model.md)."""
        own = self.dir / "output"
        return own if own.is_dir() else self.logs

    @property
    def run(self) -> Path:
        return self.dir / "run"

    @property
    def backups(self) -> Path:
        return self.dir / "backups"

    def release(self, rid: str) -> Path:
        if not _RELEASE_ID.match(rid):
            raise HostError(f"{rid!r} is not a release id (<version>-<12 hex digits>)")
        return self.releases / rid

    def link_target(self, link: Path) -> str | None:
        """The release id *link* (``current`` or ``previous``) points to, or ``None``."""
        try:
            target = os.readlink(link)
        except (FileNotFoundError, OSError):
            return None
        parts = Path(target).parts
        if len(parts) != 2 or parts[0] != "releases":
            return None
        return parts[1]

    def release_ids(self) -> list[str]:
        """Every complete release directory (staging dirs left out), unsorted."""
        try:
            return [e.name for e in os.scandir(self.releases) if e.is_dir() and _RELEASE_ID.match(e.name)]
        except FileNotFoundError:
            return []

    def staging_dirs(self) -> list[Path]:
        try:
            return [self.releases / e for e in os.listdir(self.releases) if e.startswith(".staging-")]
        except FileNotFoundError:
            return []
