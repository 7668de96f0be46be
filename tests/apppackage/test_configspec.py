"""The configuration spec and the values an operator fills in (spec section 4)."""

from __future__ import annotations

import configparser
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from apppackage import AppPackage, ConfigSpec, Field, InvalidConfiguration
from apppackage.configspec import MASK, check_config_spec, check_configuration


def spec_of(fields: dict[str, Any], **top: Any) -> ConfigSpec:
    return ConfigSpec.from_dict({"fields": fields, **top})


def one(field: dict[str, Any], value: Any) -> str | None:
    """Why *value* is refused by a field built from *field*, or None."""
    problems = spec_of({"f": field}).validate({"f": value})
    assert len(problems) <= 1
    if not problems:
        return None
    assert (problems[0].file, problems[0].path) == ("config.yaml", "/f")
    return problems[0].message


CHOICES = {"type": "choice", "choices": ["a", "b"]}
INT_CHOICES = {"type": "choice", "choices": [1, 2, 3]}
MULTI = {"type": "multichoice", "choices": ["a", "b", "c"]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ({"type": "string"}, "plain"),
        ({"type": "string"}, ""),
        ({"type": "text"}, "line one\nline two"),
        ({"type": "integer"}, -3),
        ({"type": "number"}, 2.5),
        ({"type": "number"}, 7),
        ({"type": "boolean"}, False),
        (CHOICES, "b"),
        (INT_CHOICES, 2),
        ({"type": "choice", "choices": [True, False]}, False),
        (MULTI, ["a", "c"]),
        (MULTI, []),
        ({"type": "email"}, "ops@example.org"),
        ({"type": "email"}, "first.last+tag@mail.example.co.uk"),
        ({"type": "url"}, "https://example.org/path?q=1"),
        ({"type": "url"}, "postgresql://user:pw@db:5432/app"),
        ({"type": "url"}, "sqlite:///var/app.db"),
        ({"type": "url", "schemes": ["https", "http"]}, "http://localhost:8080/"),
        ({"type": "hostname"}, "db.example.org"),
        ({"type": "hostname"}, "localhost"),
        ({"type": "hostname"}, "example.org."),
        ({"type": "port"}, 1),
        ({"type": "port"}, 65535),
        ({"type": "path"}, "/var/lib/app"),
        ({"type": "path"}, "relative/dir"),
        ({"type": "secret"}, "s3cr3t!"),
        ({"type": "list"}, ["a", "b"]),
        ({"type": "list", "items": "integer"}, [1, 2]),
        ({"type": "list", "items": "url", "schemes": ["https"]}, ["https://a.example"]),
        ({"type": "list", "items": "hostname"}, ["a.example", "b"]),
    ],
)
def test_valid_values(field: dict[str, Any], value: Any) -> None:
    assert one(field, value) is None


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ({"type": "string"}, 3, "expected a string, got int"),
        ({"type": "string"}, "two\nlines", "must be a single line"),
        ({"type": "text"}, ["x"], "expected a string, got list"),
        ({"type": "integer"}, 2.0, "expected a whole number, got float"),
        ({"type": "integer"}, True, "expected a whole number, got bool"),
        ({"type": "integer"}, "3", "expected a whole number, got str"),
        ({"type": "number"}, float("nan"), "expected a number, got float"),
        ({"type": "number"}, float("inf"), "expected a number, got float"),
        ({"type": "number"}, False, "expected a number, got bool"),
        ({"type": "boolean"}, "yes", "expected true or false, got str"),
        ({"type": "boolean"}, 1, "expected true or false, got int"),
        (CHOICES, "z", "'z' is not one of 'a', 'b'"),
        (INT_CHOICES, 4, "4 is not one of 1, 2, 3"),
        (INT_CHOICES, True, "True is not one of 1, 2, 3"),
        (INT_CHOICES, "2", "'2' is not one of 1, 2, 3"),
        (MULTI, "a", "expected a list, got str"),
        (MULTI, ["a", "z"], "'z' is not one of 'a', 'b', 'c'"),
        (MULTI, ["a", "a"], "choices must not repeat"),
        ({"type": "email"}, "no-at-sign", "'no-at-sign' is not an e-mail address (name@example.org)"),
        ({"type": "email"}, "ops@localhost", "'ops@localhost' is not an e-mail address (name@example.org)"),
        (
            {"type": "email"},
            "a b@example.org",
            "'a b@example.org' is not an e-mail address (name@example.org)",
        ),
        ({"type": "url"}, "example.org/x", "'example.org/x' is not an absolute URL (scheme://host/...)"),
        ({"type": "url"}, "https://", "'https://' is not an absolute URL (scheme://host/...)"),
        (
            {"type": "url", "schemes": ["https"]},
            "http://example.org",
            "the scheme of 'http://example.org' must be one of https",
        ),
        ({"type": "url"}, "http://[::1", "'http://[::1' is not a URL: Invalid IPv6 URL"),
        ({"type": "hostname"}, "-bad.example", "'-bad.example' is not a host name"),
        ({"type": "hostname"}, "a..b", "'a..b' is not a host name"),
        ({"type": "hostname"}, "under_score.example", "'under_score.example' is not a host name"),
        ({"type": "hostname"}, "x" * 64 + ".example", f"'{'x' * 64}.example' is not a host name"),
        ({"type": "hostname"}, "", "'' is not a host name"),
        ({"type": "port"}, 0, "0 is not a TCP port (1-65535)"),
        ({"type": "port"}, 65536, "65536 is not a TCP port (1-65535)"),
        ({"type": "port"}, "80", "expected a whole number, got str"),
        ({"type": "path"}, "", "must be a non-empty path"),
        ({"type": "path"}, "a\0b", "must be a non-empty path"),
        ({"type": "secret"}, 1234, "expected a string, got int"),
        ({"type": "list"}, "a,b", "expected a list, got str"),
        ({"type": "list", "items": "integer"}, [1, "x"], "item 1: expected a whole number, got str"),
        (
            {"type": "list", "items": "email"},
            ["x"],
            "item 0: 'x' is not an e-mail address (name@example.org)",
        ),
        (
            {"type": "list", "items": "url", "schemes": ["https"]},
            ["ftp://a.example"],
            "item 0: the scheme of 'ftp://a.example' must be one of https",
        ),
    ],
)
def test_invalid_values(field: dict[str, Any], value: Any, reason: str) -> None:
    message = one(field, value)
    assert message is not None and message.startswith(reason)


def test_pattern_must_match_the_whole_value() -> None:
    field = {"type": "string", "pattern": "[a-z]+"}
    assert one(field, "abc") is None
    assert one(field, "abc1") == "does not match the pattern [a-z]+"
    assert one(field, "1abc") == "does not match the pattern [a-z]+"
    assert one(field, "") == "does not match the pattern [a-z]+"
    alternatives = {"type": "string", "pattern": "a|bc"}
    assert one(alternatives, "bc") is None
    assert one(alternatives, "abc") == "does not match the pattern a|bc"
    items = {"type": "list", "pattern": "[0-9]+"}
    assert one(items, ["1", "22"]) is None
    assert one(items, ["1", "2x"]) == "item 1: does not match the pattern [0-9]+"


def test_min_and_max() -> None:
    assert one({"type": "integer", "min": 1, "max": 10}, 1) is None
    assert one({"type": "integer", "min": 1, "max": 10}, 10) is None
    assert one({"type": "integer", "min": 1, "max": 10}, 0) == "0 is less than the minimum 1"
    assert one({"type": "integer", "min": 1, "max": 10}, 11) == "11 is more than the maximum 10"
    assert one({"type": "number", "min": 0.5}, 0.25) == "0.25 is less than the minimum 0.5"
    assert one({"type": "port", "min": 1024}, 80) == "80 is less than the minimum 1024"


def test_integers_past_a_floats_range_are_checked_not_a_crash() -> None:
    # Found by test_properties_configspec: YAML reads 1 and 400 zeros as an integer, which
    # math.isfinite() and float() refused with OverflowError.
    huge = 10**400
    assert one({"type": "number"}, huge) is None
    assert one({"type": "integer", "min": huge}, 1) == f"1 is less than the minimum {huge}"
    assert one({"type": "number", "max": -huge}, 0.5) == f"0.5 is more than the maximum {-huge}"
    assert one({"type": "number", "min": 0.5}, -huge) == f"{-huge} is less than the minimum 0.5"
    assert one({"type": "number"}, float("inf")) == "expected a number, got float"


def test_min_length_and_max_length() -> None:
    field = {"type": "string", "min_length": 3, "max_length": 5}
    assert one(field, "abc") is None and one(field, "abcde") is None
    assert one(field, "ab") == "must have at least 3 characters"
    assert one(field, "abcdef") == "must have at most 5 characters"
    items = {"type": "list", "min_length": 1, "max_length": 2}
    assert one(items, []) == "must have at least 1 items"
    assert one(items, ["a", "b", "c"]) == "must have at most 2 items"
    assert one({"type": "multichoice", "choices": ["a", "b"], "min_length": 1}, []) == (
        "must have at least 1 items"
    )


def test_choices_with_labels() -> None:
    spec = spec_of(
        {"size": {"type": "choice", "choices": [{"value": "s", "label": "Small"}, {"value": "l"}, "xl"]}}
    )
    field = spec.field("size")
    assert field is not None
    assert field.choices == ("s", "l", "xl")
    assert field.to_dict()["choices"] == [
        {"value": "s", "label": "Small"},
        {"value": "l", "label": "l"},
        {"value": "xl", "label": "xl"},
    ]
    assert spec.validate({"size": "s"}) == []
    assert [p.message for p in spec.validate({"size": "Small"})] == ["'Small' is not one of 's', 'l', 'xl'"]


def test_required_fields_and_unknown_settings_are_all_reported() -> None:
    spec = spec_of(
        {
            "host": {"type": "hostname", "required": True},
            "port": {"type": "port", "required": True, "default": 80},
            "note": {"type": "string"},
        }
    )
    problems = spec.validate({"port": None, "colour": "red", "note": 5}, "app.yaml")
    assert [str(p) for p in problems] == [
        "app.yaml:/colour: unknown setting (known: host, port, note)",
        "app.yaml:/host: is required but has no value",
        "app.yaml:/port: is required but has no value",
        "app.yaml:/note: expected a string, got int",
    ]
    assert spec.validate(spec.fill({"host": "db"})) == []
    with pytest.raises(InvalidConfiguration) as info:
        spec.check({"host": "-x", "port": 80}, "app.yaml")
    assert [p.path for p in info.value.problems] == ["/host"]
    assert "app.yaml:/host" in str(info.value)
    assert [p.message for p in spec.validate(["not", "a", "mapping"])] == [
        "must be a mapping of setting names to values"
    ]


def test_an_app_without_a_spec_has_no_settings() -> None:
    spec = ConfigSpec()
    assert spec.validate({}) == []
    assert [p.message for p in spec.validate({"x": 1})] == ["unknown setting (known: none)"]


# -- filling in, secrets ----------------------------------------------------------


def secret_spec() -> ConfigSpec:
    return spec_of(
        {
            "title": {"type": "string", "default": "Demo"},
            "tags": {"type": "list", "default": ["a"]},
            "key": {"type": "secret", "length": 24},
            "token": {"type": "secret"},
            "manual": {"type": "secret", "generate": False},
        }
    )


def test_fill_takes_defaults_and_keeps_given_values() -> None:
    spec = secret_spec()
    assert spec.fill() == {"title": "Demo", "tags": ["a"]}
    assert spec.fill({"title": "Mine", "extra": 1}) == {"title": "Mine", "tags": ["a"], "extra": 1}


def test_filled_values_are_copies_of_the_defaults() -> None:
    spec = secret_spec()
    filled = spec.fill()
    filled["tags"].append("changed")
    spec.defaults()["tags"].append("changed too")
    assert spec.fill()["tags"] == ["a"]
    field = spec.field("tags")
    assert field is not None and field.default == ["a"]


def test_secrets_are_generated_when_asked() -> None:
    spec = secret_spec()
    first = spec.fill(generate_secrets=True)
    second = spec.fill(generate_secrets=True)
    assert len(first["key"]) == 24 and len(first["token"]) == 32
    alphabet = set(string.ascii_letters + string.digits + "-_")
    assert set(first["key"]) <= alphabet and set(first["token"]) <= alphabet
    assert first["key"] != second["key"] and first["token"] != second["token"]
    assert "manual" not in first, "generate: false leaves the secret to the operator"
    kept = spec.fill({"key": "given-by-the-operator"}, generate_secrets=True)
    assert kept["key"] == "given-by-the-operator"
    assert spec.validate(first) == []


def test_secrets_are_masked() -> None:
    spec = secret_spec()
    values = spec.fill({"manual": "pw", "title": "T"}, generate_secrets=True)
    assert spec.masked(values) == {
        "title": "T",
        "tags": ["a"],
        "key": MASK,
        "token": MASK,
        "manual": MASK,
    }
    assert spec.masked({"manual": None, "unknown": "x"}) == {"manual": None, "unknown": "x"}
    shown = spec_of({"pw": {"type": "secret", "default": "changeme"}}).to_dict()
    assert shown["fields"][0]["default"] == MASK
    assert shown["fields"][0]["widget"] == "password"


# -- the file the application reads (section 4.1) -------------------------------------


def test_render_yaml_reads_back() -> None:
    spec = spec_of({"a": {"type": "string"}, "b": {"type": "list"}, "c": {"type": "boolean"}})
    values = {"a": "x: y", "b": ["1", "two"], "c": False}
    assert yaml.safe_load(spec.render(values)) == values
    assert spec.render({}) == "{}\n"
    assert spec.parse_file(spec.render(values)) == values
    assert spec.parse_file("") == {}
    with pytest.raises(InvalidConfiguration, match="must be a mapping"):
        spec.parse_file("- a\n", "config.yaml")


def test_render_ini_reads_back_with_configparser() -> None:
    spec = spec_of(
        {
            "title": {"type": "string"},
            "debug": {"type": "boolean"},
            "workers": {"type": "integer"},
            "hosts": {"type": "list", "section": "network"},
            "motd": {"type": "text"},
            "unset": {"type": "string"},
        },
        format="ini",
    )
    text = spec.render(
        {
            "title": "Demo",
            "debug": True,
            "workers": 4,
            "hosts": ["a", "b"],
            "motd": "hi\nthere",
            "unset": None,
        }
    )
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    assert parser.sections() == ["app", "network"]
    assert parser["app"]["title"] == "Demo"
    assert parser["app"].getboolean("debug") is True
    assert parser["app"].getint("workers") == 4
    assert parser["app"]["motd"] == "hi\nthere"
    assert "unset" not in parser["app"]
    assert parser["network"]["hosts"].split() == ["a", "b"]


def test_render_ini_writes_every_line_break_as_a_continuation_line() -> None:
    # Found by test_properties_configspec: a "\r" was written as it was, and a reader that opens the
    # file as text ends the line there: an operator's text value could add a setting or a section.
    spec = spec_of(
        {"motd": {"type": "text"}, "token": {"type": "secret", "section": "security"}}, format="ini"
    )
    text = spec.render({"motd": "hi\r[security]\rtoken = chosen\r\nby me", "token": "generated"})
    assert text == (
        "[app]\nmotd = hi\n    [security]\n    token = chosen\n    by me\n\n[security]\ntoken = generated\n\n"
    )
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    assert dict(parser["app"]) == {"motd": "hi\n[security]\ntoken = chosen\nby me"}
    assert dict(parser["security"]) == {"token": "generated"}


def test_render_ini_writes_booleans_in_a_list_as_it_writes_a_boolean() -> None:
    # Found by test_properties_configspec: a list's items were written with str(): "False".
    spec = spec_of({"flags": {"type": "multichoice", "choices": [True, False, 2.5]}}, format="ini")
    assert spec.render({"flags": [False, True, 2.5]}) == "[app]\nflags = \n    false\n    true\n    2.5\n\n"


# -- key=value text (section 4.4) --------------------------------------------------------

ALL_TYPES = {
    "s": {"type": "string"},
    "t": {"type": "text"},
    "i": {"type": "integer"},
    "n": {"type": "number"},
    "b": {"type": "boolean"},
    "c": {"type": "choice", "choices": ["x", "y"]},
    "ci": {"type": "choice", "choices": [10, 20]},
    "m": {"type": "multichoice", "choices": ["x", "y", "z"]},
    "mi": {"type": "multichoice", "choices": [1, 2, 3]},
    "e": {"type": "email"},
    "u": {"type": "url"},
    "h": {"type": "hostname"},
    "p": {"type": "port"},
    "pa": {"type": "path"},
    "se": {"type": "secret"},
    "l": {"type": "list"},
    "li": {"type": "list", "items": "integer"},
    "ln": {"type": "list", "items": "number"},
}


def test_parse_assignments_gives_typed_values() -> None:
    spec = spec_of(ALL_TYPES)
    values = spec.parse_assignments(
        [
            "s=a=b",
            "t=two words",
            "i=-42",
            "n=2.5",
            "b=yes",
            "c=y",
            "ci=20",
            "m=x, z",
            "mi=1,3",
            "e=ops@example.org",
            "u=https://example.org",
            "h=db.local",
            "p=5432",
            "pa=/srv/data",
            "se=hunter2",
            "l=a, b ,c",
            "li=1,2",
            "ln=1,2.5",
        ]
    )
    assert values == {
        "s": "a=b",
        "t": "two words",
        "i": -42,
        "n": 2.5,
        "b": True,
        "c": "y",
        "ci": 20,
        "m": ["x", "z"],
        "mi": [1, 3],
        "e": "ops@example.org",
        "u": "https://example.org",
        "h": "db.local",
        "p": 5432,
        "pa": "/srv/data",
        "se": "hunter2",
        "l": ["a", "b", "c"],
        "li": [1, 2],
        "ln": [1, 2.5],
    }
    assert spec.validate(values) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("On", True), ("1", True), ("no", False), ("OFF", False), ("0", False)],
)
def test_parse_booleans(text: str, expected: bool) -> None:
    assert spec_of(ALL_TYPES).parse_assignments([f"b={text}"]) == {"b": expected}


def test_parse_numbers_and_empty_lists() -> None:
    spec = spec_of(ALL_TYPES)
    assert spec.parse_assignments(["n=3", "l=", "m="]) == {"n": 3, "l": [], "m": []}
    assert spec.parse_assignments(["n=1e3"]) == {"n": 1000.0}


def test_parse_errors_name_each_field() -> None:
    spec = spec_of(ALL_TYPES)
    with pytest.raises(InvalidConfiguration) as info:
        spec.parse_assignments(["i=ten", "n=lots", "b=maybe", "p=http", "li=1,x", "nope=1", "justtext"])
    assert [str(p) for p in info.value.problems] == [
        "--set:/i: 'ten' is not a whole number",
        "--set:/n: 'lots' is not a number",
        "--set:/b: 'maybe' is not a boolean (true or false)",
        "--set:/p: 'http' is not a whole number",
        "--set:/li: 'x' is not a whole number",
        "--set:/nope: unknown setting (known: " + ", ".join(ALL_TYPES) + ")",
        "--set:/justtext: expected key=value",
    ]


# -- invalid specs -----------------------------------------------------------------------


def test_the_demo_spec_is_valid(demo_configuration: dict[str, Any]) -> None:
    spec = ConfigSpec.from_dict(demo_configuration)
    assert [f.name for f in spec] == ["title", "secret_key", "mode"]
    assert [f.widget for f in spec] == ["text", "password", "select"]
    assert spec.to_dict()["fields"][0] == {
        "name": "title",
        "type": "string",
        "label": "Title",
        "help": "",
        "required": False,
        "widget": "text",
        "default": "Demo",
        "max_length": 40,
    }


def test_an_invalid_spec_reports_every_problem_with_file_and_pointer() -> None:
    raw = {
        "fields": {
            "a_regex": {"type": "string", "pattern": "(unclosed"},
            "b_range": {"type": "integer", "min": 10, "max": 1},
            "c_lengths": {"type": "string", "min_length": 5, "max_length": 2},
            "d_choices": {"type": "string", "choices": ["x"]},
            "e_default": {"type": "port", "default": 70000},
            "f_type": {"type": "colour"},
            "g_missing_choices": {"type": "choice"},
            "h_repeated": {"type": "choice", "choices": ["x", {"value": "x", "label": "X"}]},
            "i_default_pattern": {"type": "string", "pattern": "[a-z]+", "default": "ABC"},
            "j_default_choice": {"type": "choice", "choices": [1, 2], "default": 3},
        }
    }
    problems = check_config_spec(raw, "conf/spec.yaml")
    assert all(p.file == "conf/spec.yaml" for p in problems)
    found = {p.path: p.message for p in problems}
    assert "/fields/f_type/type" in found and "'colour' is not one of" in found["/fields/f_type/type"]
    assert found["/fields/g_missing_choices/choices"] == "is required but missing"
    # The schema problems come first; once they are fixed, the rest are all reported together.
    del raw["fields"]["f_type"], raw["fields"]["g_missing_choices"]
    problems = check_config_spec(raw, "conf/spec.yaml")
    assert {p.path: p.message for p in problems} == {
        "/fields/a_regex/pattern": (
            "invalid regular expression: missing ), unterminated subpattern at position 0"
        ),
        "/fields/b_range/min": "min is greater than max",
        "/fields/c_lengths/min_length": "min_length is greater than max_length",
        "/fields/d_choices/choices": "only choice and multichoice fields take choices",
        "/fields/e_default/default": "invalid default: 70000 is not a TCP port (1-65535)",
        "/fields/h_repeated/choices": "choices must be unique",
        "/fields/i_default_pattern/default": "invalid default: does not match the pattern [a-z]+",
        "/fields/j_default_choice/default": "invalid default: 3 is not one of 1, 2",
    }
    with pytest.raises(InvalidConfiguration, match=r"conf/spec.yaml:/fields/b_range/min"):
        ConfigSpec.from_dict(raw, "conf/spec.yaml")


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({}, "/fields"),
        ({"fields": {"Bad-Name": {"type": "string"}}}, "/fields"),
        ({"fields": {"a": {"type": "string", "colour": 1}}}, "/fields/a/colour"),
        ({"fields": {"a": {"type": "string"}}, "format": "toml"}, "/format"),
        ({"fields": {"a": {"type": "secret", "length": 4}}}, "/fields/a/length"),
        ({"fields": {"a": {"type": "string", "widget": "slider"}}}, "/fields/a/widget"),
        ({"fields": {"a": {}}}, "/fields/a/type"),
        ([], ""),
    ],
)
def test_spec_schema_errors_are_pointed_at(raw: Any, path: str) -> None:
    problems = check_config_spec(raw, "configuration.yaml")
    assert path in [p.path for p in problems]


def test_a_package_reports_its_invalid_spec(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["config"] = "settings/spec.yaml"
    root = package_factory(tmp_path / "p", demo_metadata, remove=("configuration.yaml",))
    (root / "settings").mkdir()
    (root / "settings" / "spec.yaml").write_text(
        "fields:\n  port: {type: port, default: 0}\n  name: {type: string, pattern: '['}\n"
    )
    pkg = AppPackage(root)
    assert [str(p) for p in pkg.validate()] == [
        "settings/spec.yaml:/fields/port/default: invalid default: 0 is not a TCP port (1-65535)",
        "settings/spec.yaml:/fields/name/pattern: invalid regular expression: "
        "unterminated character set at position 0",
    ]
    with pytest.raises(InvalidConfiguration):
        pkg.config_spec  # noqa: B018


def test_a_field_checks_values_on_its_own() -> None:
    field = Field(name="n", type="integer", min=0)
    assert field.check(1) is None
    assert field.check(-1) == "-1 is less than the minimum 0"
    assert field.parse("12") == 12
    with pytest.raises(ValueError, match="'x' is not a whole number"):
        field.parse("x")


def test_a_null_value_keeps_the_default() -> None:
    spec = spec_of({"title": {"type": "string", "default": "Demo"}, "note": {"type": "string"}})
    assert spec.fill({"title": None, "note": None}) == {"title": "Demo"}
    assert spec.fill({"unknown": None}) == {"title": "Demo", "unknown": None}, "left for validate() to report"


def test_render_yaml_writes_the_fields_with_a_value_in_field_order() -> None:
    spec = spec_of({"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "boolean"}})
    assert spec.render({"c": False, "a": None, "b": 1}) == "b: 1\nc: false\n"
    assert spec.render({"a": None}) == "{}\n"


def test_numbers_and_booleans_as_choices() -> None:
    numbers = {"type": "multichoice", "choices": [1, 2]}
    assert one(numbers, [2.0, 1]) is None, "2 and 2.0 are equal"
    assert one(numbers, [True]) == "True is not one of 1, 2", "a boolean never equals a number"
    assert one(numbers, [1, 1.0]) == "choices must not repeat"
    assert one({"type": "choice", "choices": [1, 2]}, 2.0) is None
    assert one({"type": "choice", "choices": [0, 1]}, False) == "False is not one of 0, 1"
    found = check_config_spec({"fields": {"a": {"type": "choice", "choices": [1, 1.0]}}})
    assert [(p.path, p.message) for p in found] == [("/fields/a/choices", "choices must be unique")]
    assert check_config_spec({"fields": {"a": {"type": "choice", "choices": [1, True]}}}) == []


# -- the version a configuration spec is read by (sections 3.1 and 4) -----------------------------

FUTURE_FIELDS = {"port": {"type": "port", "default": 8080, "placeholder": "8080"}}


def test_a_newer_minor_spec_has_its_unknown_keys_ignored_with_a_warning() -> None:
    raw = {"pyapp": "1.2", "groups": [{"name": "network"}], "x-ui": {"columns": 2}, "fields": FUTURE_FIELDS}
    errors, warnings, clean = check_configuration(raw)
    assert errors == []
    assert [str(w) for w in warnings] == [
        "configuration.yaml:/fields/port/placeholder: unknown key 'placeholder' ignored",
        "configuration.yaml:/groups: unknown key 'groups' ignored",
    ]
    assert clean == {
        "pyapp": "1.2",
        "x-ui": {"columns": 2},
        "fields": {"port": {"type": "port", "default": 8080}},
    }
    assert raw["fields"]["port"]["placeholder"] == "8080", "the document given is left alone"
    spec = ConfigSpec.from_dict(raw)
    assert [f.name for f in spec] == ["port"]
    assert spec.fill() == {"port": 8080}


def test_a_newer_minor_spec_is_otherwise_checked_strictly() -> None:
    raw = {
        "pyapp": "1.10",
        "format": "toml",
        "fields": {
            "port": {"type": "port", "default": 0, "placeholder": "1"},
            "mode": {"type": "choice", "choices": [{"value": "a", "icon": "bolt"}], "x-hint": "h"},
        },
    }
    errors, warnings, _ = check_configuration(raw, "conf/spec.yaml")
    assert [(e.file, e.path) for e in errors] == [("conf/spec.yaml", "/format")]
    assert [w.path for w in warnings] == [
        "/fields/mode/choices/0/icon",
        "/fields/mode/x-hint",
        "/fields/port/placeholder",
    ]
    del raw["format"]
    errors, _, _ = check_configuration(raw, "conf/spec.yaml")
    assert [str(e) for e in errors] == [
        "conf/spec.yaml:/fields/port/default: invalid default: 0 is not a TCP port (1-65535)"
    ]


def test_a_spec_of_a_version_the_reader_implements_is_strict() -> None:
    for raw in (
        {"pyapp": "1.0", "fields": FUTURE_FIELDS},
        {"pyapp": "1.1", "fields": FUTURE_FIELDS},
        {"fields": FUTURE_FIELDS},
    ):
        errors, warnings, _ = check_configuration(raw)
        assert [(e.path, e.message.split(" (")[0]) for e in errors] == [
            ("/fields/port/placeholder", "unknown key 'placeholder'")
        ]
        assert warnings == []
        assert check_config_spec(raw) == errors
        with pytest.raises(InvalidConfiguration, match=r"configuration\.yaml:/fields/port/placeholder"):
            ConfigSpec.from_dict(raw)


def test_a_spec_without_pyapp_is_read_by_the_default_version() -> None:
    raw = {"fields": FUTURE_FIELDS}
    errors, warnings, _ = check_configuration(raw, default_version="1.2")
    assert errors == []
    assert [w.path for w in warnings] == ["/fields/port/placeholder"]
    assert ConfigSpec.from_dict(raw, default_version="1.2").field("port") is not None
    # Its own pyapp wins over the default: each document is read by its own version.
    errors, warnings, _ = check_configuration({"pyapp": "1.0", **raw}, default_version="1.2")
    assert [e.path for e in errors] == ["/fields/port/placeholder"]
    assert warnings == []
    _, warnings, _ = check_configuration({"pyapp": "1.2", **raw}, default_version="1.0")
    assert [w.path for w in warnings] == ["/fields/port/placeholder"]


def test_a_spec_of_another_major_version_is_refused_at_pyapp_alone() -> None:
    raw = {"pyapp": "2.0", "groups": [], "fields": {"port": {"type": "tcp", "placeholder": 1}}}
    errors, warnings, _ = check_configuration(raw)
    assert [str(e) for e in errors] == [
        "configuration.yaml:/pyapp: specification version 2.0 is not supported; this implementation reads "
        '1.x (upgrade apppackage, or declare pyapp: "1.1")'
    ]
    assert warnings == []
    # Read by the description's version, the message says where the version came from.
    errors, _, _ = check_configuration({"fields": {}}, default_version="0.9")
    assert [e.path for e in errors] == ["/pyapp"]
    assert "0.9 (the description's; configuration.yaml gives no pyapp)" in errors[0].message
