"""``.pth`` files a release's dependencies ship, which its processes never read (spec section 5.2).

An app's processes start without the ``site`` module, so a ``.pth`` file in a
site-packages directory adds no path and runs no code. Most that wheels ship do not
matter there: setuptools' ``distutils-precedence.pth`` and the ``*-nspkg.pth`` files
of old-style namespace packages (implicit namespace packages, PEP 420, do their work).
Any other one may: the install says so, naming it, rather than leaving the operator
with an ``ImportError`` to explain.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["ignored_pth_files", "pth_warnings"]

_HARMLESS = ("distutils-precedence.pth",)


def ignored_pth_files(directories: Iterable[str | Path]) -> list[Path]:
    """The ``.pth`` files directly in *directories* that could matter to the code beside them."""
    found = []
    for directory in directories:
        try:
            entries = sorted(Path(directory).glob("*.pth"))
        except OSError:
            continue
        found += [p for p in entries if p.name not in _HARMLESS and not p.name.endswith("-nspkg.pth")]
    return found


def pth_warnings(sys_path: Iterable[str], home: Path) -> list[str]:
    """A warning for each such file on *sys_path* under the host's *home* (not the standard library)."""
    inside = [p for p in sys_path if Path(p).is_relative_to(home)]
    return [
        f"{path}: .pth files are not processed (spec section 5.2); if the app needs what it adds, "
        "import it or add the path in the app's own code"
        for path in ignored_pth_files(inside)
    ]
