"""The first pass of schema validation, :func:`apppackage._conforms.conforms`, against jsonschema.

``conforms`` must never accept a document jsonschema rejects; on the documents here it gives
jsonschema's verdict, yes or no. Generated documents are close to the two schemas: built from
their own structure, valid, or mutated (a value of another type, an extra key, ``1.0`` for an
integer, a bool for a number, a duplicate in a unique list, a string that almost matches a
pattern, both or neither branch of a ``oneOf``).

The examples are derandomized and bounded, so that a run is fast and the same every time;
``PYAPP_PROPERTY_EXAMPLES`` asks for more of them (a deeper search, run by hand).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from properties import bounded

from apppackage import schema as schema_module
from apppackage._conforms import conforms
from apppackage.safeyaml import load_yaml
from apppackage.schema import load_schema, schema_problems

KINDS = ("metadata", "configuration")


@cache
def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(kind))


def jsonschema_says(schema: Any, document: Any) -> bool:
    """jsonschema's verdict; an error in it (a pattern on a key that is no string) is a no."""
    try:
        return bool(Draft202012Validator(schema).is_valid(document))
    except Exception:
        return False


def same_verdict(kind: str, document: Any) -> None:
    expected = validator(kind).is_valid(document)
    assert conforms(load_schema(kind), document) == expected, (kind, document)


# -- documents close to a schema ----------------------------------------------------------------

# Strings that match each pattern of the schemas, and strings that almost do.
STRINGS = [
    "", " ", "a", "A", "é", "1", "1.", "1.0", "1.1", "2.0", "10.25", "v1.1", "1.1 ",
    "demo", "Demo", "my-app", "my_app", "my.app", "-app", "app!", "a" * 64, "a" * 65, "x" * 513,
    "a.b:c", "demo.web:application", "demo.web:make_app", "demo.web", "a:b:c", ":b", "a:", "1a:b", "a.b.:c",
    "src", "src/pkg", "deps/requirements.txt", "/abs", "C:/x", "a\\b", "../x", "a/../b", "a/..", "./a",
    "templates", "**/*.mo", "a//b", "a/", ".", "a/./b",
    "*", "requests", "zope.interface", "pkg-", "-pkg", "a b",
    "db", "cache_dir", "uploads", "Uploads", "9lives", "a-b",
    "migrate", "exit-code", "Bad", "echo",
    "DATABASE_URL", "CACHE_URL", "lower", "9X",
    "0 3 * * 1", "* * * * *", "* * * *", "* * * * * *", "0  3 * * 1",
    "/", "/static", "/health", "static", "/a/b/", "/a b", "//",
    "postgresql", "redis", "Redis", "https", "git+ssh", "1http",
    "app.main", "sect ion", "x-", "x-demo", "X-demo", "xdemo", "pyapp", "name", "fields",
    "yaml", "ini", "Yaml", "choice", "multichoice", "string", "secret", "text", "list", "true", "null",
]  # fmt: skip
NUMBERS = [
    0, 1, -1, 7, 8, 30, 60, 64, 65, 1024, 1025, 86400, 86401, 10**400, -(10**400),
    0.0, 1.0, -1.0, 0.5, 8.0, 60.0, 1e-9, 86400.0, 86400.5, float("inf"), float("-inf"), float("nan"),
]  # fmt: skip
SCALARS: list[Any] = [None, True, False, *NUMBERS, *STRINGS]

scalars = st.sampled_from(SCALARS) | st.text(max_size=4) | st.integers(-3, 100) | st.floats(-10, 10)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(STRINGS), inner, max_size=3),
    max_leaves=6,
)


def resolved(schema: Any, root: dict[str, Any]) -> Any:
    """*schema* with its ``$ref`` (``#/$defs/name``) merged in: the shape to build, not the rules."""
    while isinstance(schema, dict) and "$ref" in schema:
        target = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def pool(schema: Any, root: dict[str, Any]) -> list[Any]:
    """The scalars jsonschema accepts for the subschema *schema* of *root*."""
    check = Draft202012Validator(
        schema if isinstance(schema, bool) else {**schema, "$defs": root["$defs"]}
    ).is_valid
    return [value for value in SCALARS if check(value)]


def near(schema: Any, root: dict[str, Any], mutate: bool) -> st.SearchStrategy[Any]:
    """Values of the shape *schema* says; when *mutate*, now and then another value."""
    shaped = build(schema, root, mutate)
    if not mutate:
        return shaped
    return st.one_of(shaped, shaped, shaped, shaped, anything)


def build(schema: Any, root: dict[str, Any], mutate: bool) -> st.SearchStrategy[Any]:
    schema = resolved(schema, root)
    if isinstance(schema, bool):
        return anything
    if "oneOf" in schema and "properties" not in schema:
        return st.one_of([near(branch, root, mutate) for branch in schema["oneOf"]])
    if schema.get("type") == "object":
        return objects(schema, root, mutate)
    if schema.get("type") == "array":
        items = near(schema.get("items", True), root, mutate)
        lists = st.lists(items, min_size=schema.get("minItems", 0), max_size=3)
        if schema.get("uniqueItems") and not mutate:
            return st.lists(items, min_size=schema.get("minItems", 0), max_size=3, unique_by=json.dumps)
        # A list with its first item again: a duplicate, 1 and 1.0, True and 1.
        return lists | lists.filter(bool).map(lambda found: [*found, found[0]])
    good = pool(schema, root)
    if mutate or not good:
        return st.sampled_from(good or SCALARS) | st.sampled_from(SCALARS)
    return st.sampled_from(good)


def objects(schema: dict[str, Any], root: dict[str, Any], mutate: bool) -> st.SearchStrategy[Any]:
    properties = {name: near(sub, root, mutate) for name, sub in schema.get("properties", {}).items()}
    required = {name: properties.get(name, anything) for name in schema.get("required", [])}
    optional = {name: value for name, value in properties.items() if name not in required}
    shaped = st.fixed_dictionaries(required, optional=optional)
    if mutate:  # required keys left out too
        shaped |= st.fixed_dictionaries({}, optional={**required, **optional})
    extra = schema.get("additionalProperties", True)
    names = st.sampled_from(STRINGS)
    if isinstance(extra, dict) or extra is True:
        if not mutate and "propertyNames" in schema:
            names = st.sampled_from([n for n in pool(schema["propertyNames"], root) if isinstance(n, str)])
        values = near(extra, root, mutate) if isinstance(extra, dict) else anything
        more = st.dictionaries(names, values, max_size=3)
    elif mutate:
        more = st.dictionaries(names | st.sampled_from(["x-a", "x-"]), anything, max_size=2)
    elif "patternProperties" in schema:
        more = st.dictionaries(st.sampled_from(["x-a", "x-demo"]), anything, max_size=2)
    else:
        more = st.just({})
    return st.builds(lambda fixed, added: {**added, **fixed}, shaped, more)


ROOT = Path(__file__).resolve().parents[2]


@cache
def examples(kind: str) -> list[Any]:
    """The example documents of *kind*: the spec's and the example applications'."""
    paths = [*(ROOT / "spec" / "examples").glob(f"{kind}*.yaml"), *(ROOT / "examples").glob(f"*/{kind}.yaml")]
    return [load_yaml(path.read_bytes(), path.name) for path in sorted(paths)]


def places(node: Any) -> Iterator[tuple[Any, Any]]:
    """(container, key or index) of every value in *node*."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield node, key
            yield from places(value)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield node, i
            yield from places(value)


def nearby(value: Any) -> list[Any]:
    """Values a slip of the pen away from *value*."""
    if isinstance(value, bool):
        return [int(value), float(value), str(value).lower(), not value]
    if isinstance(value, int | float):
        finite = value == value and abs(value) < 1e300
        twins = [float(value), int(value)] if finite else []
        return [*twins, value + 1, value - 1, -value, str(value), value == 1]
    if isinstance(value, str):
        return [value + "x", value[:-1], value.upper(), " " + value, value + "/", value * 9, ""]
    if isinstance(value, list):
        return [[*value, *value[:1]], value[:-1], value[:1], {}]
    if isinstance(value, dict):
        return [{}, list(value), {**value, "x-a": 1}]
    return [None]


@st.composite
def mutated_examples(draw: st.DrawFn, kind: str) -> Any:
    """An example document with one to three slips: a value changed, a key left out or added."""
    document = copy.deepcopy(draw(st.sampled_from(examples(kind))))
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(list(places(document))))
        action = draw(st.sampled_from(["nearby", "nearby", "any", "delete", "add"]))
        if action == "nearby":
            container[key] = draw(st.sampled_from(nearby(container[key])))
        elif action == "any":
            container[key] = draw(scalars)
        elif action == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[draw(st.sampled_from(STRINGS))] = draw(anything)
        else:
            container.append(draw(anything))
    return document


def documents(kind: str) -> st.SearchStrategy[Any]:
    root = load_schema(kind)
    return build(root, root, False) | build(root, root, True) | mutated_examples(kind) | anything


@pytest.mark.parametrize("kind", KINDS)
def test_conforms_says_what_jsonschema_says_on_documents_close_to_the_schema(kind: str) -> None:
    seen = {True: 0, False: 0}

    @bounded(400)
    @given(documents(kind))
    def check(document: Any) -> None:
        same_verdict(kind, document)
        seen[validator(kind).is_valid(document)] += 1

    check()
    # Both verdicts are tried often, not only the invalid documents mutation makes.
    assert min(seen.values()) > 40, seen


@bounded(300)
@given(st.data())
def test_conforms_says_what_jsonschema_says_on_each_subschema(data: st.DataObject) -> None:
    """Each subschema of the two, as a schema of its own (the ``$defs`` beside it), on values near it."""
    kind = data.draw(st.sampled_from(KINDS))
    root = load_schema(kind)
    schema = data.draw(st.sampled_from(subschemas(kind)))
    value = data.draw(near(schema, root, data.draw(st.booleans())))
    standalone = {"allOf": [schema]} if isinstance(schema, bool) else schema
    standalone = {**standalone, "$defs": root["$defs"]}
    assert conforms(standalone, value) == jsonschema_says(standalone, value), (schema, value)


@cache
def subschemas(kind: str) -> list[Any]:
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("properties", "patternProperties", "$defs"):
                    for sub in value.values():
                        found.append(sub)
                        walk(sub)
                elif key in ("oneOf", "allOf"):
                    for sub in value:
                        found.append(sub)
                        walk(sub)
                elif key in ("items", "additionalProperties", "propertyNames", "if", "then"):
                    found.append(value)
                    walk(value)

    walk(load_schema(kind))
    return found


# The cases the keywords turn on, each against jsonschema.
EDGE_CASES: list[tuple[Any, Any]] = [
    ({"type": "integer"}, 1.0),
    ({"type": "integer"}, 1.5),
    ({"type": "integer"}, True),
    ({"type": "integer"}, float("inf")),
    ({"type": "number"}, False),
    ({"type": "number"}, 10**400),
    ({"type": ["string", "null"]}, None),
    ({"enum": [1]}, True),
    ({"enum": [1]}, 1.0),
    ({"enum": [True]}, 1),
    ({"enum": [[1, True]]}, [1.0, True]),
    ({"enum": [{"a": 1}]}, {"a": True}),
    ({"uniqueItems": True}, [1, True]),
    ({"uniqueItems": True}, [1, 1.0]),
    ({"uniqueItems": True}, [[1], [True], [1]]),
    ({"uniqueItems": True}, [{"a": 1}, {"a": 1}]),
    ({"uniqueItems": True}, [False, 0, False]),
    ({"minimum": 0}, float("nan")),
    ({"exclusiveMinimum": 0}, 0),
    ({"exclusiveMinimum": 0}, 0.0),
    ({"exclusiveMinimum": 0}, 1e-300),
    ({"maximum": 1}, True),
    ({"minLength": 2}, "é"),
    ({"maxLength": 1}, "é"),
    ({"maxLength": 1}, ["a", "b"]),
    ({"minItems": 1}, "a"),
    ({"pattern": "^a"}, 3),
    ({"pattern": "b"}, "abc"),
    ({"items": False}, []),
    ({"items": False}, [1]),
    ({"required": ["a"]}, ["a"]),
    ({"propertyNames": {"maxLength": 1}}, {"ab": 1}),
    ({"additionalProperties": False, "patternProperties": {"^x-": True, "^y": True}}, {"yes": 1}),
    ({"additionalProperties": {"type": "string"}, "properties": {"a": True}}, {"a": 1, "b": "s"}),
    ({"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "integer"}}, "a"),
    ({"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "integer"}}, 1.0),
    ({"then": False}, 1),
    ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 1),
    ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 1.5),
    ({"oneOf": []}, 1),
    ({"allOf": [{"type": "number"}, {"minimum": 2}]}, 1),
    ({"$defs": {"a": {"type": "string"}}, "$ref": "#/$defs/a", "minLength": 2}, "x"),
    ({"$defs": {"a/b": {"type": "string"}}, "$ref": "#/$defs/a~1b"}, 1),
    ({"properties": {"a": {"$ref": "#"}}, "type": "object"}, {"a": {"a": 1}}),
    (True, 1),
    (False, 1),
]


@pytest.mark.parametrize(("schema", "instance"), EDGE_CASES)
def test_conforms_says_what_jsonschema_says_on_the_edge_cases(schema: Any, instance: Any) -> None:
    if isinstance(schema, bool):
        assert conforms({"allOf": [schema]}, instance) == jsonschema_says(schema, instance)
    else:
        assert conforms(schema, instance) == jsonschema_says(schema, instance)


# -- what it cannot decide is a no ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"type": "string", "format": "email"}, "a@b.c"),
        ({"properties": {"a": {"const": 1}}}, {"a": 1}),
        ({"prefixItems": [True], "items": False}, [1]),
        ({"anyOf": [True]}, 1),
        # Under oneOf a subschema it cannot read must not count as failing: jsonschema says no
        # (both branches hold), a "no" for the second branch alone would say yes.
        ({"oneOf": [{"type": "string"}, {"type": "string", "x-unknown": 1}]}, "a"),
        ({"if": {"unknown": 1}, "then": False}, 1),
        ({"$ref": "other.json#/a"}, 1),
        ({"$ref": "#anchor"}, 1),
        ({"$defs": {"a": {"$id": "urn:x", "type": "string"}}, "$ref": "#/$defs/a"}, "s"),
        ({"properties": {"a": {"$id": "urn:x"}}}, {"a": 1}),
        ({"type": "strin"}, "a"),
        ({"pattern": "("}, "a"),
        ({"$ref": "#"}, 1),  # a $ref to itself: no end
        ({"type": "number"}, complex(1, 0)),
        ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "string"}, "a"),
    ],
)
def test_what_it_cannot_decide_is_a_no(schema: dict[str, Any], instance: Any) -> None:
    assert conforms(schema, instance) is False


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_keyword_added_to_a_schema_makes_every_document_a_no(kind: str, repo_root: Path) -> None:
    root = copy.deepcopy(load_schema(kind))
    document = load_yaml((repo_root / "spec" / "examples" / f"{kind}.yaml").read_bytes(), kind)
    assert conforms(root, document)
    if kind == "metadata":
        root["properties"]["name"]["format"] = "hostname"
    else:
        root["$defs"]["field"]["properties"]["label"]["x-translate"] = True
    assert conforms(root, document) is False


# -- the documents of the repository ------------------------------------------------------------


def repository_documents(repo_root: Path) -> Iterator[tuple[str, str, Any]]:
    """(where, kind, document) for every example and fixture document of the repository."""
    yaml_files = [
        *sorted((repo_root / "spec" / "examples").glob("*.yaml")),
        *sorted((repo_root / "examples").glob("*/metadata.yaml")),
        *sorted((repo_root / "examples").glob("*/configuration.yaml")),
        *sorted((repo_root / "conformance-tests").rglob("metadata.yaml")),
        *sorted((repo_root / "conformance-tests").rglob("configuration.yaml")),
    ]
    for path in yaml_files:
        kind = "configuration" if path.name.startswith("configuration") else "metadata"
        try:
            document = load_yaml(path.read_bytes(), path.name)
        except Exception:
            continue
        yield str(path.relative_to(repo_root)), kind, document
    for path in sorted((repo_root / "tests" / "apppackage" / "data").glob("*.json")):
        for i, entry in enumerate(json.loads(path.read_text("utf-8"))):
            if isinstance(entry, dict) and isinstance(entry.get("to_dict"), dict):
                yield f"{path.name}[{i}]", "metadata", entry["to_dict"]
    for path in sorted((repo_root / "conformance-tests" / "1.0").rglob("*.json")):
        yield from case_documents(path.relative_to(repo_root).as_posix(), json.loads(path.read_text("utf-8")))


def case_documents(where: str, node: Any) -> Iterator[tuple[str, str, Any]]:
    """The documents of conformance cases: ``request.document``/``text`` and the files of packages."""
    if isinstance(node, list):
        for i, each in enumerate(node):
            yield from case_documents(f"{where}[{i}]", each)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("tests"), list) and node.get("area") in ("description", "configuration"):
        kind = "metadata" if node["area"] == "description" else "configuration"
        for i, test in enumerate(node["tests"]):
            request = test.get("request", {})
            if "document" in request:
                yield f"{where}.tests[{i}]", kind, request["document"]
            if isinstance(request.get("text"), str):
                try:
                    document = load_yaml(request["text"].encode(), "text")
                except Exception:
                    continue
                yield f"{where}.tests[{i}].text", kind, document
    for key, value in node.items():
        if key == "files" and isinstance(value, dict):
            for name, kind in (("metadata.yaml", "metadata"), ("configuration.yaml", "configuration")):
                document = value.get(name)
                if isinstance(document, str):
                    try:
                        document = load_yaml(document.encode(), name)
                    except Exception:
                        continue
                if document is not None:
                    yield f"{where}.{name}", kind, document
        yield from case_documents(f"{where}.{key}", value)


def test_conforms_says_what_jsonschema_says_on_every_document_of_the_repository(repo_root: Path) -> None:
    found = list(repository_documents(repo_root))
    verdicts = {True: 0, False: 0}
    for where, kind, document in found:
        expected = jsonschema_says(load_schema(kind), document)
        assert conforms(load_schema(kind), document) == expected, where
        verdicts[expected] += 1
    # The examples, the fixture, the conformance documents valid and not: some of each.
    assert verdicts[True] > 100 and verdicts[False] > 50, verdicts


# -- reading a package --------------------------------------------------------------------------

READ = """
import json, sys
from apppackage import AppPackage, InvalidPackage
try:
    package = AppPackage(sys.argv[1])
    package.description, package.config_spec
    problems = []
except InvalidPackage as error:
    problems = [[p.file, p.path, p.message] for p in error.problems]
print(json.dumps({"problems": problems, "jsonschema": "jsonschema" in sys.modules}))
"""


def read_in_a_process(package: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", READ, str(package)], capture_output=True, text=True, check=True
    )
    seen: dict[str, Any] = json.loads(out.stdout)
    return seen


def test_a_valid_package_is_read_without_importing_jsonschema(demo_dir: Path) -> None:
    assert read_in_a_process(demo_dir) == {"problems": [], "jsonschema": False}


def old_schema_problems(kind: str, document: Any, file: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The problems as before the first pass: jsonschema on every document."""
    with monkeypatch.context() as patch:
        patch.setattr(schema_module, "conforms", lambda schema, instance: False)
        return schema_problems(kind, document, file)


def test_an_invalid_package_still_gets_every_detailed_problem(
    tmp_path: Path,
    package_factory: Callable[..., Path],
    demo_metadata: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo_metadata["name"] = "Demo App"
    demo_metadata["writable"] = ["uploads", "uploads"]
    demo_metadata["hooks"]["install"] = {"call": "demo.hooks:behave", "timeout": 0}
    demo_metadata["tasks"]["job"]["cron"] = "* * * * *"
    demo_metadata["colour"] = "blue"
    seen = read_in_a_process(package_factory(tmp_path / "bad", demo_metadata))
    assert seen["jsonschema"] is True
    assert [(file, path) for file, path, _ in seen["problems"]] == [
        ("metadata.yaml", "/colour"),
        ("metadata.yaml", "/hooks/install/timeout"),
        ("metadata.yaml", "/name"),
        ("metadata.yaml", "/tasks/job"),
        ("metadata.yaml", "/writable"),
    ]
    before = old_schema_problems("metadata", demo_metadata, "metadata.yaml", monkeypatch)
    assert [[p.file, p.path, p.message] for p in before] == seen["problems"]


@pytest.mark.parametrize("kind", KINDS)
def test_schema_problems_are_those_of_before_on_every_document_of_the_repository(
    kind: str, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for where, of_kind, document in repository_documents(repo_root):
        if of_kind == kind and isinstance(document, dict):
            before = old_schema_problems(kind, document, "f.yaml", monkeypatch)
            assert schema_problems(kind, document, "f.yaml") == before, where
