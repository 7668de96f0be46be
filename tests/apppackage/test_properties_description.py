"""Properties of the description reader (spec section 3), on generated ``metadata.yaml`` documents.

Whatever a document holds, reading it ends in a description or in
:class:`~apppackage.errors.InvalidDescription` whose problems each name ``metadata.yaml`` and a
JSON pointer into the document; never in another exception. A valid description written back
with ``to_dict`` (and through YAML text) reads back as the same description.

The examples are derandomized and bounded, so that a run is fast and the same every time;
``PYAPP_PROPERTY_EXAMPLES`` asks for more of them (a deeper search, run by hand).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from properties import bounded

from apppackage import AppPackage
from apppackage.description import HOOK_NAMES, Description
from apppackage.errors import InvalidDescription, Problem
from apppackage.globs import glob_problem
from apppackage.safeyaml import dump_yaml, load_yaml

# -- documents of any shape -------------------------------------------------------------

TOP_KEYS = (
    "pyapp", "name", "version", "summary", "license", "homepage", "authors", "requires", "paths",
    "dependencies", "wsgi", "config", "writable", "services", "static", "commands", "processes",
    "hooks", "tasks", "health", "asgi", "data", "updates", "data_version", "x-extra",
)  # fmt: skip


def yaml_values(nan: bool = True) -> st.SearchStrategy[Any]:
    """Any value YAML reads (section 2.4), nested; without NaN when not *nan* (it never equals itself)."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.sampled_from([10**400, -(10**400)])  # past a float's range, as YAML may read one
        | st.floats(allow_nan=nan)
        | st.text(max_size=12)
        | st.sampled_from(["1.0", "2.0", "1.9", "hello", "a.b:c", "/", "..", "{port}", "* * * * *", "src"])
    )
    keys = st.text(max_size=10) | st.sampled_from(TOP_KEYS) | st.integers(-3, 3) | st.booleans() | st.none()
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=25,
    )


yamlish = yaml_values()
keys = st.text(max_size=10) | st.sampled_from(TOP_KEYS) | st.integers(-3, 3) | st.booleans() | st.none()
documents = st.dictionaries(st.sampled_from(TOP_KEYS) | keys, yamlish, max_size=8) | yamlish


# -- valid descriptions ---------------------------------------------------------------------

identifier = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
cmdname = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,8}", fullmatch=True)
reference = st.from_regex(
    r"[A-Za-z_][A-Za-z0-9_]{0,5}(\.[A-Za-z_][A-Za-z0-9_]{0,5}){0,2}:[A-Za-z_][A-Za-z0-9_]{0,5}",
    fullmatch=True,
)
relpath = st.from_regex(r"[a-z0-9_-]{1,6}(/[a-z0-9_.-]{1,6}){0,2}", fullmatch=True).filter(
    lambda p: ".." not in p.split("/")
)
text = st.text(max_size=30)
seconds = st.integers(1, 86400) | st.floats(min_value=0.001, max_value=86400)
versions = st.sampled_from(["1.0", "2.1.0", "0.1.dev3", "1!2.0", "1.0rc1", "2024.5", "3.0.0.post1"])
pythons = st.sampled_from(["", ">=3.10", ">=3.8,<4", "~=3.11", "==3.12.*"])
requirements = st.sampled_from(["pyramid>=2.0,<3", "requests", "attrs[tests]==23.1", "a-b_c.d~=1.2"])
crons = st.sampled_from(["0 3 * * mon-fri", "*/5 * * * *", "0 0 1 jan *", "15,45 8-18 * * 1-5"])
distnames = st.lists(st.sampled_from(["*", "pyramid", "WebOb", "zope.interface", "a_b"]), max_size=3)
globs = st.from_regex(r"(\*\*|[a-z*?_]{1,5})(/(\*\*|[a-z.*?_-]{1,5})){0,2}", fullmatch=True).filter(
    lambda p: glob_problem(p) is None
)
starts = st.sampled_from(["beside", "after-stop"])
update_policies = (
    st.fixed_dictionaries({}, optional={"strategy": st.just("always-latest"), "start": starts})
    | st.fixed_dictionaries(
        {"strategy": st.just("one-branch")},
        optional={"branch": st.sampled_from(["main", "release/2.x", "stable"]), "start": starts},
    )
    | st.fixed_dictionaries(
        {"strategy": st.just("latest-tag")},
        optional={"tag_pattern": st.sampled_from(["v*", "release-?.*"]), "prereleases": st.booleans()},
    )
)


def optional(**parts: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=parts)


services = st.dictionaries(
    identifier,
    st.fixed_dictionaries(
        {"type": st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)},
        optional={"required": st.booleans(), "summary": text},
    ),
    max_size=3,
).flatmap(
    # An explicit variable of its own for some of them: SVC_<NAME> is reserved for nothing.
    lambda found: st.fixed_dictionaries(
        {
            name: st.just(service) | st.just({**service, "variable": f"SVC_{name.upper()}"})
            for name, service in found.items()
        }
    )
)
commands = st.dictionaries(
    cmdname, reference | st.fixed_dictionaries({"call": reference}, optional={"help": text}), max_size=3
)


@st.composite
def processes(draw: st.DrawFn, command_names: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in draw(st.lists(cmdname, max_size=3, unique=True)):
        port = draw(st.booleans())
        process: dict[str, Any] = (
            {"command": draw(st.sampled_from(command_names))}
            if command_names and draw(st.booleans())
            else {"call": draw(reference)}
        )
        args = draw(st.lists(text.filter(lambda a: "{port}" not in a), max_size=3))
        if port and draw(st.booleans()):
            args.append("--port={port}")
        process |= draw(optional(args=st.just(args), count=st.integers(1, 64)))
        if port or draw(st.booleans()):
            process["port"] = port
        found[name] = process
    return found


@st.composite
def descriptions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid ``metadata.yaml`` document: the required keys and any of the optional ones."""
    doc: dict[str, Any] = {
        "pyapp": draw(st.sampled_from(["1.0", "1.1", "1.7"])),
        "name": draw(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True)),
        "version": draw(versions),
    }
    doc |= draw(
        optional(
            summary=st.text(max_size=60),
            license=st.text(max_size=20),
            homepage=st.text(max_size=40),
            authors=st.lists(st.text(min_size=1, max_size=20), max_size=3),
            requires=optional(
                python=pythons,
                os=st.lists(st.text(min_size=1, max_size=8), max_size=2),
                deb=st.lists(st.text(min_size=1, max_size=8), max_size=2),
            ),
            paths=st.lists(relpath, max_size=3),
            dependencies=optional(
                packages=st.lists(requirements, max_size=3),
                requirements=relpath,
                shared=distnames,
                local=distnames,
            ),
            wsgi=st.fixed_dictionaries({"app": reference}, optional={"factory": st.booleans()}),
            config=relpath,
            writable=st.lists(identifier, max_size=3, unique=True),
            services=services,
            static=st.dictionaries(
                st.from_regex(r"/([a-z0-9_~-]{1,6}/?){0,2}", fullmatch=True), relpath, max_size=2
            ),
            commands=commands,
            hooks=st.dictionaries(
                st.sampled_from(HOOK_NAMES),
                reference | st.fixed_dictionaries({"call": reference}, optional={"timeout": seconds}),
                max_size=3,
            ),
            tasks=st.dictionaries(
                cmdname,
                st.fixed_dictionaries(
                    {"call": reference, "every": st.integers(1, 10**6)}, optional={"timeout": seconds}
                )
                | st.fixed_dictionaries({"call": reference, "cron": crons}, optional={"timeout": seconds}),
                max_size=2,
            ),
            health=optional(
                path=st.from_regex(r"/[a-z/]{0,10}", fullmatch=True), timeout=seconds, start=seconds
            ),
        )
    )
    if doc["pyapp"] != "1.0":  # the keys version 1.1 added (section 8.1)
        doc |= draw(
            optional(
                data=st.lists(globs, max_size=3), updates=update_policies, data_version=st.integers(0, 10**6)
            )
        )
        if "wsgi" not in doc and draw(st.booleans()):
            doc["asgi"] = draw(st.fixed_dictionaries({"app": reference}, optional={"factory": st.booleans()}))
    doc["processes"] = draw(processes(sorted(doc.get("commands", {}))))
    if draw(st.booleans()):
        doc["x-extra"] = draw(yaml_values(nan=False))
    return doc


# -- what every outcome must be -------------------------------------------------------------


def located(problem: Problem, document: Any) -> bool:
    """Whether *problem* names metadata.yaml and a pointer whose parent exists in *document*."""
    if problem.file != "metadata.yaml" or not problem.message:
        return False
    if problem.path == "":
        return True
    if not problem.path.startswith("/"):
        return False
    parts = [part.replace("~1", "/").replace("~0", "~") for part in problem.path.split("/")[1:-1]]
    return _has_parent(document, parts)


def _has_parent(node: Any, parts: list[str]) -> bool:
    """Whether the path *parts* leads somewhere in *node*; a pointer names a key by its text, so every key
    with that text is tried (``True`` and ``"True"`` are both ``/True``)."""
    if not parts:
        return True
    part, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        return any(_has_parent(node[k], rest) for k in node if str(k) == part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return _has_parent(node[int(part)], rest)
    return False


def read(document: Any) -> Description | None:
    """The description of *document*, or ``None`` when it is refused with located problems."""
    try:
        description = Description.from_dict(document)
    except InvalidDescription as exc:
        assert exc.problems, "refused without a problem"
        bad = [str(p) for p in exc.problems if not located(p, document)]
        assert bad == [], f"problems that do not say where: {bad}"
        return None
    return description


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pyapp-props-") as name:
        yield Path(name)


def package_dir(workdir: Path, metadata: bytes, tag: str) -> Path:
    """A fresh package directory holding only *metadata* as its ``metadata.yaml``."""
    root = Path(tempfile.mkdtemp(dir=workdir, prefix=tag))
    (root / "metadata.yaml").write_bytes(metadata)
    return root


# -- the properties ---------------------------------------------------------------------------


@bounded(300)
@given(documents)
def test_any_document_is_read_or_refused_with_located_problems(document: Any) -> None:
    read(document)


@bounded(60)
@given(document=documents)
def test_a_package_validates_any_metadata_yaml_without_crashing(workdir: Path, document: Any) -> None:
    root = package_dir(workdir, yaml.safe_dump(document).encode(), "any-")
    with AppPackage(root) as package:
        problems = package.validate()
        assert all(p.file and (p.path == "" or p.path.startswith("/")) for p in problems), problems
        if problems:
            with pytest.raises(InvalidDescription):
                _ = package.description


@bounded(60)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_metadata_yaml_that_is_not_a_document_is_a_problem(workdir: Path, data: bytes) -> None:
    root = package_dir(workdir, data, "raw-")
    with AppPackage(root) as package:
        problems = package.validate()
    assert all(p.file == "metadata.yaml" for p in problems), problems


@bounded(150)
@given(descriptions())
def test_a_valid_description_round_trips_through_to_dict(document: dict[str, Any]) -> None:
    description = Description.from_dict(document)
    stored = description.to_dict()
    assert Description.from_dict(stored) == description
    # Written as YAML and read back by the rules of section 2.4, it is still the same description.
    assert Description.from_dict(load_yaml(dump_yaml(stored), "metadata.yaml")) == description


def pointers(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value in *node*, *node* itself first."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from pointers(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from pointers(value, (*path, i))


def changed(document: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    """A copy of *document* with the value at *path* deleted, replaced by *value*, or given a key."""
    import copy

    document = copy.deepcopy(document)
    if not path:
        return value if how == "replace" else document
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "replace":
        parent[last] = value
    elif isinstance(parent[last], dict):
        parent[last]["surplus"] = value
    return document


@bounded(300)
@given(descriptions(), st.data())
def test_a_near_valid_description_is_read_or_refused_with_located_problems(
    document: dict[str, Any], data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(list(pointers(document))), label="path")
    how = data.draw(st.sampled_from(["delete", "replace", "add a key"]), label="how")
    value = data.draw(yamlish, label="value")
    description = read(changed(document, path, how, value))
    if description is not None:
        # Compared as text: a NaN in an extension's value is never equal to itself.
        assert repr(Description.from_dict(description.to_dict())) == repr(description)
