"""The application's settings, from typed values (the WSGI factory) or text (INI files).

The same :class:`Settings` serves every part: the WSGI factory gets a dict of typed
values, ``main()`` run from a PasteDeploy file gets text, and commands read the
filled-in INI file at ``PYAPP_CONFIG_FILE`` (configuration.yaml says ``format: ini``).
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["THEMES", "Settings", "read_config_file"]

THEMES = ("light", "dark", "sepia")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting of configuration.yaml, plus where the data and static files are."""

    site_title: str = "Notes"
    page_size: int = 10
    theme: str = "light"
    admin_email: str = ""
    session_secret: str = ""
    allow_signup: bool = True
    tags: tuple[str, ...] = ("idea", "todo", "reading")
    keep_days: int = 0
    data_dir: Path | None = None
    sessions_dir: Path | None = None
    static_dir: Path = Path(__file__).resolve().parents[2] / "static"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], prefix: str = "") -> Settings:
        """Build settings from *values* (typed or text), taking the keys that start with *prefix*.

        Without ``data_dir`` and ``sessions_dir`` the writable dirs the host gives
        (``PYAPP_WRITABLE_NOTES``, ``PYAPP_WRITABLE_SESSIONS``) are used.
        """
        raw = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
        kwargs: dict[str, Any] = {}
        for key in ("site_title", "theme", "admin_email", "session_secret"):
            if raw.get(key) is not None:
                kwargs[key] = str(raw[key]).strip()
        for key in ("page_size", "keep_days"):
            if raw.get(key) is not None:
                kwargs[key] = int(raw[key])
        if raw.get("allow_signup") is not None:
            kwargs["allow_signup"] = _boolean(raw["allow_signup"])
        if raw.get("tags") is not None:
            kwargs["tags"] = _strings(raw["tags"])
        data_dir = raw.get("data_dir") or os.environ.get("PYAPP_WRITABLE_NOTES")
        sessions_dir = raw.get("sessions_dir") or os.environ.get("PYAPP_WRITABLE_SESSIONS")
        if data_dir:
            kwargs["data_dir"] = Path(data_dir)
        if sessions_dir:
            kwargs["sessions_dir"] = Path(sessions_dir)
        root = os.environ.get("PYAPP_ROOT")
        if raw.get("static_dir"):
            kwargs["static_dir"] = Path(raw["static_dir"]).resolve()
        elif root and (Path(root) / "static").is_dir():
            kwargs["static_dir"] = (Path(root) / "static").resolve()
        settings = cls(**kwargs)
        settings.check()
        return settings

    def check(self) -> None:
        """Raise ``ValueError`` naming the setting that is wrong."""
        if self.theme not in THEMES:
            raise ValueError(f"theme: {self.theme!r} is not one of {', '.join(THEMES)}")
        if not 1 <= self.page_size <= 100:
            raise ValueError(f"page_size: {self.page_size} is not between 1 and 100")
        if self.keep_days < 0:
            raise ValueError("keep_days: must be 0 (keep forever) or more")

    def require_dirs(self) -> tuple[Path, Path]:
        """The data and sessions directories; ``ValueError`` when the host gave none."""
        if self.data_dir is None or self.sessions_dir is None:
            raise ValueError(
                "no data directories: run under a pyapp host (PYAPP_WRITABLE_NOTES and "
                "PYAPP_WRITABLE_SESSIONS) or set notes.data_dir and notes.sessions_dir"
            )
        return self.data_dir, self.sessions_dir


def read_config_file(path: str | os.PathLike[str] | None = None) -> Settings:
    """Settings from the filled-in INI file at *path* (default ``PYAPP_CONFIG_FILE``).

    Every section is read (the session secret lives in ``[security]``); without a
    file, the defaults apply.
    """
    path = path if path is not None else os.environ.get("PYAPP_CONFIG_FILE")
    values: dict[str, str] = {}
    if path and os.path.exists(path):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(path, encoding="utf-8")
        for section in parser.sections():
            values.update(parser[section])
    return Settings.from_mapping(values)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"allow_signup: {value!r} is not true or false")


def _strings(value: Any) -> tuple[str, ...]:
    # Text holds one item per line (INI lists) or items separated by spaces or commas.
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else [str(v).strip() for v in value]
    return tuple(v for v in items if v)
