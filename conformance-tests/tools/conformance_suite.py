"""Reading, preparing and checking the conformance cases (see ``conformance-tests/README.md``).

Standard library only; :mod:`jsonschema` is used by :func:`self_check` when it is
installed. ``conformance-tests/run`` is the command line around this module.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import built_package
import make_archive
import make_wheel

__all__ = [
    "AREAS",
    "IMPLEMENTATIONS",
    "ROOT",
    "SECTIONS",
    "UNCITED",
    "Case",
    "check",
    "implementations",
    "load_cases",
    "match",
    "prepare_request",
    "run_case",
    "self_check",
]

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "1.0"
SCHEMA = ROOT / "case.schema.json"
SPEC = ROOT.parent / "spec" / "pyapp-1.1.md"
IMPLEMENTATIONS = ROOT / "impl" / "implementations.json"

AREAS = (
    "description",
    "configuration",
    "config-values",
    "environment",
    "archive",
    "callables",
    "builder",
    "lifecycle",
    "host",
)

# The numbered sections of the normative part (2 to 8) that no case needs to cite, and why. Every other
# numbered section of the spec with text of its own is cited by at least one case (the self-check says
# which is not). A section listed here that a case cites is a problem too: it leaves the list.
UNCITED = {
    "8.4": "it points to this suite; every case demonstrates it",
}

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
    becomes the base64 of the zip it describes, each of ``wheels`` the base64 of the wheel
    it describes (by its file name), and a file of a ``package``, a ``project`` or an
    ``update`` step given as JSON (an object or a list) becomes its JSON text, which is also YAML.
    """
    request: dict[str, Any] = {"area": case.area, "case": case.description}
    for key, value in case.request.items():
        if key == "archive" and isinstance(value, dict):
            value = base64.b64encode(make_archive.build(value)).decode("ascii")
        elif key in ("package", "project") and isinstance(value, dict):
            value = {**value, "files": _texts(value.get("files", {}))}
        elif key == "wheels" and isinstance(value, list):
            value = {
                make_wheel.file_name(w): base64.b64encode(make_wheel.build(w)).decode("ascii") for w in value
            }
        elif key == "steps" and isinstance(value, list):
            value = [
                {**step, "update": {**step["update"], "files": _texts(step["update"].get("files", {}))}}
                if isinstance(step.get("update"), dict)
                else step
                for step in value
            ]
        request[key] = value
    return request


def _texts(files: dict[str, Any]) -> dict[str, str]:
    """Package files as text: a file given as JSON (an object or a list) becomes its JSON text (also YAML)."""
    return {
        name: text if isinstance(text, str) else json.dumps(text, indent=2, ensure_ascii=False) + "\n"
        for name, text in files.items()
    }


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


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at JSON Pointer *pointer* (RFC 6901) in *document*; :data:`MISSING` when there is none."""
    value = document
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return MISSING
    return value


def match(expected: Any, actual: Any, where: str = "", root: Any = MISSING) -> list[str]:
    """Why *actual* does not match *expected*; empty when it does.

    Values compare as JSON (``1`` equals ``1.0``, ``true`` does not equal ``1``). An
    object whose only key starts with ``$`` is a matcher: ``$absent``, ``$ne``,
    ``$contains``, ``$length``, ``$keys``, ``$includes``, ``$pattern``, and ``$same``, which
    compares with another value of the whole answer *root*, named by its JSON Pointer
    (see the README).
    """
    at = where or "/"
    if isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$"):
        op, arg = next(iter(expected.items()))
        if op == "$absent":
            return [] if actual is MISSING else [f"{at}: expected no value, got {_show(actual)}"]
        if actual is MISSING:
            return [f"{at}: expected a value, got none"]
        if op == "$same":
            other = resolve_pointer(root, str(arg))
            if other is MISSING:
                return [f"{at}: expected the value at {arg}, but the answer has none there"]
            return (
                []
                if not match(other, actual)
                else [f"{at}: expected {_show(other)} (as at {arg}), got {_show(actual)}"]
            )
        if op == "$ne":
            return [f"{at}: expected anything but {_show(arg)}"] if not match(arg, actual, root=root) else []
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
                out += match(value, actual.get(key, MISSING), f"{where}/{key}", root)
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
                out += match(expected[key], actual.get(key, MISSING), f"{where}/{key}", root)
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{at}: expected {_show(expected)}, got {_show(actual)}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out += match(e, a, f"{where}/{i}", root)
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
    """Why *answer* is not what *case* expects; empty when it passes.

    A ``builder`` answer is first completed with what the runner reads from the packages
    it carries (:func:`built_package.views`).
    """
    test = case.test
    if not isinstance(answer, dict):
        return [f"the answer is not a JSON object: {_show(answer)}"]
    if case.area == "builder":
        answer = {**answer, **built_package.views(answer)}
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
        out += match(expected, actual, f"/{key}", answer)
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


def _own_text_sections() -> list[str]:
    """The numbered sections of the normative part (2 to 8) with text of their own, before any subsection."""
    if not SPEC.exists():
        return []
    lines = SPEC.read_text("utf-8").splitlines()
    starts = [
        (i, m.group(1))
        for i, line in enumerate(lines)
        if (m := re.match(r"^#{1,6}\s+(?:§\s*)?(\d+(?:\.\d+)*)\.?\s", line))
    ]
    ends = [i for i, line in enumerate(lines) if re.match(r"^#{1,6}\s", line)] + [len(lines)]
    own = []
    for start, number in starts:
        end = next(i for i in ends if i > start)
        if (
            number.split(".")[0] in {"2", "3", "4", "5", "6", "7", "8"}
            and "\n".join(lines[start + 1 : end]).strip()
        ):
            own.append(number)
    return own


SECTIONS = frozenset(_spec_sections() or ())
"""The numbered sections of ``spec/pyapp-1.1.md``, which a case may cite."""


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
    """Every problem with the case files (schema, citations, vague or repeated descriptions), every
    numbered section no case cites, and every problem of ``impl/implementations.json``."""
    schema = json.loads(SCHEMA.read_text("utf-8"))
    try:
        from jsonschema import Draft202012Validator

        Draft202012Validator.check_schema(schema)
    except ImportError:
        pass
    problems: list[str] = []
    spec_sections = _spec_sections()
    seen: dict[str, str] = {}
    cited: set[str] = set()

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
                cited.update(c["section"] for c in [*group["spec"], *test.get("spec", [])])
    if spec_sections is not None and not problems:
        problems += _citing_problems(cited)
    problems += _implementation_problems({" ".join(d.lower().split()) for d in seen})
    return problems


def _citing_problems(cited: set[str]) -> list[str]:
    """Every numbered section with text of its own is cited by a case, or listed in :data:`UNCITED`."""
    problems = []
    for section in _own_text_sections():
        if section not in cited and section not in UNCITED:
            problems.append(
                f"{SPEC.name}: §{section} is cited by no case: add a case stating one of its facts "
                "(or, when no case can, list it in UNCITED of tools/conformance_suite.py with why)"
            )
    for section, why in UNCITED.items():
        if section not in SECTIONS:
            problems.append(f"UNCITED names §{section}, not a section of {SPEC.name}")
        elif section in cited:
            problems.append(
                f"UNCITED names §{section} ({why}), but a case cites it now: take it off the list"
            )
    return problems


# -- the implementations shipped with the suite ---------------------------------------------------


def implementations() -> dict[str, dict[str, Any]]:
    """``impl/implementations.json``: each shipped implementation (a script of ``impl/``) -> what it claims.

    ``areas``: the areas it answers (every case of another area it answers with a skip);
    ``catches`` (a deliberately broken implementation): the cases that must fail for it.
    """
    data: dict[str, dict[str, Any]] = json.loads(IMPLEMENTATIONS.read_text("utf-8"))
    return {name: entry for name, entry in data.items() if not name.startswith("$")}


def _implementation_problems(descriptions: set[str]) -> list[str]:
    """What is wrong with ``impl/implementations.json``: missing scripts, unknown areas or cases."""
    where = IMPLEMENTATIONS.relative_to(ROOT).as_posix()
    try:
        shipped = implementations()
    except (OSError, ValueError) as exc:
        return [f"{where}: cannot be read: {exc}"]
    problems = []
    claimed: set[str] = set()
    for name, entry in shipped.items():
        if not (ROOT / "impl" / name).is_file():
            problems.append(f"{where}: {name}: no such file in impl/")
        areas = entry.get("areas", [])
        problems += [f"{where}: {name}: unknown area {a!r}" for a in areas if a not in AREAS]
        if not entry.get("catches"):
            claimed.update(areas)
        for case in entry.get("catches", []):
            if " ".join(case.lower().split()) not in descriptions:
                problems.append(f"{where}: {name}: catches names no case: {case!r}")
    problems += [f"{where}: no implementation answers the area {a!r}" for a in AREAS if a not in claimed]
    return problems


# -- running one case through the process contract --------------------------------------------------


def run_case(
    impl: list[str], case: Case, timeout: float, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one case through the process contract with the command *impl* (in the environment *env*,
    default: this process's); return its result record."""
    result: dict[str, Any] = {
        "file": case.file,
        "area": case.area,
        "group": case.group,
        "case": case.description,
        "spec": list(case.sections),
    }
    request = json.dumps(prepare_request(case))
    try:
        proc = subprocess.run(impl, input=request.encode(), capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {**result, "status": "failed", "reasons": [f"no answer within {timeout:g} s"]}
    except OSError as exc:
        return {**result, "status": "failed", "reasons": [f"cannot start the implementation: {exc}"]}
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        reason = f"the implementation crashed (exit status {proc.returncode})"
        return {**result, "status": "failed", "reasons": [reason, *tail]}
    try:
        answer = json.loads(proc.stdout)
    except ValueError:
        text = proc.stdout.decode("utf-8", "replace")[:200]
        return {**result, "status": "failed", "reasons": [f"the answer is not JSON: {text!r}"]}
    if isinstance(answer, dict) and "skip" in answer:
        return {**result, "status": "skipped", "reasons": [str(answer["skip"])]}
    reasons = check(case, answer)
    return {**result, "status": "failed" if reasons else "passed", "reasons": reasons}
