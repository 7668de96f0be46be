"""The operator's configuration of an installed app (spec section 4) and the file the app reads.

``apps/<name>/config.yaml`` holds the operator's values (always YAML, mode 0600
because of secrets). :func:`reconcile` carries them from one release's spec to
another's: values of fields both know are kept, new fields get their defaults (new
secrets are generated), values of removed fields are dropped and reported, and a
required field left without a value is refused, naming it. The app reads the
rendered copy (``app-config.yaml`` or ``app-config.ini``, the spec's format).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apppackage.configspec import ConfigSpec
from apppackage.errors import InvalidConfiguration
from apppackage.files import write_atomic
from apppackage.package import AppPackage
from apppackage.safeyaml import dump_yaml

from ..layout import AppLayout

__all__ = [
    "ConfigChange",
    "load_values",
    "parse_values",
    "reconcile",
    "write_config_files",
    "write_values",
]

CONFIG_FILE = "config.yaml"


def parse_values(spec: ConfigSpec, text: str, file: str = CONFIG_FILE) -> dict[str, Any]:
    """Read operator values from YAML text; raise :class:`InvalidConfiguration` naming *file*."""
    return spec.parse_file(text, file)


def load_values(path: Path) -> dict[str, Any] | None:
    """The values in *path*, or ``None`` when there is no such file."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    return ConfigSpec().parse_file(text, path.name)


def write_values(path: Path, values: Mapping[str, Any]) -> None:
    """Write the operator's values as YAML, mode 0600."""
    write_atomic(path, dump_yaml(dict(values)) if values else "{}\n")


def write_config_files(app: AppLayout, package: AppPackage, values: Mapping[str, Any]) -> Path:
    """Write the operator's values and the file the app reads (in the spec's format); return the latter."""
    spec = package.config_spec
    target = app.app_config_file(spec.format)
    write_values(app.config_file, values)
    write_atomic(target, spec.render(values))
    for other in app.app_config_files:
        if other != target:
            other.unlink(missing_ok=True)
    return target


@dataclass(frozen=True, kw_only=True)
class ConfigChange:
    """The values for a release's spec, and what changed to get there."""

    values: dict[str, Any]
    added: tuple[str, ...] = ()
    """Fields that got a default or a generated secret."""
    dropped: tuple[str, ...] = ()
    """Fields whose values were removed because the spec no longer has them."""
    restored: tuple[str, ...] = ()
    """Fields whose values came back from the release's own last configuration (on rollback)."""
    assigned: tuple[str, ...] = field(default=())
    """Fields given on the command line (``--set``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "dropped": list(self.dropped),
            "restored": list(self.restored),
            "assigned": list(self.assigned),
        }


def reconcile(
    spec: ConfigSpec,
    old: Mapping[str, Any] | None,
    *,
    assignments: Mapping[str, Any] | None = None,
    remembered: Mapping[str, Any] | None = None,
    what: str = "",
) -> ConfigChange:
    """The values for *spec*, starting from *old* (``None`` on a first install).

    *assignments* override (a secret given as the mask ``********`` keeps its value, section
    4.5); *remembered* (the values last used with this spec's release) fill fields *old*
    lacks. Raise :class:`InvalidConfiguration` listing every field that is invalid or
    required without a value.
    """
    given = spec.unmasked(assignments or {}, {**(remembered or {}), **(old or {})})
    base: dict[str, Any] = {}
    dropped: list[str] = []
    restored: list[str] = []
    for key, value in (old or {}).items():
        if spec.field(str(key)) is None:
            dropped.append(str(key))
        else:
            base[str(key)] = value
    for key, value in (remembered or {}).items():
        if spec.field(str(key)) is not None and base.get(str(key)) is None and str(key) not in given:
            base[str(key)] = value
            restored.append(str(key))
    base.update(given)
    values = spec.fill(base, generate_secrets=True)
    problems = spec.validate(values, CONFIG_FILE)
    if problems:
        hint = "give values with --set KEY=VALUE (or: pyapp config NAME set KEY=VALUE)"
        raise InvalidConfiguration(problems, f"{what or 'the configuration'} is not valid; {hint}:")
    added = tuple(k for k in values if k not in base)
    return ConfigChange(
        values=values,
        added=added,
        dropped=tuple(dropped),
        restored=tuple(restored),
        assigned=tuple(given),
    )
