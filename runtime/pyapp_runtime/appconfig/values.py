"""The operator's configuration of an installed app (spec section 4) and the file the app reads.

``apps/<name>/config.yaml`` holds the operator's values (always YAML, mode 0600
because of secrets): the values the operator set and the secrets the host generated
(section 4.5), never the defaults. The values a release runs with are those filled
in with its own spec's defaults (section 4.3), so that a default a new release
changes reaches the app (section 7.2, step 5). :func:`reconcile` carries the
operator's values from one release's spec to another's: values of fields both know
are kept, new secrets are generated, values of removed fields are dropped and
reported, and a required field left without a value is refused, naming it. The app
reads the filled-in, rendered copy (``app-config.yaml`` or ``app-config.ini``, the
spec's format).

A ``config.yaml`` written before the host kept only the operator's values (it has
no :data:`HEADER`) also holds the defaults filled in when it was written:
:func:`load_stored` reads the values in it that equal the defaults of the spec they
run with as defaults, which changes nothing the app reads then and lets the next
release's defaults reach it.
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
    "filled_values",
    "load_stored",
    "load_values",
    "parse_values",
    "reconcile",
    "release_spec",
    "write_config_files",
    "write_values",
]

CONFIG_FILE = "config.yaml"

HEADER = "# pyapp: the operator's values; a field left out takes the default of the release's spec\n"
"""The first line of a values file that holds only the operator's values and generated secrets."""


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


def load_stored(path: Path, spec: ConfigSpec) -> dict[str, Any] | None:
    """The operator's values in *path* (``None`` when there is no such file), for the release of *spec*.

    A file without :data:`HEADER` was written with the defaults filled in: its values that
    equal *spec*'s defaults are left out, as defaults (what *spec* fills in is the same).
    """
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    values = ConfigSpec().parse_file(text, path.name)
    if text.startswith(HEADER):
        return values
    return {
        key: value
        for key, value in values.items()
        if (f := spec.field(str(key))) is None or f.default is None or value != f.default
    }


def release_spec(release: Path) -> ConfigSpec:
    """The configuration spec of the release (or package) at *release*."""
    with AppPackage(release) as package:
        return package.config_spec


def filled_values(config_file: Path, release: Path) -> dict[str, Any]:
    """The values the release at *release* runs with: the operator's (*config_file*) filled in with its
    spec's defaults (section 4.3), as its hooks, tasks and factory get them."""
    spec = release_spec(release)
    return spec.fill(load_stored(config_file, spec) or {})


def write_values(path: Path, values: Mapping[str, Any]) -> None:
    """Write the operator's values as YAML, mode 0600, under :data:`HEADER`."""
    write_atomic(path, HEADER + (dump_yaml(dict(values)) if values else "{}\n"))


def write_config_files(app: AppLayout, package: AppPackage, values: Mapping[str, Any]) -> Path:
    """Write the operator's *values* (a null is no value: left out) and the file the app reads, filled in
    with the spec's defaults, in the spec's format; return the latter."""
    spec = package.config_spec
    target = app.app_config_file(spec.format)
    stored = {key: value for key, value in values.items() if value is not None}
    write_values(app.config_file, stored)
    write_atomic(target, spec.render(spec.fill(stored)))
    for other in app.app_config_files:
        if other != target:
            other.unlink(missing_ok=True)
    return target


@dataclass(frozen=True, kw_only=True)
class ConfigChange:
    """The values for a release's spec, and what changed to get there."""

    values: dict[str, Any]
    """The filled-in values the release runs with (section 4.3)."""
    stored: dict[str, Any] = field(default_factory=dict)
    """What the host keeps of them: the operator's values and the generated secrets, not the defaults."""
    added: tuple[str, ...] = ()
    """New fields that got a default, and fields that got a generated secret."""
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
    previous: ConfigSpec | None = None,
    what: str = "",
) -> ConfigChange:
    """The values for *spec*, starting from *old* (``None`` on a first install).

    *assignments* override (a secret given as the mask ``********`` keeps its value, section
    4.5); *remembered* (the operator's values last used with this spec's release) fill fields *old*
    lacks, but not with a value equal to the field's default (an older host kept the defaults too).
    *previous* is the spec *old* was used with: a field it has is not new.
    Raise :class:`InvalidConfiguration` listing every field that is invalid or required
    without a value.
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
        f = spec.field(str(key))
        if f is not None and base.get(str(key)) is None and str(key) not in given and value != f.default:
            base[str(key)] = value
            restored.append(str(key))
    base.update(given)
    plain = spec.fill(base)
    values = spec.fill(base, generate_secrets=True)
    problems = spec.validate(values, CONFIG_FILE)
    if problems:
        hint = "give values with --set KEY=VALUE (or: pyapp config NAME set KEY=VALUE)"
        raise InvalidConfiguration(problems, f"{what or 'the configuration'} is not valid; {hint}:")
    generated = {k: v for k, v in values.items() if plain.get(k) is None and v is not None}
    known = {f.name for f in previous.fields} if previous is not None else set()
    added = tuple(k for k in values if k not in base and (k not in known or k in generated))
    stored = {k: v for k, v in base.items() if v is not None} | generated
    return ConfigChange(
        values=values,
        stored=stored,
        added=added,
        dropped=tuple(dropped),
        restored=tuple(restored),
        assigned=tuple(given),
    )
