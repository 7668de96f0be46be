"""Resource limits of an app's processes, from the host's settings (``limits:`` in ``host.yaml``).

::

    limits:                  # every app's (each key optional; none: no limit)
      memory: 1G             # address space of each process (RLIMIT_AS); systemd: MemoryMax=
      nofile: 4096           # open files of each process (RLIMIT_NOFILE); systemd: LimitNOFILE=
      cpu_weight: 50         # 1-10000, 100 the usual share; here a nice value; systemd: CPUWeight=
    apps:
      blog: {limits: {memory: 512M}}

Under supervisord and for hooks, tasks and commands the limits are set by ``prlimit``
(util-linux) and ``nice`` in front of the command: per process, not per app (a
cgroup would be needed for that; a systemd export has one per unit).
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LIMIT_KEYS", "Limits", "parse_limits"]

LIMIT_KEYS = ("memory", "nofile", "cpu_weight")
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Limits of each process of an app; ``None``: none."""

    memory: int | None = None
    """Bytes of address space."""
    nofile: int | None = None
    cpu_weight: int | None = None
    """systemd's CPUWeight= (1-10000, 100 the default share)."""

    def to_dict(self) -> dict[str, Any]:
        return {"memory": self.memory, "nofile": self.nofile, "cpu_weight": self.cpu_weight}

    @property
    def nice(self) -> int:
        """The nice value standing for :attr:`cpu_weight` where no cgroup can: 0 at 100, +-19 at the ends."""
        if self.cpu_weight is None or self.cpu_weight == 100:
            return 0
        return max(-19, min(19, round(-4 * math.log2(self.cpu_weight / 100))))

    def prefix(self) -> tuple[str, ...]:
        """The commands to start a process in, for these limits (empty when there are none)."""
        out: list[str] = []
        rlimits = []
        if self.memory is not None:
            rlimits.append(f"--as={self.memory}")
        if self.nofile is not None:
            rlimits.append(f"--nofile={self.nofile}")
        if rlimits:
            out += [shutil.which("prlimit") or "/usr/bin/prlimit", *rlimits, "--"]
        if self.nice:
            out += [shutil.which("nice") or "/usr/bin/nice", "-n", str(self.nice), "--"]
        return tuple(out)

    def unit_settings(self) -> tuple[tuple[str, str], ...]:
        """The same limits as systemd unit settings."""
        out = []
        if self.memory is not None:
            out.append(("MemoryMax", str(self.memory)))
        if self.nofile is not None:
            out.append(("LimitNOFILE", str(self.nofile)))
        if self.cpu_weight is not None:
            out.append(("CPUWeight", str(self.cpu_weight)))
        return tuple(out)


def parse_limits(raw: Any, where: str, base: Limits, problems: list[str]) -> Limits:
    """*raw* (a ``limits:`` mapping) over *base*; every problem is added to *problems*."""
    if raw is None:
        return base
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must map {', '.join(LIMIT_KEYS)} to values")
        return base
    values = base.to_dict()
    for key, value in raw.items():
        if key not in LIMIT_KEYS:
            problems.append(f"{where}/{key}: unknown limit (known: {', '.join(LIMIT_KEYS)})")
        elif value is None:
            values[key] = None
        elif key == "memory":
            match = _SIZE.match(str(value))
            if not match or isinstance(value, bool):
                problems.append(f"{where}/memory: {value!r} is not a size such as 512M or 2G")
            else:
                values[key] = int(match[1]) * _UNITS[match[2].upper()]
        else:
            low, high = (1, 1 << 20) if key == "nofile" else (1, 10000)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(f"{where}/{key}: {value!r} must be a whole number from {low} to {high}")
            else:
                values[key] = value
    return Limits(**values)
