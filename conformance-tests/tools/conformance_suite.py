"""Reading, preparing and checking the conformance cases (see ``conformance-tests/README.md``).

Standard library only; :mod:`jsonschema` is used by :func:`self_check` when it is
installed. ``conformance-tests/run`` is the command line around this module.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import make_archive

__all__ = [
    "AREAS",
    "ROOT",
    "SECTIONS",
    "Case",
    "check",
    "load_cases",
    "match",
    "prepare_request",
    "self_check",
]

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "1.0"
SCHEMA = ROOT / "case.schema.json"
SPEC = ROOT.parent / "spec" / "pyapp-1.1.md"

AREAS = ("description", "configuration", "config-values", "environment", "archive", "callables", "lifecycle")

# The sections of spec/pyapp-1.1.md a case may cite.
SECTIONS = frozenset(
    ["2", "2.1", "2.2", "2.3", "2.4", "2.5"]
    + ["3"]
    + [f"3.{i}" for i in range(1, 16)]
    + ["4", "4.1", "4.2", "4.3", "4.4", "4.5"]
    + ["5", "5.1", "5.2", "5.3"]
    + ["6", "6.1", "6.2", "6.3", "6.4", "6.5", "6.6"]
    + ["7"]
    + [f"7.{i}" for i in range(1, 11)]
    + ["8", "8.1", "8.2", "8.3"]
)

MIN_DESCRIPTION = 15
_VAGUE = re.compile(
    r"^(valid|invalid|ok|works|fails|passes|error|example|simple|basic|misc|other|todo|"
    r"(test|case|group|check)\s*\d*|(valid|invalid)\s+(case|test|input|document)\s*\d*)$",
    re.IGNORECASE,
)

MISSING: Any = object()


@dataclass(frozen=True, kw_only=True)
class Case:
    """One case: a test of a group of a case file."""

    file: str
    area: str
    group: str
    sections: tuple[str, ...]
    description: str
    request: dict[str, Any]
    test: dict[str, Any] = field(repr=False)

    @property
    def id(self) -> str:
        return f"{self.file} :: {self.description}"

    @property
    def cited(self) -> str:
        return ", ".join(f"§{s}" for s in self.sections)


def case_files(areas: list[str] | None = None) -> list[Path]:
    """Every case file, in a stable order, optionally only of *areas*."""
    files = []
    for area in AREAS:
        if areas and area not in areas:
            continue
        files += sorted((SUITE / area).glob("*.json"))
    return files


def load_cases(areas: list[str] | None = None) -> list[Case]:
    """Every case of the suite (of *areas*), in file order."""
    cases = []
    for path in case_files(areas):
        rel = path.relative_to(ROOT).as_posix()
        for group in json.loads(path.read_text("utf-8")):
            for test in group["tests"]:
                sections = [c["section"] for c in group["spec"]] + [
                    c["section"] for c in test.get("spec", [])
                ]
                cases.append(
                    Case(
                        file=rel,
                        area=group["area"],
                        group=group["description"],
                        sections=tuple(dict.fromkeys(sections)),
                        description=test["description"],
                        request={**group.get("request", {}), **test.get("request", {})},
                        test=test,
                    )
                )
    return cases


def prepare_request(case: Case) -> dict[str, Any]:
    """The request document sent to the implementation for *case*.

    Declarative parts become what an implementation reads: an ``archive`` description
    becomes the base64 of the zip it describes, and a package file given as JSON
    (an object or a list) becomes its JSON text, which is also YAML.
    """
    request: dict[str, Any] = {"area": case.area, "case": case.description}
    for key, value in case.request.items():
        if key == "archive" and isinstance(value, dict):
            value = base64.b64encode(make_archive.build(value)).decode("ascii")
        elif key == "package" and isinstance(value, dict):
            files = {
                name: text if isinstance(text, str) else json.dumps(text, indent=2, ensure_ascii=False) + "\n"
                for name, text in value.get("files", {}).items()
            }
            value = {**value, "files": files}
        request[key] = value
    return request


# -- comparing an answer with a case ----------------------------------------------------


def _same_number(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


def _show(value: Any) -> str:
    return "(absent)" if value is MISSING else json.dumps(value, ensure_ascii=False)


def match(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Why *actual* does not match *expected*; empty when it does.

    Values compare as JSON (``1`` equals ``1.0``, ``true`` does not equal ``1``). An
    object whose only key starts with ``$`` is a matcher: ``$absent``, ``$ne``,
    ``$contains``, ``$length``, ``$keys``, ``$includes``, ``$pattern`` (see the README).
    """
    at = where or "/"
    if isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$"):
        op, arg = next(iter(expected.items()))
        if op == "$absent":
            return [] if actual is MISSING else [f"{at}: expected no value, got {_show(actual)}"]
        if actual is MISSING:
            return [f"{at}: expected a value, got none"]
        if op == "$ne":
            return [f"{at}: expected anything but {_show(arg)}"] if not match(arg, actual) else []
        if op == "$contains":
            ok = isinstance(actual, str) and arg in actual
            return [] if ok else [f"{at}: expected text containing {_show(arg)}, got {_show(actual)}"]
        if op == "$length":
            ok = isinstance(actual, str | list | dict) and len(actual) == arg
            return [] if ok else [f"{at}: expected length {arg}, got {_show(actual)}"]
        if op == "$pattern":
            ok = isinstance(actual, str) and re.fullmatch(arg, actual) is not None
            return [] if ok else [f"{at}: expected text matching {_show(arg)}, got {_show(actual)}"]
        if op == "$keys":
            ok = isinstance(actual, dict) and sorted(actual) == sorted(arg)
            got = sorted(actual) if isinstance(actual, dict) else actual
            return [] if ok else [f"{at}: expected exactly the keys {_show(sorted(arg))}, got {_show(got)}"]
        if op == "$includes":
            if not isinstance(actual, dict):
                return [f"{at}: expected an object, got {_show(actual)}"]
            out = []
            for key, value in arg.items():
                out += match(value, actual.get(key, MISSING), f"{where}/{key}")
            return out
        return [f"{at}: unknown matcher {op}"]
    if actual is MISSING:
        return [f"{at}: expected {_show(expected)}, got none"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{at}: expected {_show(expected)}, got {_show(actual)}"]
        out = []
        for key in expected.keys() | actual.keys():
            if key not in expected:
                out.append(f"{where}/{key}: unexpected {_show(actual[key])}")
            else:
                out += match(expected[key], actual.get(key, MISSING), f"{where}/{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{at}: expected {_show(expected)}, got {_show(actual)}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out += match(e, a, f"{where}/{i}")
        return out
    if (expected == actual and type(expected) is type(actual)) or _same_number(expected, actual):
        return []
    return [f"{at}: expected {_show(expected)}, got {_show(actual)}"]


def _problem_key(problem: Any) -> str:
    if not isinstance(problem, dict):
        return json.dumps(problem)
    file = problem.get("file")
    return f"{file}:{problem.get('path')!s}" if file else str(problem.get("path"))


def _compare_problems(kind: str, expected: list[dict[str, Any]], actual: Any) -> list[str]:
    """Every expected problem is reported, and every reported one was expected (by path and file)."""
    if not isinstance(actual, list):
        return [f"{kind}: expected a list, got {_show(actual)}"]

    def matches(e: dict[str, Any], a: Any) -> bool:
        return (
            isinstance(a, dict)
            and a.get("path") == e["path"]
            and ("file" not in e or (a.get("file") or None) == (e["file"] or None))
        )

    missing = [e for e in expected if not any(matches(e, a) for a in actual)]
    extra = [a for a in actual if not any(matches(e, a) for e in expected)]
    out = []
    if missing:
        wanted = ", ".join(_problem_key(e) or '""' for e in missing)
        got = (
            "; ".join(f"{_problem_key(a) or chr(34) * 2} ({a.get('message', '')})" for a in actual) or "none"
        )
        out.append(f"{kind}: expected at {wanted}; reported: {got}")
    for a in extra:
        message = a.get("message", "") if isinstance(a, dict) else ""
        out.append(f"{kind}: unexpected at {_problem_key(a) or chr(34) * 2} ({message})")
    return out


def check(case: Case, answer: Any) -> list[str]:
    """Why *answer* is not what *case* expects; empty when it passes."""
    test = case.test
    if not isinstance(answer, dict):
        return [f"the answer is not a JSON object: {_show(answer)}"]
    out = []
    if "valid" in test:
        if answer.get("valid", MISSING) is not test["valid"]:
            out.append(f"valid: expected {_show(test['valid'])}, got {_show(answer.get('valid', MISSING))}")
        if test["valid"] and answer.get("errors"):
            out += _compare_problems("errors", [], answer["errors"])
    if "errors" in test:
        out += _compare_problems("errors", test["errors"], answer.get("errors", []))
    if "warnings" in test:
        out += _compare_problems("warnings", test["warnings"], answer.get("warnings", []))
    for key, expected in test.get("expect", {}).items():
        actual = _ini(answer.get("text", MISSING)) if key == "ini" else answer.get(key, MISSING)
        out += match(expected, actual, f"/{key}")
    return out


def _ini(text: Any) -> Any:
    """An INI file's sections as ``{section: {key: value}}``, for ``expect.ini``; ``text`` if unreadable."""
    import configparser

    if not isinstance(text, str):
        return text
    parser = configparser.ConfigParser(interpolation=None, default_section="\0")
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return text
    return {section: dict(parser[section]) for section in parser.sections()}


# -- checking the suite itself ---------------------------------------------------------------


def _normalize(text: str) -> str:
    """Text compared for quotes: without Markdown emphasis and code marks, white space collapsed."""
    return " ".join(text.replace("`", "").replace("*", "").split())


def _spec_sections() -> dict[str, str] | None:
    """Each numbered section of the spec document -> its text (subsections included).

    ``None`` when the document does not exist or has no numbered headings (yet).
    """
    if not SPEC.exists():
        return None
    lines = SPEC.read_text("utf-8").splitlines()
    headings = []
    for i, line in enumerate(lines):
        m = re.match(r"^(#{1,6})\s+(?:§\s*)?(\d+(?:\.\d+)*)\.?\s", line)
        if m:
            headings.append((i, len(m.group(1)), m.group(2)))
    sections = {}
    for n, (start, level, number) in enumerate(headings):
        end = next((i for i, lv, _ in headings[n + 1 :] if lv <= level), len(lines))
        sections[number] = _normalize("\n".join(lines[start + 1 : end]))
    return sections or None


def _schema_errors(schema: dict[str, Any], instance: Any, ref: str | None = None) -> Iterator[str]:
    try:
        from jsonschema import Draft202012Validator
    except ImportError:  # the self-check then relies on the checks below only
        return
    if ref is not None:
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": ref}
    for error in sorted(Draft202012Validator(schema).iter_errors(instance), key=lambda e: list(e.path)):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        yield f"{where}: {error.message}"


def self_check() -> list[str]:
    """Every problem with the case files: schema, citations, vague or repeated descriptions."""
    schema = json.loads(SCHEMA.read_text("utf-8"))
    try:
        from jsonschema import Draft202012Validator

        Draft202012Validator.check_schema(schema)
    except ImportError:
        pass
    problems: list[str] = []
    spec_sections = _spec_sections()
    seen: dict[str, str] = {}

    def description(text: str, where: str) -> None:
        normalized = " ".join(text.lower().split())
        if len(normalized) < MIN_DESCRIPTION:
            problems.append(f"{where}: description {text!r} is too short to say what is checked")
        elif _VAGUE.match(normalized):
            problems.append(f"{where}: description {text!r} is too vague")
        if normalized in seen:
            problems.append(f"{where}: description {text!r} repeats {seen[normalized]}")
        seen.setdefault(normalized, where)

    def citations(cited: list[dict[str, str]], where: str) -> None:
        for citation in cited:
            section = citation["section"]
            if section not in SECTIONS:
                problems.append(f"{where}: cites §{section}, which the spec does not have")
            elif spec_sections is not None and section not in spec_sections:
                problems.append(f"{where}: cites §{section}, not a heading of {SPEC.name}")
            elif (
                spec_sections is not None
                and "quote" in citation
                and _normalize(citation["quote"]) not in spec_sections[section]
            ):
                problems.append(f"{where}: the quote {citation['quote']!r} is not in §{section}")

    files = case_files()
    if not files:
        problems.append(f"{SUITE}: no case files")
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        try:
            groups = json.loads(path.read_text("utf-8"))
        except ValueError as exc:
            problems.append(f"{rel}: not JSON: {exc}")
            continue
        errors = list(_schema_errors(schema, groups))
        problems += [f"{rel}{e}" for e in errors]
        if errors or not isinstance(groups, list):
            continue
        area = path.parent.name
        for g, group in enumerate(groups):
            where = f"{rel}/{g}"
            description(group["description"], where)
            if group["area"] != area:
                problems.append(f"{where}: area {group['area']!r} is not the folder's ({area!r})")
            citations(group["spec"], where)
            for t, test in enumerate(group["tests"]):
                twhere = f"{where}/tests/{t}"
                description(test["description"], twhere)
                citations(test.get("spec", []), twhere)
                request = {**group.get("request", {}), **test.get("request", {})}
                ref = f"#/$defs/complete-{area}"
                problems += [f"{twhere}/request{e}" for e in _schema_errors(schema, request, ref)]
    return problems
