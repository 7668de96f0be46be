"""Safe YAML reading of package files (spec section 2.4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apppackage import AppPackage, InvalidDescription, InvalidPackage
from apppackage.safeyaml import MAX_YAML_BYTES, dump_yaml, load_yaml


def refusal(data: str | bytes, file: str = "metadata.yaml") -> str:
    """The one problem *data* is refused for, as ``file: message``."""
    with pytest.raises(InvalidPackage) as info:
        load_yaml(data, file)
    assert len(info.value.problems) == 1
    problem = info.value.problems[0]
    assert problem.file == file
    return problem.message


def test_core_types_are_read() -> None:
    text = 'name: demo\nversion: "1.0"\ncount: 3\nratio: 0.5\nflag: true\nnothing: null\nitems: [a, b]\n'
    assert load_yaml(text, "f.yaml") == {
        "name": "demo",
        "version": "1.0",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "nothing": None,
        "items": ["a", "b"],
    }
    assert load_yaml(b"", "f.yaml") is None
    assert load_yaml("\ufeffa: 1\n".encode(), "f.yaml") == {"a": 1}


def test_explicit_standard_tags_are_refused_too() -> None:
    assert (
        refusal("a: !!str 10\n")
        == "invalid YAML: line 1, column 4: tag 'tag:yaml.org,2002:str' is not allowed"
    )
    assert refusal("a:\n  b: !!map {x: 1}\n") == (
        "invalid YAML: line 2, column 6: tag 'tag:yaml.org,2002:map' is not allowed"
    )


def test_dates_are_refused_quoted_they_are_strings() -> None:
    assert refusal('pyapp: "1.0"\nreleased: 2024-01-31\n') == (
        "invalid YAML: line 2, column 11: '2024-01-31' is read as a date: quote it"
    )
    assert load_yaml('released: "2024-01-31"\n', "f.yaml") == {"released": "2024-01-31"}


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!python/object:os.system {}\n", "tag:yaml.org,2002:python/object:os.system"),
        ("a: !!python/name:os.system\n", "tag:yaml.org,2002:python/name:os.system"),
        ("a: !!python/object/apply:os.system [echo hi]\n", "tag:yaml.org,2002:python/object/apply:os.system"),
        ("a: !custom 1\n", "!custom"),
        ("a: !<tag:example.org,2024:thing> 1\n", "tag:example.org,2024:thing"),
    ],
)
def test_tags_are_refused_with_the_line(text: str, tag: str) -> None:
    assert refusal(text) == f"invalid YAML: line 1, column 4: tag {tag!r} is not allowed"


def test_anchors_and_aliases_are_refused() -> None:
    assert refusal("base: &b {x: 1}\nother: *b\n") == (
        "invalid YAML: line 1, column 7: anchors (&name) are not allowed"
    )
    assert refusal("a: 1\nb: [1, *nowhere]\n").startswith("invalid YAML: line 2, column 8: ")
    # "billion laughs": refused before anything is expanded.
    laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    laughs += "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    assert "anchors (&name) are not allowed" in refusal(laughs)


def test_merge_keys_need_aliases_so_they_are_refused_too() -> None:
    assert refusal("base: {a: 1}\nchild:\n  <<: *base\n") == (
        "invalid YAML: line 3, column 7: aliases (*name) are not allowed"
    )


def test_duplicate_keys_are_refused_with_the_line() -> None:
    assert (
        refusal("name: a\nversion: '1'\nname: b\n") == "invalid YAML: line 3, column 1: duplicate key 'name'"
    )
    assert refusal("hooks:\n  install: a:b\n  install: c:d\n") == (
        "invalid YAML: line 3, column 3: duplicate key 'install'"
    )


def test_complex_mapping_keys_are_refused() -> None:
    assert "mapping keys must be plain scalars" in refusal("? [a, b]\n: 1\n")


def test_syntax_errors_name_the_line() -> None:
    message = refusal("name: demo\nversion: [1\nsummary: x\n")
    assert message.startswith("invalid YAML: line ")
    assert refusal("a: 1\n  b: 2\n") == (
        "invalid YAML: line 2, column 4: mapping values are not allowed in this context"
    )


def test_non_utf8_is_refused_with_the_line() -> None:
    assert refusal(b"name: demo\nsummary: caf\xe9\n") == (
        "not UTF-8 text: line 2: invalid continuation byte at byte 23"
    )
    assert refusal("name: é\n".encode("utf-16")).startswith("not UTF-8 text: line 1:")


def test_too_large_documents_are_refused_before_parsing() -> None:
    big = b"a: " + b"x" * MAX_YAML_BYTES + b"\n"
    assert refusal(big) == f"larger than {MAX_YAML_BYTES} bytes"
    just_fits = b"a: " + b"x" * (MAX_YAML_BYTES - 4) + b"\n"
    assert len(load_yaml(just_fits, "f.yaml")["a"]) == MAX_YAML_BYTES - 4


def test_dump_keeps_order_and_unicode_and_reads_back() -> None:
    data: dict[str, Any] = {"zeta": 1, "alpha": ["é", "ü"], "nested": {"b": True, "a": None}}
    text = dump_yaml(data)
    assert text.index("zeta") < text.index("alpha")
    assert "é" in text
    assert load_yaml(text, "f.yaml") == data


def test_a_package_reports_yaml_errors_with_file_and_line(tmp_path: Path, package_factory: Any) -> None:
    root = package_factory(tmp_path / "p")
    (root / "metadata.yaml").write_text('pyapp: "1.0"\nname: p\nname: q\nversion: "1"\n')
    pkg = AppPackage(root)
    assert [str(p) for p in pkg.validate()] == [
        "metadata.yaml: invalid YAML: line 3, column 1: duplicate key 'name'"
    ]
    with pytest.raises(InvalidDescription, match="line 3, column 1: duplicate key 'name'"):
        pkg.description  # noqa: B018


def test_a_package_reports_configuration_yaml_errors(tmp_path: Path, package_factory: Any) -> None:
    root = package_factory(tmp_path / "p")
    (root / "configuration.yaml").write_text("fields:\n  a: &x {type: string}\n")
    pkg = AppPackage(root)
    assert [str(p) for p in pkg.validate()] == [
        "configuration.yaml: invalid YAML: line 2, column 6: anchors (&name) are not allowed"
    ]
    with pytest.raises(InvalidPackage, match=r"configuration.yaml: invalid YAML: line 2"):
        pkg.config_spec  # noqa: B018
