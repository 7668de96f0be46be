"""``pyapp_runtime.settingsfile``: host.yaml as an operator reads and changes it (``pyapp settings``, the
management server): every setting with its value, default and source; a partial change checked as a
whole, written, and nothing written when a value is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyapp_runtime import HostSettings
from pyapp_runtime.settings import SETTING_KEYS, BadSettings
from pyapp_runtime.settingsfile import change_settings, describe_settings, merge_patch, settings_patch

NO_VARIABLES: dict[str, str] = {}


def by_key(home: Path, environ: dict[str, str] = NO_VARIABLES) -> dict[str, dict]:
    return {s.key: s.to_dict() for s in describe_settings(home, environ=environ)}


def test_every_setting_is_told_with_its_default_source_and_meaning(tmp_path: Path) -> None:
    told = by_key(tmp_path)
    assert set(told) == set(SETTING_KEYS)
    assert told["threads"] == {
        "key": "threads", "value": 4, "default": 4, "source": "default", "file_value": None,
        "type": "integer", "choices": [], "description": "Waitress threads per WSGI daemon process.",
    }  # fmt: skip
    assert told["web_server"]["choices"] == ["auto", "none", "nginx", "apache", "lighttpd"]
    assert all(s["description"] for s in told.values())

    (tmp_path / "host.yaml").write_text("web_server: nginx\nthreads: 2\nlimits: {memory: 1G}\n")
    told = by_key(tmp_path, {"PYAPP_WEB_SERVER": "apache", "PYAPP_DAEMONS": "0"})
    assert (told["threads"]["value"], told["threads"]["source"]) == (2, "host.yaml")
    assert told["limits"]["value"]["memory"] == 1 << 30 and told["limits"]["file_value"] == {"memory": "1G"}
    # A variable overrides the file: the host runs by the variable, and the file's value is still shown.
    web = told["web_server"]
    assert (web["value"], web["source"], web["file_value"]) == ("apache", "$PYAPP_WEB_SERVER", "nginx")
    assert (told["daemons"]["value"], told["daemons"]["source"]) == (False, "$PYAPP_DAEMONS")


def test_a_partial_change_merges_into_the_file_and_null_sets_a_key_back_to_its_default(
    tmp_path: Path,
) -> None:
    (tmp_path / "host.yaml").write_text("threads: 2\nlimits:\n  nofile: 4096\n")
    done = change_settings(
        tmp_path, {"stop_wait": 10, "limits": {"memory": "512M"}, "apps": {"blog": {"threads": 8}}},
        environ=NO_VARIABLES,
    )  # fmt: skip
    assert done.changed == ("stop_wait", "limits", "apps")
    assert done.web_server is None and done.reload == ()
    settings = HostSettings.load(tmp_path)
    assert (settings.defaults.threads, settings.defaults.stop_wait) == (2, 10)
    assert (settings.limits.nofile, settings.limits.memory) == (4096, 512 << 20)
    assert settings.for_app("blog").threads == 8

    again = change_settings(tmp_path, {"threads": None, "limits": {"nofile": None}, "apps": {"blog": None}},
                            environ=NO_VARIABLES)  # fmt: skip
    assert again.changed == ("threads", "limits", "apps")
    told = {s.key: s for s in again.settings}
    assert (told["threads"].value, told["threads"].source) == (4, "default")
    assert told["limits"].file_value == {"memory": "512M"}
    assert told["apps"].source == "default"
    assert change_settings(tmp_path, {"stop_wait": 10}, environ=NO_VARIABLES).changed == ()


def test_a_refused_change_names_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "host.yaml"
    path.write_text("# mine\nthreads: 2\n")
    before = path.read_bytes()
    with pytest.raises(BadSettings) as caught:
        change_settings(
            tmp_path,
            {"threads": 0, "listen": "tcp", "colour": "blue", "apps": {"blog": {"method": "processes"}}},
            environ=NO_VARIABLES,
        )
    assert dict(caught.value.pointers) == {
        "/colour": caught.value.pointers[0][1],
        "/listen": "'tcp' must be unix or port",
        "/threads": "0 must be a whole number from 1 to 256",
        "/apps/blog/method": "processes needs listen: port (the processes share one port with SO_REUSEPORT;"
        " a unix socket cannot be shared by independent processes)",
    }
    assert caught.value.pointers[0][1].startswith("unknown setting (known: daemons, ports")
    assert "nothing was written" in str(caught.value)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".host.yaml.*")), "no temporary file is left"


def test_a_variable_that_overrides_a_changed_setting_is_named(tmp_path: Path) -> None:
    done = change_settings(tmp_path, {"daemons": False}, environ={"PYAPP_DAEMONS": "1"})
    assert done.changed == ("daemons",) and done.overridden == ("daemons",)
    assert {s.key: s.value for s in done.settings}["daemons"] is True
    assert "daemons: false" in (tmp_path / "host.yaml").read_text()


def test_key_value_assignments_become_a_change() -> None:
    assert settings_patch(
        ["threads=8", "daemons=false", "limits.memory=1G", "apps.blog.listen=port", "socket_perms=0660",
         "stop_wait="],
        ["confinement", "apps.old"],
    ) == {
        "threads": 8, "daemons": False, "limits": {"memory": "1G"},
        "apps": {"blog": {"listen": "port"}, "old": None}, "socket_perms": "0660", "stop_wait": None,
        "confinement": None,
    }  # fmt: skip
    with pytest.raises(BadSettings) as caught:
        settings_patch(["threads", "ports=[1"])
    assert caught.value.problems[0] == "'threads': expected KEY=VALUE (such as threads=8 or limits.memory=1G)"
    assert caught.value.pointers[1][0] == "/ports"


def test_merge_patch_follows_rfc_7396() -> None:
    assert merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"a": None, "b": {"c": None, "e": 4}}) == {
        "b": {"d": 3, "e": 4}
    }
    assert merge_patch({"apps": {"x": {"threads": 2}}}, {"apps": {"x": {"threads": None}}}) == {}
    assert merge_patch({"limits": {"memory": "1G"}}, {"limits": "none"}) == {"limits": "none"}
