"""The JSON Schemas: one source for the library and the specification (spec sections 3 and 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from apppackage import AppPackage
from apppackage.checks import check_description
from apppackage.configspec import ConfigSpec, check_config_spec
from apppackage.description import Description
from apppackage.safeyaml import load_yaml
from apppackage.schema import SCHEMA_DIR, load_schema, schema_problems

SCHEMAS = {"metadata": "metadata.schema.json", "configuration": "configuration.schema.json"}


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_the_spec_copies_are_byte_identical(repo_root: Path, kind: str) -> None:
    ours = SCHEMA_DIR / SCHEMAS[kind]
    theirs = repo_root / "spec" / SCHEMAS[kind]
    assert theirs.is_file(), f"spec/{SCHEMAS[kind]} is missing: copy apppackage/schemas/{SCHEMAS[kind]} there"
    assert theirs.read_bytes() == ours.read_bytes(), (
        f"spec/{SCHEMAS[kind]} differs from apppackage/schemas/{SCHEMAS[kind]}, the source"
    )


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_the_schemas_are_valid_draft_2020_12(kind: str) -> None:
    schema = json.loads((SCHEMA_DIR / SCHEMAS[kind]).read_text("utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert load_schema(kind) == schema
    assert schema["$id"] == f"urn:pyapp:spec:1.1:{kind}"


def spec_examples(repo_root: Path) -> list[Path]:
    return sorted((repo_root / "spec" / "examples").glob("*.yaml"))


def test_the_spec_examples_are_valid(repo_root: Path) -> None:
    for path in spec_examples(repo_root):
        document = load_yaml(path.read_bytes(), path.name)
        if path.name.startswith("configuration"):
            assert check_config_spec(document, path.name) == [], path
            ConfigSpec.from_dict(document, path.name)
        else:
            problems, warnings, _ = check_description(document, path.name)
            assert problems == [] and warnings == [], path
            description = Description.from_dict(document, path.name)
            assert Description.from_dict(description.to_dict()) == description, "the example round-trips"
            if path.name == "metadata.yaml":
                # Every key but asgi, which excludes wsgi (section 3.16): metadata-asgi.yaml shows it.
                keys = set(load_schema("metadata")["properties"]) - {"asgi"}
                assert keys <= set(document), "it shows every key"
            if path.name == "metadata-asgi.yaml":
                assert "asgi" in document


def test_appendix_a_quotes_each_spec_example_as_it_is(repo_root: Path) -> None:
    text = (repo_root / "spec" / "pyapp-1.1.md").read_text("utf-8")
    blocks = text.split("## Appendix A.")[1].split("```yaml\n")[1:]
    quoted = {block.split("```")[0] for block in blocks}
    for path in spec_examples(repo_root):
        assert path.read_text("utf-8") in quoted, (
            f"Appendix A does not quote spec/examples/{path.name} as it is"
        )


def test_the_hello_example_is_valid(repo_root: Path) -> None:
    hello = repo_root / "examples" / "hello"
    document = load_yaml((hello / "metadata.yaml").read_bytes(), "metadata.yaml")
    assert check_description(document) == ([], [], document)
    assert (
        check_config_spec(load_yaml((hello / "configuration.yaml").read_bytes(), "configuration.yaml")) == []
    )
    pkg = AppPackage(hello)
    assert pkg.validate() == []
    assert [f.name for f in pkg.config_spec] == ["greeting"]


BASE = {"pyapp": "1.0", "name": "x", "version": "1"}


@pytest.mark.parametrize(
    ("extra", "path", "message"),
    [
        ({"version": 1.5}, "/version", 'expected a string, got a number; write it in quotes: "1.5"'),
        ({"paths": "src"}, "/paths", "expected a list, got a string"),
        ({"health": {"timeout": 0}}, "/health/timeout", "0 is out of range (exclusiveMinimum 0)"),
        (
            {"services": {"db": {"type": "pg", "variable": "lower"}}},
            "/services/db/variable",
            "'lower' is not an environment variable name (A-Z, 0-9 and '_')",
        ),
        ({"writable": ["a", "a"]}, "/writable", "items must be unique"),
        ({"commands": {"Bad": "a:b"}}, "/commands", "'Bad' is not a lowercase name"),
        ({"static": {"static": "dir"}}, "/static", "'static' does not match the required pattern"),
    ],
)
def test_schema_messages_say_what_to_do(extra: dict[str, Any], path: str, message: str) -> None:
    problems = schema_problems("metadata", {**BASE, **extra}, "metadata.yaml")
    assert [(p.file, p.path) for p in problems] == [("metadata.yaml", path)]
    assert problems[0].message.startswith(message)
