"""Checking an app's configuration values before they are written (spec sections 4.3 and 4.4): the same
check for a change (:meth:`AppManager.set_config`) and for its preview (:func:`preview`: what would
change, and the file the app would read, secrets masked), which writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from apppackage.configspec import MASK

if TYPE_CHECKING:
    from pyapp_runtime import Host

    from apppackage.configspec import ConfigSpec

__all__ = ["app_spec", "check_values", "preview", "unmasked"]


def app_spec(host: Host, name: str) -> ConfigSpec:
    """The configuration spec of app *name*'s current release."""
    from apppackage import AppPackage

    with AppPackage(host.release(name).path) as package:
        return package.config_spec


def unmasked(
    current: Mapping[str, Any], fields: Sequence[Mapping[str, Any]], values: Mapping[str, Any]
) -> dict[str, Any]:
    """*values* where a secret given as the mask (``********``, as shown) keeps its *current* value
    (section 4.5), or is left out when it has none."""
    given = dict(values)
    for key in {f["name"] for f in fields if f.get("type") == "secret"} & set(given):
        if given[key] == MASK:
            if key in current:
                given[key] = current[key]
            else:
                del given[key]
    return given


def check_values(
    spec: ConfigSpec, name: str, given: dict[str, Any], assignments: Sequence[str], merged: Mapping[str, Any]
) -> None:
    """Parse *assignments* into *given* and validate the result, raising every problem at once.

    ``KEY=VALUE`` texts are typed by the spec's fields (section 4.4); text that does not
    parse and values that do not validate are reported together.
    """
    from apppackage.errors import InvalidConfiguration, Problem, pointer

    problems = []
    for text in assignments:
        key, sep, raw = text.partition("=")
        key = key.strip()
        field = spec.field(key)
        if not sep:
            problems.append(Problem(file="config.yaml", path=pointer(key), message="expected KEY=VALUE"))
        elif field is None:
            given[key] = raw  # reported as an unknown setting by the validation below
        else:
            try:
                given[key] = field.parse(raw)
            except ValueError as exc:
                problems.append(Problem(file="config.yaml", path=pointer(key), message=str(exc)))
    kept = spec.unmasked(given, merged)  # a secret given as its mask keeps its value (section 4.5)
    given.clear()
    given.update(kept)
    seen = {p.path for p in problems}
    # Checked filled in (section 4.3): a field the operator leaves unset takes its default.
    filled = spec.fill({**merged, **given})
    problems += [p for p in spec.validate(filled, "config.yaml") if p.path not in seen]
    if problems:
        raise InvalidConfiguration(problems, f"the configuration of {name} is not valid:")


def preview(
    host: Host,
    name: str,
    *,
    values: Mapping[str, Any] | None = None,
    assignments: Sequence[str] = (),
    merge: bool = True,
) -> dict[str, Any]:
    """What writing these values would do, checked as a change is (:class:`InvalidConfiguration` listing
    every problem), without writing: each field that would change (old and new, secrets masked), and
    the file the app would read with them (secrets masked)."""
    current = host.config(name, show_secrets=True)
    given = unmasked(current.values, current.fields, values or {})
    spec = app_spec(host, name)
    check_values(spec, name, given, assignments, {**current.values, **given} if merge else given)
    new = {**current.values, **given} if merge else given
    # What the app reads before and after: the values filled in (section 4.3), a default where none is set.
    old_shown, new_shown = spec.masked(spec.fill(current.values)), spec.masked(spec.fill(new))
    changes = [
        {
            "field": f.name,
            "label": f.to_dict()["label"],
            "secret": f.secret,
            "old": old_shown.get(f.name),
            "new": new_shown.get(f.name),
        }
        for f in spec.fields
        if current.values.get(f.name) != new.get(f.name)
    ]
    return {
        "name": name,
        "changes": changes,
        "format": spec.format,
        "file": spec.render(spec.masked(spec.fill(new))),
    }
