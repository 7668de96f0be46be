"""What the command lines share: ``--json`` and error output in one place, sizes for people."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from pyapp_tools.commandline import PyappGroup, human_size, json_command
from pyapp_tools.ctl.client import CtlError

from apppackage import AppPackageError
from apppackage.errors import InvalidPackage, Problem

SERVER_ERROR = {
    "error": {"status": 404, "code": "no-such-app", "message": "no app named nothing"},
    "errors": [],
}


def failing(error: Exception) -> click.Group:
    """A group with ``fail [--json]``, which raises *error*, and ``plain``, which raises it without --json."""

    @click.group(cls=PyappGroup)
    def group() -> None:
        pass

    @group.command()
    @json_command
    def fail(as_json: bool) -> None:
        raise error

    @group.command()
    def plain() -> None:
        raise error

    return group


@pytest.mark.parametrize("args", [["fail"], ["plain"]])
def test_an_error_is_a_message_on_stderr_and_exit_1(args: list[str]) -> None:
    result = CliRunner().invoke(failing(AppPackageError("the app is busy")), args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: the app is busy\n"


def test_with_json_the_error_is_also_a_json_document_on_stdout() -> None:
    problem = Problem(file="metadata.yaml", path="/version", message="'one' is not a version")
    result = CliRunner().invoke(failing(InvalidPackage([problem])), ["fail", "--json"])
    assert result.exit_code == 1
    message = "1 problem(s) found:\n  metadata.yaml:/version: 'one' is not a version"
    assert json.loads(result.stdout) == {"error": {"type": "InvalidPackage", "message": message}}
    assert result.stderr == f"Error: {message}\n"


def test_a_server_error_is_printed_as_the_server_sent_it() -> None:
    error = CtlError("no app named nothing", status=404, body=SERVER_ERROR)
    result = CliRunner().invoke(failing(error), ["fail", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == SERVER_ERROR
    assert result.stderr == "Error: no app named nothing\n"


def test_a_client_side_error_of_pyapp_ctl_has_the_usual_shape() -> None:
    error = CtlError("cannot reach the pyapp server at http://127.0.0.1:9")
    result = CliRunner().invoke(failing(error), ["fail", "--json"])
    assert json.loads(result.stdout) == {"error": {"type": "CtlError", "message": str(error)}}


def test_other_errors_are_left_to_click() -> None:
    result = CliRunner().invoke(failing(click.UsageError("say which app")), ["fail", "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Error: say which app" in result.stderr


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024**2, "5.0 MiB"), (3 * 1024**4, "3072.0 GiB")],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text
