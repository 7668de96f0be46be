"""host.yaml: how a host runs its apps' daemons, every problem reported with where it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyapp_runtime.settings import BadSettings, HostSettings


def test_a_host_without_settings_runs_one_threaded_daemon_per_app_on_a_unix_socket() -> None:
    settings = HostSettings.from_dict({})
    app = settings.for_app("hello")
    assert (settings.daemons, app.listen, app.method, app.threads, app.copies) == (
        True,
        "unix",
        "threads",
        4,
        1,
    )


def test_host_yaml_sets_defaults_and_per_app_overrides(tmp_path: Path) -> None:
    (tmp_path / "host.yaml").write_text(
        "ports: 9000-9010\nthreads: 8\nstop_wait: 5\n"
        "apps:\n  blog: {listen: port, method: processes, processes: 3}\n"
    )
    settings = HostSettings.load(tmp_path).with_environment({})
    assert settings.ports == (9000, 9010)
    assert (settings.for_app("hello").threads, settings.for_app("hello").stop_wait) == (8, 5)
    blog = settings.for_app("blog")
    assert (blog.listen, blog.copies, blog.threads) == ("port", 3, 8)


def test_every_problem_of_host_yaml_is_reported_with_where_it_is(tmp_path: Path) -> None:
    (tmp_path / "host.yaml").write_text(
        "ports: 9010-9000\nlisten: pipe\ncolour: red\nmethod: processes\napps:\n  blog: {threads: 0}\n"
    )
    with pytest.raises(BadSettings) as caught:
        HostSettings.load(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "host.yaml") in message
    for where in ("/ports:", "/listen:", "/colour: unknown setting", "/apps/blog/threads:"):
        assert where in message


def test_processes_need_a_port() -> None:
    with pytest.raises(BadSettings, match="processes needs listen: port"):
        HostSettings.from_dict({"method": "processes"})


def test_the_environment_turns_daemons_off_and_on(tmp_path: Path) -> None:
    (tmp_path / "host.yaml").write_text("daemons: false\n")
    settings = HostSettings.load(tmp_path)
    assert settings.with_environment({}).daemons is False
    assert settings.with_environment({"PYAPP_DAEMONS": "1"}).daemons is True
    assert HostSettings().with_environment({"PYAPP_DAEMONS": "off"}).daemons is False


def test_an_unquoted_socket_mode_is_refused_not_misread(tmp_path: Path) -> None:
    """YAML reads ``socket_perms: 0660`` as the number 432 (octal): taken as the mode "432", its owner
    could only read the socket and every other user write to it. It is refused, saying to quote it."""
    (tmp_path / "host.yaml").write_text("socket_perms: 0660\n")
    with pytest.raises(
        BadSettings, match=r'/socket_perms: 432 is a number; write the mode quoted, such as "660"'
    ):
        HostSettings.load(tmp_path)
    (tmp_path / "host.yaml").write_text('socket_perms: "0660"\n')
    assert HostSettings.load(tmp_path).socket_perms == "0660"
