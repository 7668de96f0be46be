"""Loopback ports for apps' daemons, taken from the host's range and remembered (``$PYAPP_HOME/ports.json``).

Each port is assigned to one owner, a part of an app (``<app>@web``, ``<app>@<process>-<i>``:
:func:`~pyapp_runtime.processes.programs.port_owner`), and stays its own until
released: every release and generation of the app listens there, and no two apps
ever get the same port. The app's ports are released when it is removed. A port that
something on this host already listens on is skipped. The file is changed under an
``fcntl`` lock (``ports.json.lock``) and written atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path

from apppackage.files import write_atomic

from ..errors import HostError

__all__ = ["PORTS_FILE", "NoFreePort", "PortRegistry", "port_free"]

PORTS_FILE = "ports.json"


class NoFreePort(HostError):
    """Every port of the host's range is assigned or in use."""


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on *host*:*port* (a test bind, released at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class PortRegistry:
    """The ports of *home* (``ports.json``), taken from *low*..*high*."""

    def __init__(self, home: Path, ports: tuple[int, int]) -> None:
        self.path = home / PORTS_FILE
        self.low, self.high = ports

    def _read(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise HostError(f"{self.path}: not valid JSON ({exc}); fix or remove the file") from None
        owners = data.get("ports", {}) if isinstance(data, dict) else {}
        return {str(k): int(v) for k, v in owners.items()}

    def _write(self, owners: dict[str, int]) -> None:
        write_atomic(
            self.path, json.dumps({"ports": dict(sorted(owners.items()))}, indent=2) + "\n", mode=0o644
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, int]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(PORTS_FILE + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            owners = self._read()
            before = dict(owners)
            yield owners
            if owners != before:
                self._write(owners)

    def assigned(self) -> dict[str, int]:
        """Every owner and its port."""
        return self._read()

    def assign(self, owners: Iterable[str]) -> dict[str, int]:
        """A port for each of *owners*: the one it has, else a free one (or raise :class:`NoFreePort`)."""
        out = {}
        with self._locked() as table:
            taken = set(table.values())
            candidate = self.low
            for owner in owners:
                if owner in table:
                    out[owner] = table[owner]
                    continue
                while candidate <= self.high and (candidate in taken or not port_free(candidate)):
                    candidate += 1
                if candidate > self.high:
                    raise NoFreePort(
                        f"{self.path}: no free port left in {self.low}-{self.high} for {owner}; widen"
                        " `ports` in host.yaml or remove apps"
                    )
                table[owner] = out[owner] = candidate
                taken.add(candidate)
                candidate += 1
        return out

    def release(self, owners: Iterable[str]) -> None:
        """Forget the ports of *owners*."""
        gone = set(owners)
        with self._locked() as table:
            for owner in gone & set(table):
                del table[owner]

    def release_app(self, app: str, *, keep: Iterable[str] = ()) -> None:
        """Forget every port of *app*, but those of the owners in *keep*."""
        kept = set(keep)
        with self._locked() as table:
            for owner in [o for o in table if o.partition("@")[0] == app and o not in kept]:
                del table[owner]

    def of_app(self, app: str) -> dict[str, int]:
        """*app*'s ports by owner without the app's name (``web``, ``api-0``)."""
        return {o.partition("@")[2]: port for o, port in self._read().items() if o.partition("@")[0] == app}
