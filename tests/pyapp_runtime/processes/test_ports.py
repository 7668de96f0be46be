"""The port registry: loopback ports for apps' daemons, each one an owner's until released."""

from __future__ import annotations

import json
import random
import socket
from pathlib import Path

import pytest
from pyapp_runtime.processes.ports import NoFreePort, PortRegistry


def _free_range(size: int) -> int:
    """The first of *size* free loopback ports below the ephemeral range (no client is given them)."""
    while True:
        low = random.randrange(29100, 29950)  # apart from the ranges the daemon tests pick
        try:
            for port in range(low, low + size):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return low


def test_ports_are_assigned_once_skip_ports_in_use_and_are_released(tmp_path: Path) -> None:
    low = _free_range(4)
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", low))
        busy.listen()
        registry = PortRegistry(tmp_path, (low, low + 3))
        first = registry.assign(["a@web-1", "b@api-0-1"])
        assert low not in first.values()
        assert len(set(first.values())) == 2
        assert registry.assign(["a@web-1"]) == {"a@web-1": first["a@web-1"]}  # the same owner, the same port
        assert PortRegistry(tmp_path, (low, low + 3)).assigned() == first  # kept in ports.json
        registry.assign(["c@web-1"])
        with pytest.raises(NoFreePort, match="widen"):
            registry.assign(["d@web-1"])
        registry.release_app("a")
        assert "a@web-1" not in json.loads((tmp_path / "ports.json").read_text())["ports"]
        assert registry.assign(["d@web-1"])["d@web-1"] == first["a@web-1"]
    finally:
        busy.close()
