"""The service values of section 3.9: the forms of the well-known types, masking, the stored file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyapp_runtime import BadServices
from pyapp_runtime.appconfig.services import (
    check_value,
    load_services,
    mask,
    provisioned_value,
    write_services,
)

from apppackage.description import Service


def service(kind: str) -> Service:
    return Service(name="x", type=kind)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/x", "postgresql://app:****@db:5432/x"),
        ("redis://:s3cret@cache:6379/0", "redis://:****@cache:6379/0"),
        ("smtp://mail.example:25", "smtp://mail.example:25"),
        ("https://api.example/hook?token=s3cret&v=2", "https://api.example/hook?token=****&v=****"),
        ("postgresql://app:s3c@ret@db/x", "postgresql://app:****@db/x"),
        ("postgresql://app:s3/cret@db/x", "****"),  # an unescaped "/" ends the host part early
        ("mysql://app:1?s3cret@db/x", "mysql://****"),  # a numeric "port", then the rest of the password
        ("s3cret-api-key", "****"),
    ],
)
def test_mask_hides_passwords_and_anything_that_is_not_a_url(value: str, shown: str) -> None:
    assert mask(value) == shown
    assert "s3cret" not in mask(value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("postgresql", "postgresql://user:password@host:5432/database"),
        ("mysql", "mysql://user:password@host:3306/database"),
        ("sqlite", "sqlite:///absolute/path/to/file.db"),
        ("mongodb", "mongodb://user:password@host:27017/database"),
        ("redis", "redis://host:6379/0"),
        ("redis", "redis://:password@host:6379/1"),
        ("smtp", "smtp://host:25"),
        ("smtp", "smtps://user:password@host:465"),
        ("http", "http://host:8080/path"),
        ("http", "https://host/path"),
        ("s3-bucket", "anything the app and its hosts agree on"),
    ],
)
def test_the_forms_of_section_3_9_are_accepted(kind: str, value: str) -> None:
    assert check_value(service(kind), value) is None


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("postgresql", "mysql://u:p@h/d", "has the scheme mysql://"),
        ("postgresql", "postgres://u:p@h/d", "has the scheme postgres://"),
        ("postgresql", "postgresql:///d", "names no host"),
        ("postgresql", "postgresql://u:p@h:port/d", "is not a valid URL"),
        ("sqlite", "sqlite://relative.db", "does not name an absolute file path"),
        ("redis", "just a string", "is not a URL"),
        ("http", "ftp://host/file", "has the scheme ftp://"),
        ("s3-bucket", "", "the value is empty"),
        ("s3-bucket", "a\0b", "NUL character"),
    ],
)
def test_a_value_of_the_wrong_form_is_refused_saying_why(kind: str, value: str, reason: str) -> None:
    message = check_value(service(kind), value)
    assert message is not None and reason in message


def test_sqlite_is_provisioned_as_an_absolute_file_in_the_data_path(tmp_path: Path) -> None:
    db = Service(name="cache", type="sqlite")
    value = provisioned_value(db, tmp_path / "data")
    assert value == f"sqlite://{tmp_path}/data/cache.sqlite3"
    assert value is not None and check_value(db, value) is None
    assert provisioned_value(service("postgresql"), tmp_path) is None


def test_the_stored_file_is_private_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "services.yaml"
    assert load_services(path) == {}
    write_services(path, {"db": "postgresql://u:p@h/d"}, app="blog")
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_services(path) == {"db": "postgresql://u:p@h/d"}
    assert path.read_text().startswith("# ") and "pyapp services blog set" in path.read_text()
    path.write_text("db: [1, 2]\n")
    with pytest.raises(BadServices, match=r"services.yaml: must map service names to their values"):
        load_services(path)
