"""Reading the filled-in configuration the host gives (PYAPP_CONFIG_FILE)."""

from __future__ import annotations

import os


def load() -> dict[str, str]:
    """The settings; this app's configuration is flat YAML of strings, read without a YAML library."""
    path = os.environ.get("PYAPP_CONFIG_FILE")
    settings = {"greeting": "Hello"}
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and not line.startswith((" ", "#")):
                    settings[key.strip()] = value.strip().strip("'\"")
    return settings
