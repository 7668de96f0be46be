"""What the Python packaging standards say of a name, a version specifier and a requirement.

PEP 503 names (:func:`canonical_name`), PEP 440 specifiers (:func:`specifier_problem`) and PEP 508
requirements (:func:`requirement_problem`), as :mod:`packaging` reads them. The usual forms -- a name,
extras, comparisons with release numbers (``pyramid[tls]>=2.0,<3``, ``>=3.10``) -- are accepted by a
strict pattern, every one of which packaging accepts too; anything else (markers, URLs, ``===``,
pre-releases...) is left to packaging, which gives the error. So reading a usual package imports
no part of packaging but :mod:`packaging.version`.
"""

from __future__ import annotations

import re
from typing import NewType

__all__ = ["CanonicalName", "canonical_name", "requirement_problem", "specifier_problem"]

CanonicalName = NewType("CanonicalName", str)
"""A distribution name as PEP 503 normalizes it (what :func:`packaging.utils.canonicalize_name` gives)."""

_SEPARATORS = re.compile(r"[-_.]+")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_RELEASE = r"[0-9]+(?:\.[0-9]+)*"
_COMPARISON = rf"(?:>=|<=|<|>)[ \t]*{_RELEASE}|(?:==|!=)[ \t]*{_RELEASE}(?:\.\*)?|~=[ \t]*[0-9]+(?:\.[0-9]+)+"
_CLAUSE = rf"[ \t]*(?:{_COMPARISON})[ \t]*"
_SPECIFIERS = rf"{_CLAUSE}(?:,{_CLAUSE})*"
_EXTRAS = rf"\[[ \t]*{_NAME}[ \t]*(?:,[ \t]*{_NAME}[ \t]*)*\]"
_USUAL_SPECIFIERS = re.compile(_SPECIFIERS)
_USUAL_REQUIREMENT = re.compile(rf"[ \t]*{_NAME}[ \t]*(?:{_EXTRAS}[ \t]*)?(?:{_SPECIFIERS})?")


def canonical_name(name: str) -> CanonicalName:
    """*name* normalized as PEP 503 says (``Zope.Interface`` -> ``zope-interface``)."""
    return CanonicalName(_SEPARATORS.sub("-", name).lower())


def specifier_problem(text: str) -> str | None:
    """Why *text* is not a PEP 440 version specifier set (``>=3.10``), or ``None`` when it is one."""
    if _USUAL_SPECIFIERS.fullmatch(text):
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(text)
    except InvalidSpecifier as exc:
        return str(exc)
    return None


def requirement_problem(text: str) -> str | None:
    """Why *text* is not a PEP 508 requirement (``pyramid>=2.0``), or ``None`` when it is one."""
    if _USUAL_REQUIREMENT.fullmatch(text):
        return None
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(text)
    except InvalidRequirement as exc:
        return str(exc)
    return None
