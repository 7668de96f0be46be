"""Names, specifiers and requirements read as packaging reads them, without importing it for the usual forms.

Each function is compared with :mod:`packaging` on generated texts close to the usual forms (and
to the forms next to them that packaging refuses): the verdict is packaging's every time, and so
is the message of a refusal.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from properties import bounded

from apppackage.pypa import canonical_name, requirement_problem, specifier_problem

BOUNDED = bounded(400)

names = st.text(alphabet="aZ9-_.", min_size=1, max_size=8)
versions = st.sampled_from(
    [
        "2",
        "2.0",
        "10.4.1",
        "01.2",
        "2.*",
        "2.0.*",
        "2.0a1",
        "1!2.0",
        "2.0+local",
        "2.0.post1",
        "",
        "x",
        "2.",
        ".2",
    ]
)
operators = st.sampled_from([">=", "<=", "<", ">", "==", "!=", "~=", "===", "=>", "=", "<>"])
spaces = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def clauses(draw: st.DrawFn) -> str:
    return draw(spaces) + draw(operators) + draw(spaces) + draw(versions) + draw(spaces)


@st.composite
def specifier_sets(draw: st.DrawFn) -> str:
    return ",".join(draw(st.lists(clauses(), min_size=1, max_size=3)))


@st.composite
def requirements(draw: st.DrawFn) -> str:
    text = draw(spaces) + draw(names) + draw(spaces)
    extras = draw(st.lists(names, max_size=3))
    if extras or draw(st.booleans()):
        text += "[" + draw(st.sampled_from([",", ", ", " , "])).join(extras) + "]" + draw(spaces)
    if draw(st.booleans()):
        text += draw(specifier_sets())
    return text + draw(
        st.sampled_from(["", "", "; python_version >= '3'", " @ https://example.org/a.whl", ";"])
    )


def packaging_requirement(text: str) -> str | None:
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        return str(exc)
    return None


def packaging_specifier(text: str) -> str | None:
    try:
        SpecifierSet(text)
    except InvalidSpecifier as exc:
        return str(exc)
    return None


@BOUNDED
@given(requirements())
def test_a_requirement_is_what_packaging_says(text):
    assert requirement_problem(text) == packaging_requirement(text)


@BOUNDED
@given(specifier_sets())
def test_a_specifier_set_is_what_packaging_says(text):
    assert specifier_problem(text) == packaging_specifier(text)


@BOUNDED
@given(st.text(alphabet="aZ9-_.Kİß ", max_size=12))
def test_canonical_names_are_packagings(name):
    assert canonical_name(name) == canonicalize_name(name)


@pytest.mark.parametrize(
    "text",
    [
        "pyramid",
        "pyramid>=2",
        "pyramid >= 2.0 , < 3",
        "pyramid[tls]>=2.0,<3",
        "a==2.*",
        "a~=2.1",
        "A.B-c_d==1",
    ],
)
def test_the_usual_requirements_are_valid(text):
    assert requirement_problem(text) is None


@pytest.mark.parametrize("text", ["pyramid>=2.*", "pyramid~=2", "pyramid=>2", "py ramid", "pyramid[]x", "-a"])
def test_a_wrong_requirement_says_why_as_packaging_does(text):
    reason = requirement_problem(text)
    assert reason is not None and reason == packaging_requirement(text)


def test_reading_a_usual_description_imports_no_requirement_parser(tmp_path):
    """``pyramid>=2.0,<3`` and ``requires: python: ">=3.10"`` are checked without packaging's parsers."""
    (tmp_path / "metadata.yaml").write_text(
        textwrap.dedent(
            """\
            pyapp: "1.1"
            name: usual
            version: "1.0"
            requires: {python: ">=3.10"}
            dependencies: {packages: ["pyramid>=2.0,<3", "waitress", "zope.sqlalchemy[tests] ~= 3.1"]}
            wsgi: {app: "usual:app"}
            """
        )
    )
    script = textwrap.dedent(
        f"""\
        import sys
        from apppackage import AppPackage
        with AppPackage({str(tmp_path)!r}) as package:
            assert package.description.dependencies.is_shared("zope-sqlalchemy")
        print(sorted(m for m in sys.modules if m.startswith("packaging.")))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    loaded = set(eval(out))
    assert not loaded & {
        "packaging.requirements",
        "packaging.specifiers",
        "packaging.markers",
        "packaging.tags",
    }
