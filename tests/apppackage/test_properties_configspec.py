"""Properties of the configuration spec reader (spec section 4), on generated ``configuration.yaml``
documents and generated values.

Reading a spec ends in a :class:`~apppackage.configspec.ConfigSpec` or in
:class:`~apppackage.errors.InvalidConfiguration` whose problems name the file and a JSON pointer;
checking values, or ``name=value`` text, against a spec reports problems and never crashes; and a
value a spec accepts is the same value, accepted again, once written to the filled-in file and
read back (section 4.1: YAML, and INI as far as INI can carry it), or written as text (section 4.4).

Derandomized and bounded, like every property test here; ``PYAPP_PROPERTY_EXAMPLES`` asks for more.
"""

from __future__ import annotations

import configparser
import re
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from properties import bounded

from apppackage.configspec import ConfigSpec, check_configuration
from apppackage.errors import InvalidConfiguration, Problem, pointer
from apppackage.fields import FIELD_TYPES

# -- building blocks --------------------------------------------------------------------------

# Integers past a float's range too: YAML reads 1 followed by 400 zeros as one.
huge = st.sampled_from([10**400, -(10**400)])
numbers = st.integers(min_value=-(2**70), max_value=2**70) | huge | st.floats()
scalars = st.none() | st.booleans() | numbers | st.text(max_size=12)
yamlish = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(0, 3) | st.none(), inner, max_size=4)
    ),
    max_leaves=20,
)
field_names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
# Patterns that compile and patterns that do not (section 4.3).
patterns = st.sampled_from(
    [".*", "[a-z]*", "[A-Za-z ,!']+", "[0-9]{2,4}", "a|b|", "(x)?y*", "(?P<n>a)", "é+",
     "[", "(", "a{2,1}", "\\"]
)  # fmt: skip
one_line = st.text(max_size=20).map(lambda s: s.replace("\n", " ").replace("\r", " "))
item_types = st.sampled_from(["string", "integer", "number", "email", "url", "hostname", "path"])
choice_values = st.one_of(st.text(max_size=6), st.integers(-5, 5), st.floats(-5, 5), st.booleans())


@st.composite
def raw_fields(draw: st.DrawFn) -> dict[str, Any]:
    """A field as written in configuration.yaml: usually of the right shape, sometimes not."""
    right: dict[str, st.SearchStrategy[Any]] = {
        "label": one_line,
        "help": st.text(max_size=20),
        "default": yamlish,
        "required": st.booleans(),
        "widget": st.sampled_from(["text", "textarea", "number", "select", "password", "list", "dial"]),
        "pattern": patterns,
        "min": numbers,
        "max": numbers,
        "min_length": st.integers(-1, 40),
        "max_length": st.integers(-1, 40),
        "choices": st.lists(choice_values | st.fixed_dictionaries({"value": choice_values}), max_size=4),
        "items": item_types,
        "schemes": st.lists(st.sampled_from(["http", "https", "sqlite", "Bad", "a+b"]), max_size=3),
        "generate": st.booleans(),
        "length": st.integers(0, 2000),
        "section": st.sampled_from(["app", "security", "db.main", "no spaces", ""]),
        "surplus": yamlish,
    }
    field = {"type": draw(st.sampled_from([*FIELD_TYPES, "colour"]))}
    for key in draw(st.lists(st.sampled_from(sorted(right)), max_size=5, unique=True)):
        field[key] = draw(right[key] if draw(st.integers(0, 4)) else yamlish)
    return field


specs = st.fixed_dictionaries(
    {"fields": st.dictionaries(field_names, raw_fields(), max_size=4)},
    optional={
        "pyapp": st.sampled_from(["1.0", "1.3", "2.0", "x"]),
        "format": st.sampled_from(["yaml", "ini", "toml"]),
    },
)
documents = specs | st.dictionaries(st.sampled_from(["pyapp", "format", "fields", "x-ui"]), yamlish) | yamlish


def located(problems: list[Problem] | tuple[Problem, ...], file: str) -> list[str]:
    """The problems that do not name *file* and a JSON pointer."""
    return [
        str(p)
        for p in problems
        if p.file != file or not p.message or not (p.path == "" or p.path.startswith("/"))
    ]


def read(document: Any) -> ConfigSpec | None:
    """The spec of *document*, or ``None`` when it is refused with located problems."""
    try:
        spec = ConfigSpec.from_dict(document)
    except InvalidConfiguration as exc:
        assert exc.problems and located(exc.problems, "configuration.yaml") == []
        return None
    errors, _, _ = check_configuration(document)
    assert errors == [], "from_dict accepted what check_configuration refuses"
    return spec


# -- reading specs and checking values ------------------------------------------------------------


@bounded(300)
@given(documents)
def test_any_document_is_read_or_refused_with_located_problems(document: Any) -> None:
    read(document)


@bounded(300)
@given(specs, st.dictionaries(field_names | st.text(max_size=5), yamlish, max_size=5))
def test_values_are_checked_against_any_accepted_spec_without_crashing(
    document: dict[str, Any], values: dict[str, Any]
) -> None:
    spec = read(document)
    assume(spec is not None)
    assert spec is not None
    problems = spec.validate(values)
    assert located(problems, "config.yaml") == []
    for f in spec.fields:
        if f.name in values and values[f.name] is not None and f.check(values[f.name]) is not None:
            assert pointer(f.name) in {p.path for p in problems}, f"the bad value of {f.name} is not reported"
    shown = spec.masked(values)
    assert all(
        shown[f.name] == "********" for f in spec.fields if f.secret and values.get(f.name) is not None
    )


@bounded(300)
@given(specs, st.lists(st.tuples(field_names, st.text(max_size=30)), max_size=4))
def test_text_assignments_are_converted_or_refused_with_the_setting_named(
    document: dict[str, Any], assignments: list[tuple[str, str]]
) -> None:
    spec = read(document)
    assume(spec is not None)
    assert spec is not None
    try:
        values = spec.parse_assignments(f"{name}={text}" for name, text in assignments)
    except InvalidConfiguration as exc:
        assert located(exc.problems, "--set") == []
        assert {p.path for p in exc.problems} <= {pointer(name) for name, _ in assignments}
    else:
        assert located(spec.validate(values), "config.yaml") == []


# -- accepted values survive the filled-in file and text -----------------------------------------

emails = st.from_regex(
    r"[a-z0-9.+_-]{1,8}@[a-z0-9]([a-z0-9-]{0,5}[a-z0-9])?(\.[a-z]{2,4}){1,2}", fullmatch=True
)
urls = st.from_regex(
    r"(https?|ftp)://[a-z0-9.-]{1,12}(:[0-9]{1,4})?(/[a-zA-Z0-9._~%-]{0,8}){0,2}", fullmatch=True
) | st.just("sqlite:///var/data.db")
hostnames = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}\.?", fullmatch=True)
finite = st.floats(allow_nan=False, allow_infinity=False)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "string": one_line,
    "text": st.text(max_size=40),
    "integer": st.integers(min_value=-(2**70), max_value=2**70) | huge,
    "number": st.integers(min_value=-(2**60), max_value=2**60) | huge | finite,
    "boolean": st.booleans(),
    "email": emails,
    "url": urls,
    "hostname": hostnames,
    "port": st.integers(1, 65535),
    "path": one_line.filter(lambda s: s and "\0" not in s),
    "secret": one_line,
}


@st.composite
def valid_fields(draw: st.DrawFn) -> dict[str, Any]:
    """A field a spec accepts: a type, and the keys of that type, set consistently."""
    kind = draw(st.sampled_from(FIELD_TYPES))
    field: dict[str, Any] = {"type": kind}
    if kind in ("choice", "multichoice"):
        field["choices"] = draw(
            st.lists(choice_values.filter(lambda v: v == v), min_size=1, max_size=4, unique_by=repr)
        )
        # Unique as YAML values (2 and 2.0 are one), which unique_by=repr does not say.
        assume(check_configuration({"fields": {"f": field}})[0] == [])
    if kind == "list":
        field["items"] = draw(item_types)
    if kind in ("string", "text", "secret") and draw(st.booleans()):
        field["pattern"] = draw(st.sampled_from([".*", "[^#;]*", "(?s:.*)"]))
    if kind in ("integer", "number") and draw(st.booleans()):
        low = draw(st.integers(-1000, 0))
        field |= {"min": low, "max": low + draw(st.integers(0, 10**6))}
    if kind == "secret":
        field["section"] = draw(st.sampled_from(["app", "security"]))
    return field


@st.composite
def spec_and_values(draw: st.DrawFn) -> tuple[ConfigSpec, dict[str, Any]]:
    """A spec and a value for each of its fields that the spec accepts."""
    fields = draw(st.dictionaries(field_names, valid_fields(), min_size=1, max_size=4))
    spec = ConfigSpec.from_dict({"format": draw(st.sampled_from(["yaml", "ini"])), "fields": fields})
    values: dict[str, Any] = {}
    for f in spec.fields:
        if f.type == "choice":
            strategy: st.SearchStrategy[Any] = st.sampled_from(f.choices)
        elif f.type == "multichoice":
            strategy = st.lists(st.sampled_from(f.choices), unique_by=repr)
        elif f.type == "list":
            strategy = st.lists(VALUES[f.items], max_size=4)
        else:
            strategy = VALUES[f.type]
        values[f.name] = draw(strategy)
    accepted = {name: value for name, value in values.items() if spec.field(name).check(value) is None}  # type: ignore[union-attr]
    return spec, accepted


@bounded(200)
@given(spec_and_values())
def test_accepted_values_read_back_the_same_from_the_yaml_file(
    case: tuple[ConfigSpec, dict[str, Any]],
) -> None:
    spec, values = case
    yaml_spec = ConfigSpec(fields=spec.fields, format="yaml")
    again = yaml_spec.parse_file(yaml_spec.render(values))
    assert again == values
    assert all(type(again[k]) is type(v) for k, v in values.items()), "a value changed its type"
    assert [k for k, v in again.items() if spec.field(k).check(v) is not None] == []  # type: ignore[union-attr]


def ini_lines(text: str) -> list[str]:
    """The lines INI keeps of a value (section 4.1): each without the spaces around it."""
    return [line.strip() for line in re.split(r"\r\n|\r|\n", text)]


def ini_text(value: Any) -> Any:
    """*value* as a reader of the INI file of section 4.1 reads it: a string, each line stripped; a
    list, its items as strings, empty ones dropped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return [text for text in map(ini_text, value) if text]
    return "\n".join(ini_lines(str(value))).strip("\n")


@bounded(200)
@given(spec_and_values())
def test_accepted_values_read_back_from_the_ini_file_as_far_as_ini_carries_them(
    case: tuple[ConfigSpec, dict[str, Any]],
) -> None:
    spec, values = case
    lists = {f.name for f in spec.fields if f.type in ("list", "multichoice")}
    # What INI cannot carry is left out: a line that starts with '#' or ';' inside a value (a
    # reader takes it for a comment), and a line break in a list's item (a multichoice's choice).
    texts = [t for v in values.values() for t in (v if isinstance(v, list) else [v])]
    assume(not any(line[:1] in ("#", ";") for t in texts for line in ini_lines(ini_text(t))))
    assume(not any(len(ini_lines(str(t))) > 1 for v in values.values() if isinstance(v, list) for t in v))
    ini_spec = ConfigSpec(fields=spec.fields, format="ini")
    parser = configparser.ConfigParser(interpolation=None)
    # Read as open() reads the file: "\r" and "\r\n" end lines too.
    parser.read_string(ini_spec.render(values).replace("\r\n", "\n").replace("\r", "\n"))
    read_back = {
        (section, name): (
            [line for line in ini_lines(text) if line]
            if name in lists
            else "\n".join(ini_lines(text)).strip("\n")
        )
        for section in parser.sections()
        for name, text in parser[section].items()
    }
    expected = {(spec.field(name).section, name): ini_text(value) for name, value in values.items()}  # type: ignore[union-attr]
    assert read_back == expected


def text_form(value: Any) -> str:
    """*value* as an operator writes it in ``name=value`` text (section 4.4)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


@bounded(200)
@given(spec_and_values())
def test_accepted_scalar_values_read_back_the_same_from_text(case: tuple[ConfigSpec, dict[str, Any]]) -> None:
    spec, values = case

    def named_by_another_choice(name: str, value: Any) -> bool:
        # A text that names a choice that is not a string is that choice (section 4.4): a string
        # choice spelt the same cannot be given as text.
        choices = spec.field(name).choices  # type: ignore[union-attr]
        text = text_form(value).strip().lower()
        return isinstance(value, str) and any(
            not isinstance(c, str) and str(c).lower() == text for c in choices
        )

    scalar = {
        k: v for k, v in values.items() if not isinstance(v, list) and not named_by_another_choice(k, v)
    }
    parsed = spec.parse_assignments(f"{name}={text_form(value)}" for name, value in scalar.items())
    assert parsed == scalar
    assert {k: type(v) for k, v in parsed.items()} == {k: type(v) for k, v in scalar.items()}


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_every_field_type_has_values_here(kind: str) -> None:
    assert kind in VALUES or kind in ("choice", "multichoice", "list")
