"""The checks a reader makes of a description, ``metadata.yaml`` (spec sections 3.1 to 3.19).

:func:`check_description` returns every problem at once: what the JSON Schema says,
then what it cannot say (PEP 440 and 508 syntax, cross references, cron fields,
reserved variable names, ``wsgi`` beside ``asgi``, the update policy's branch and tags).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._variables import service_variable
from ._versions import _is_number, check_versioned, version_problem
from .errors import Problem, pointer

__all__ = ["branch_problem", "check_description", "cron_problem"]


def check_description(
    raw: Any, file: str = "metadata.yaml"
) -> tuple[list[Problem], list[Problem], dict[str, Any]]:
    """Check *raw* against spec section 3.

    Returns ``(errors, warnings, clean)``: every error with its path; warnings for
    keys ignored because the document declares a newer minor version (section 3.1);
    and the document with those keys removed.
    """
    if not isinstance(raw, Mapping):
        return [Problem(file=file, path="", message="must be a mapping of keys to values")], [], {}
    refused = version_problem(raw.get("pyapp"), file)
    if refused is not None:
        return [refused], [], dict(raw)  # another major version: nothing else is checked
    problems, warnings, clean = check_versioned("metadata", raw, file, raw.get("pyapp"))
    # Every error at once: what the schema cannot say is checked even when it found something.
    reported = {p.path for p in problems}
    problems += [p for p in _semantic_problems(clean, file) if p.path not in reported]
    return sorted(problems, key=lambda p: p.path), warnings, clean


def _semantic_problems(raw: Mapping[str, Any], file: str) -> list[Problem]:
    """What JSON Schema cannot say: PEP 440/508 syntax, cross references, cron fields."""
    from packaging.version import InvalidVersion, Version

    from .pypa import requirement_problem, specifier_problem

    problems: list[Problem] = []

    def add(message: str, *parts: object) -> None:
        problems.append(Problem(file=file, path=pointer(*parts), message=message))

    def mapping(value: Any) -> Mapping[str, Any]:
        # The schema reports values of the wrong type; these checks skip them.
        return value if isinstance(value, Mapping) else {}

    version = raw.get("version")
    if isinstance(version, str) and version:
        try:
            Version(version)
        except InvalidVersion:
            add(f"{version!r} is not a PEP 440 version (e.g. 1.0.2)", "version")
    python = mapping(raw.get("requires")).get("python")
    if isinstance(python, str) and specifier_problem(python) is not None:
        add(f"{python!r} is not a PEP 440 version specifier (e.g. >=3.10)", "requires", "python")
    packages = mapping(raw.get("dependencies")).get("packages")
    for i, req in enumerate(packages if isinstance(packages, list) else ()):
        if not isinstance(req, str) or not req:
            continue
        reason = requirement_problem(req)
        if reason is not None:
            add(f"{req!r} is not a PEP 508 requirement: {reason}", "dependencies", "packages", i)
    commands = mapping(raw.get("commands"))
    for name, proc in mapping(raw.get("processes")).items():
        command = mapping(proc).get("command")
        if isinstance(command, str) and command not in commands:
            add(f"names the command {command!r}, which is not under /commands", "processes", name, "command")
    for name, task in mapping(raw.get("tasks")).items():
        cron = mapping(task).get("cron")
        if isinstance(cron, str):
            reason = cron_problem(cron)
            if reason:
                add(reason, "tasks", name, "cron")
    for name, proc in mapping(raw.get("processes")).items():
        args = mapping(proc).get("args")
        if mapping(proc).get("port") is True or not isinstance(args, list):
            continue
        for i, arg in enumerate(args):
            if isinstance(arg, str) and "{port}" in arg:
                add("uses {port}, but the process gets no port: add port: true", "processes", name, "args", i)
    for url in mapping(raw.get("static")):
        if isinstance(url, str) and {".", ".."} & set(url.split("/")):
            add("a URL path must not have '.' or '..' segments", "static", url)
    variables: dict[str, str] = {}
    for name, service in mapping(raw.get("services")).items():
        variable = mapping(service).get("variable", service_variable(str(name)))
        if not isinstance(variable, str):
            continue
        if variable in _RESERVED_VARIABLES or variable.startswith(("PYAPP_WRITABLE_", "PYTHON")):
            add(
                f"variable {variable} is set by the host for another purpose (section 5.3): choose another",
                "services",
                name,
                "variable",
            )
        elif variable in variables:
            add(
                f"variable {variable} is already used by service {variables[variable]!r}",
                "services",
                name,
                "variable",
            )
        variables[variable] = name
    if "wsgi" in raw and "asgi" in raw:
        add("give either wsgi or asgi, not both: an application is served by one server (remove one)", "asgi")
    problems += _updates_problems(mapping(raw.get("updates")), file)
    return problems


def _updates_problems(updates: Mapping[str, Any], file: str) -> list[Problem]:
    """The update policy (section 3.18): its branch and tag pattern, each given only with its strategy."""
    problems: list[Problem] = []
    strategy = updates.get("strategy", "always-latest")
    owners = {"branch": "one-branch", "tag_pattern": "latest-tag", "prereleases": "latest-tag"}
    for key, owner in owners.items():
        if key in updates and strategy in ("always-latest", "one-branch", "latest-tag") and strategy != owner:
            message = f"applies only to strategy {owner}: remove it, or set strategy: {owner}"
            problems.append(Problem(file=file, path=pointer("updates", key), message=message))
    branch = updates.get("branch")
    if isinstance(branch, str) and strategy == "one-branch":
        reason = branch_problem(branch)
        if reason:
            problems.append(Problem(file=file, path=pointer("updates", "branch"), message=reason))
    pattern = updates.get("tag_pattern")
    if isinstance(pattern, str) and strategy == "latest-tag" and (not pattern or _SPACE.search(pattern)):
        what = "is empty" if not pattern else "has white space, which no tag name has"
        message = f"the tag pattern {what}: give a glob of tag names such as v* or release-*"
        problems.append(Problem(file=file, path=pointer("updates", "tag_pattern"), message=message))
    return problems


_SPACE = re.compile(r"\s")
# What git check-ref-format forbids anywhere in a branch name: control characters, space, ~ ^ : ? * [ \
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def branch_problem(name: str) -> str | None:
    """Why *name* is not a valid git branch name (``git check-ref-format --branch``), or ``None`` (3.18)."""
    fix = "give the branch's name as git shows it (e.g. main or release/2.x)"
    if not name:
        return f"the branch name is empty: {fix}"
    found = _REF_FORBIDDEN.search(name)
    if found:
        what = repr(found.group()) if found.group().isprintable() and found.group() != " " else "white space"
        return f"{name!r} is not a git branch name: it has {what}; {fix}"
    if name in ("@", "HEAD") or "@{" in name or ".." in name or "//" in name:
        return f"{name!r} is not a git branch name: HEAD, '@', '@{{', '..' and '//' are not allowed; {fix}"
    if name.startswith(("-", "/")) or name.endswith(("/", ".")):
        return f"{name!r} is not a git branch name: it starts with '-' or '/', or ends with '/' or '.'; {fix}"
    if any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        return f"{name!r} is not a git branch name: a part starts with '.' or ends with '.lock'; {fix}"
    return None


# The variables of section 5.3 that a service must not take.
_RESERVED_VARIABLES = frozenset(
    {
        "PYAPP_NAME", "PYAPP_VERSION", "PYAPP_ROOT", "PYAPP_CONFIG_FILE", "PYAPP_DATA_PATH", "PYAPP_TMP_PATH",
        "TMPDIR", "PYAPP_LOG_PATH", "PYAPP_PROCESS", "PYAPP_PORT", "PYAPP_SOCKET", "PYAPP_MOUNT_PATH",
        "SCRIPT_NAME",
    }
)  # fmt: skip

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(_DAYS)}),
)


def cron_problem(expression: str) -> str | None:
    """Return why a five-field cron *expression* is invalid, or ``None`` (section 3.14)."""
    fields = expression.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields (minute hour day month weekday), not {len(fields)}"
    for text, (label, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in text.split(","):
            base, _, step = item.partition("/")
            if step and not (_is_number(step) and int(step) > 0):
                return f"{label} field {text!r}: step {step!r} must be a positive number"
            if base == "*":
                continue
            bounds = base.split("-")
            if len(bounds) > 2:
                return f"{label} field {text!r}: {base!r} is not a number or range"
            values = []
            for b in bounds:
                value = names.get(b.lower()) if b.lower() in names else (int(b) if _is_number(b) else None)
                if value is None or not low <= value <= high:
                    return f"{label} field {text!r}: {b!r} is not in {low}-{high}"
                values.append(value)
            if len(values) == 2 and values[0] > values[1]:
                return f"{label} field {text!r}: range {base!r} runs backwards"
    return None
