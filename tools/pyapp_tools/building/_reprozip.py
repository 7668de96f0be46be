"""Writing a ``.pyapp`` zip that is byte-identical for identical inputs.

Entries are written in the order given (the builder sorts them, ``RECORD`` and ``RECORD.sig`` last),
with no directory entries, a fixed timestamp, Unix permissions normalised to
0644 (0755 for executables), no extra fields, and a fixed compression rule:
wheels (already compressed) are stored, everything else is deflated at zlib's
default level. The timestamp is ``SOURCE_DATE_EPOCH`` when set (clamped to the
zip range), else 1980-01-01 00:00:00, the earliest date a zip can hold.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_DATE", "Entry", "build_date", "write_zip"]

DEFAULT_DATE = (1980, 1, 1, 0, 0, 0)
_MIN_EPOCH = 315532800  # 1980-01-01 UTC
_MAX_EPOCH = 4354819199  # 2107-12-31 23:59:59 UTC


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One file of the archive: its name, and either a file on disk or the bytes themselves."""

    name: str
    source: Path | None = None
    data: bytes | None = None
    executable: bool = False

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        if self.source is None:
            raise ValueError(f"{self.name}: an entry needs a source file or data")
        return os.path.getsize(self.source)


def build_date(environ: Mapping[str, str] | None = None) -> tuple[int, int, int, int, int, int]:
    """The timestamp of every entry: ``SOURCE_DATE_EPOCH`` (UTC) if set and valid, else 1980-01-01."""
    value = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value.isdigit():
        return DEFAULT_DATE
    epoch = min(max(int(value), _MIN_EPOCH), _MAX_EPOCH)
    t = time.gmtime(epoch)
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def write_zip(
    target: Path,
    entries: Sequence[Entry],
    *,
    date: tuple[int, int, int, int, int, int] = DEFAULT_DATE,
    on_entry: Callable[[int, int], None] | None = None,
) -> None:
    """Write *entries* in order to *target*; *on_entry(done, total)* reports progress."""
    total = len(entries)
    with zipfile.ZipFile(target, "w", allowZip64=True) as zf:
        for done, entry in enumerate(entries, start=1):
            info = zipfile.ZipInfo(entry.name, date_time=date)
            info.create_system = 3  # Unix, so that the permission bits below are honoured
            mode = 0o755 if entry.executable else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_STORED if entry.name.endswith(".whl") else zipfile.ZIP_DEFLATED
            info.file_size = entry.size
            if entry.data is not None:
                zf.writestr(info, entry.data)
            else:
                assert entry.source is not None
                with open(entry.source, "rb") as src, zf.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
            if on_entry is not None:
                on_entry(done, total)
