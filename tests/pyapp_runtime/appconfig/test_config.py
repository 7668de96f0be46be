"""The operator's configuration across installs, updates and rollbacks, and `pyapp config`."""

from __future__ import annotations

import stat
import sys
from typing import Any

import pytest
import yaml
from pyapp_runtime import Host

from apppackage import InvalidConfiguration
from apppackage.configspec import MASK

V1_FIELDS = {
    "greeting": {"type": "string", "default": "Hello"},
    "token": {"type": "secret"},
    "old_flag": {"type": "boolean", "default": False},
    "workers": {"type": "integer", "default": 2, "min": 1},
}
V2_FIELDS = {
    "greeting": {"type": "string", "default": "Hello"},
    "token": {"type": "secret"},
    "workers": {"type": "integer", "default": 2, "min": 1},
    "colour": {"type": "choice", "choices": ["red", "blue"], "default": "blue"},
}
V3_FIELDS = {**V2_FIELDS, "admin_email": {"type": "email", "required": True}}


@pytest.fixture(scope="module")
def probes(module_factory):
    return {
        "1.0.0": module_factory.probe("1.0.0", fields=V1_FIELDS),
        "2.0.0": module_factory.probe("2.0.0", fields=V2_FIELDS),
        "3.0.0": module_factory.probe("3.0.0", fields=V3_FIELDS),
        "ini": module_factory.probe("4.0.0", fields=V2_FIELDS, config_format="ini"),
    }


def values(home):
    return yaml.safe_load((home / "apps" / "probe" / "config.yaml").read_text())


def app_reads(home):
    return yaml.safe_load((home / "apps" / "probe" / "app-config.yaml").read_text())


def test_first_install_fills_defaults_generates_secrets_and_masks_them(home, probes):
    host = Host(home)
    result = host.install(probes["1.0.0"], settings=["workers=4"])
    got = values(home)
    # The host keeps what the operator set and the secret it generated; the app reads them filled in.
    assert set(got) == {"workers", "token"} and got["workers"] == 4
    assert isinstance(got["token"], str) and len(got["token"]) == 32
    assert app_reads(home) == {"greeting": "Hello", "token": got["token"], "old_flag": False, "workers": 4}
    assert "token" in result.config.added and result.config.assigned == ("workers",)
    assert stat.S_IMODE((home / "apps" / "probe" / "config.yaml").stat().st_mode) == 0o600
    shown = host.config("probe")
    assert shown.values["token"] == MASK and shown.masked
    assert host.config("probe", show_secrets=True).values["token"] == got["token"]
    assert {f["name"] for f in shown.fields} == set(V1_FIELDS)


def test_set_validates_against_the_spec_and_writes_atomically(home, probes):
    host = Host(home)
    host.install(probes["1.0.0"])
    before = values(home)
    with pytest.raises(InvalidConfiguration, match=r"config.yaml:/workers: 0 is less than the minimum 1"):
        host.set_config("probe", ["workers=0"])
    with pytest.raises(InvalidConfiguration, match=r"/nope: unknown setting"):
        host.set_config("probe", ["nope=1"])
    assert values(home) == before
    result = host.set_config("probe", ["workers=8", "greeting=Hi there"])
    assert result.changed == ("greeting", "workers")
    assert values(home)["workers"] == 8
    assert "workers: 8" in (home / "apps" / "probe" / "app-config.yaml").read_text()
    assert not list((home / "apps" / "probe").glob(".config.yaml.*"))  # no temporary files left


def test_update_keeps_values_adds_new_defaults_and_drops_removed_fields(home, probes):
    host = Host(home)
    host.install(probes["1.0.0"], settings=["workers=5", "old_flag=true"])
    token = values(home)["token"]
    result = host.install(probes["2.0.0"])
    assert result.config.dropped == ("old_flag",)
    assert result.config.added == ("colour",)
    assert values(home) == {"token": token, "workers": 5}
    assert app_reads(home) == {"greeting": "Hello", "token": token, "workers": 5, "colour": "blue"}
    # A rollback gets the dropped value back from what 1.0.0 last used.
    back = host.rollback("probe")
    assert back.config.restored == ("old_flag",) and back.config.dropped == ()
    assert values(home)["old_flag"] is True and values(home)["workers"] == 5


@pytest.fixture(scope="module")
def colours(module_factory):
    """Two releases whose spec changes both defaults."""

    def fields(colour: str, size: int) -> dict[str, Any]:
        return {"colour": {"type": "string", "default": colour}, "size": {"type": "integer", "default": size}}

    return [
        module_factory.probe("1.0.0", fields=fields("red", 1), tag="-colours"),
        module_factory.probe("2.0.0", fields=fields("blue", 2), tag="-colours"),
    ]


def test_a_default_the_new_release_changes_reaches_the_app(home, colours):
    """Spec sections 4.3 and 7.2 (step 5): the operator's values over the new spec's defaults."""
    host = Host(home)
    host.install(colours[0], settings=["size=1"])  # the operator's choice, though it is the default
    assert app_reads(home) == {"colour": "red", "size": 1}
    host.install(colours[1])
    assert app_reads(home) == {"colour": "blue", "size": 1}
    host.rollback("probe")
    assert app_reads(home) == {"colour": "red", "size": 1}


def test_the_defaults_an_older_host_stored_are_read_as_defaults(home, colours):
    """A config.yaml written before the host kept only the operator's values: what equals the running
    release's default is a default (the app reads the same), and a new release's default reaches it."""
    host = Host(home)
    host.install(colours[0], settings=["size=3"])
    # config.yaml as an older host wrote it: the defaults filled in at install with the operator's value.
    (home / "apps" / "probe" / "config.yaml").write_text("colour: red\nsize: 3\n")
    assert host.config("probe").values == {"size": 3}
    host.install(colours[1])
    assert values(home) == {"size": 3}
    assert app_reads(home) == {"colour": "blue", "size": 3}


def test_a_new_required_field_without_a_value_is_refused_naming_it(home, probes, app_snapshot):
    host = Host(home)
    host.install(probes["2.0.0"])
    before = app_snapshot(home)
    with pytest.raises(InvalidConfiguration) as info:
        host.install(probes["3.0.0"])
    assert "config.yaml:/admin_email: is required but has no value" in str(info.value)
    assert "--set" in str(info.value)
    assert app_snapshot(home) == before
    result = host.install(probes["3.0.0"], settings=["admin_email=ops@example.org"])
    assert result.action == "updated" and values(home)["admin_email"] == "ops@example.org"


def test_the_app_reads_its_config_in_the_spec_format(home, probes):
    host = Host(home)
    host.install(probes["2.0.0"])
    host.install(probes["ini"])
    app = home / "apps" / "probe"
    assert not (app / "app-config.yaml").exists()
    text = (app / "app-config.ini").read_text()
    assert text.startswith("[app]\n") and "colour = blue" in text
    assert host.launch("probe").config_file == str(app / "app-config.ini")


def test_config_edit_reopens_the_editor_until_valid(home, probes, tmp_path, pyapp_cli):
    host = Host(home)
    host.install(probes["1.0.0"])
    # An "editor" that writes the next prepared version of the file each time it is opened.
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\n"
        f"queue = pathlib.Path({str(tmp_path / 'queue')!r})\n"
        "items = sorted(queue.iterdir())\n"
        "pathlib.Path(sys.argv[1]).write_text(items[0].read_text())\n"
        "items[0].unlink()\n"
    )
    queue = tmp_path / "queue"
    queue.mkdir()
    token = values(home)["token"]
    (queue / "1").write_text(f"greeting: Hello\ntoken: {token}\nworkers: 0\n")
    (queue / "2").write_text(f"greeting: Bonjour\ntoken: {token}\nworkers: 3\n")
    proc = pyapp_cli(
        "config", "probe", "edit", home=home, input="y\n", env={"EDITOR": f"{sys.executable} {script}"}
    )
    assert proc.returncode == 0, proc.stderr
    assert "/workers: 0 is less than the minimum 1" in proc.stderr
    assert "changed greeting, workers" in proc.stdout
    assert values(home)["greeting"] == "Bonjour" and values(home)["workers"] == 3
    # Giving up leaves the file as it was.
    (queue / "3").write_text("workers: nope\n")
    proc = pyapp_cli(
        "config", "probe", "edit", home=home, input="n\n", env={"EDITOR": f"{sys.executable} {script}"}
    )
    assert proc.returncode == 1 and "configuration not changed" in proc.stderr
    assert values(home)["workers"] == 3


def test_a_secret_given_as_the_mask_keeps_its_value(home, probes):
    """Spec section 4.5, round trip: what `pyapp config show` shows can be given back as it is."""
    host = Host(home)
    host.install(probes["1.0.0"])
    token = values(home)["token"]
    result = host.set_config("probe", [f"token={MASK}", "greeting=Hi"])
    assert result.changed == ("greeting",) and result.values["token"] == MASK
    assert values(home)["token"] == token
    # The masked values as shown, saved back whole (an editor, a form): nothing changes.
    assert host.replace_config("probe", host.config("probe").values).changed == ()
    assert values(home)["token"] == token
    # So at an update, with --set.
    host.install(probes["2.0.0"], settings=[f"token={MASK}"])
    assert values(home)["token"] == token
    # Another value replaces it.
    host.set_config("probe", ["token=a-new-token"])
    assert values(home)["token"] == "a-new-token"


def test_config_set_and_edit_never_show_or_store_the_mask(home, probes, tmp_path, pyapp_cli):
    host = Host(home)
    host.install(probes["1.0.0"])
    token = values(home)["token"]
    proc = pyapp_cli("config", "probe", "set", f"token={MASK}", home=home)
    assert proc.returncode == 0, proc.stderr
    assert "no change" in proc.stdout and values(home)["token"] == token
    # An "editor" that keeps a copy of what it was shown and changes the greeting only.
    seen = tmp_path / "seen.yaml"
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\n"
        "file = pathlib.Path(sys.argv[1])\n"
        "text = file.read_text()\n"
        f"pathlib.Path({str(seen)!r}).write_text(text)\n"
        "file.write_text(text.replace('# greeting: Hello', 'greeting: Howdy'))\n"
    )
    proc = pyapp_cli("config", "probe", "edit", home=home, env={"EDITOR": f"{sys.executable} {script}"})
    assert proc.returncode == 0, proc.stderr
    shown = seen.read_text()
    assert token not in shown and f"token: '{MASK}'" in shown
    assert "changed greeting" in proc.stdout
    assert values(home)["greeting"] == "Howdy" and values(home)["token"] == token
