"""Services (spec section 3.9) on a host: checked before install and start, given to every process."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyapp_runtime import BadServices, Host, InstallHookFailed
from pyapp_runtime.lifecycle.journal import Journal

HOOKS = ("install", "verify", "pre-update", "post-update", "backup", "uninstall")
PASSWORD = "s3cret-pw"
DB = f"postgresql://app:{PASSWORD}@db.example:5432/app"

SVCPROBE = '''\
"""Hooks and a command that record the service variables they got."""
import json
import os
from pathlib import Path

import probe


def _services():
    return {k: v for k, v in os.environ.items() if k.startswith("PYAPP_SERVICE_") or k == "SEARCH_URL"}


def hook(context):
    with open(Path(context["data_path"]) / "service-env.jsonl", "a") as f:
        entry = {"hook": context["hook"], "version": context["version"], "env": _services()}
        f.write(json.dumps(entry) + "\\n")
    probe.hook(context)


def env(argv):
    print(json.dumps(_services()))
'''

SERVICES = {
    "db": {"type": "postgresql", "summary": "the app's database"},
    "cache": {"type": "sqlite"},
    "search": {"type": "http", "variable": "SEARCH_URL", "required": False},
    "mail": {"type": "smtp", "required": False, "summary": "outgoing mail"},
}


def build(factory: Any, version: str, services: dict[str, Any]) -> Path:
    metadata = {
        "hooks": {h: "svcprobe:hook" for h in HOOKS},
        "commands": {"probe": "probe:probe", "env": "svcprobe:env"},
        "services": services,
    }
    extra = {"src/svcprobe/__init__.py": SVCPROBE.encode()}
    return Path(factory.probe(version, metadata=metadata, extra=extra, tag=f"-{len(services)}"))


@pytest.fixture(scope="module")
def packages(module_factory: Any) -> dict[str, Path]:
    return {
        "full": build(module_factory, "1.0.0", SERVICES),
        "cache-only": build(module_factory, "1.0.0", {"cache": {"type": "sqlite"}}),
        "adds-db": build(module_factory, "2.0.0", {"cache": {"type": "sqlite"}, "db": SERVICES["db"]}),
        "full-2": build(module_factory, "2.0.0", SERVICES),
    }


def app_dir(home: Path) -> Path:
    return home / "apps" / "probe"


def stored(home: Path) -> dict[str, str]:
    return dict(yaml.safe_load((app_dir(home) / "services.yaml").read_text()))


def service_env(home: Path) -> list[dict[str, Any]]:
    path = app_dir(home) / "data" / "service-env.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def command_env(host: Host) -> dict[str, str]:
    result = host.run_command("probe", "env", capture=True)
    assert result.returncode == 0, result.output
    return dict(json.loads(result.output.strip().splitlines()[-1]))


def test_a_missing_required_service_refuses_the_install_naming_it_and_the_option(
    home: Path, packages: dict[str, Path]
) -> None:
    with pytest.raises(BadServices) as caught:
        Host(home).install(packages["full"])
    message = str(caught.value)
    assert "services.yaml:/db: the required postgresql service has no value (the app's database)" in message
    assert "give it with --service NAME=VALUE (or: pyapp services probe set NAME=VALUE)" in message
    assert caught.value.missing == ("db",)
    assert isinstance(caught.value, ValueError)
    # Nothing was installed: no app directory, no journal, no app in the list.
    assert not app_dir(home).exists()
    assert not (home / "apps" / "probe.journal").exists()
    assert Host(home).apps() == []


def test_given_services_reach_hooks_commands_and_an_optional_one_stays_unset(
    home: Path, packages: dict[str, Path]
) -> None:
    host = Host(home)
    host.install(packages["full"], services=[f"db={DB}", "search=https://search.example/api"])
    cache = f"sqlite://{app_dir(home) / 'data' / 'cache.sqlite3'}"
    expected = {
        "PYAPP_SERVICE_DB": DB,
        "PYAPP_SERVICE_CACHE": cache,
        "SEARCH_URL": "https://search.example/api",
    }
    assert [(e["hook"], e["env"]) for e in service_env(home)] == [("install", expected), ("verify", expected)]
    env = command_env(host)
    assert env == expected
    assert "PYAPP_SERVICE_MAIL" not in env  # optional and not given: no variable (spec section 3.9)
    assert stored(home) == {"db": DB, "cache": cache, "search": "https://search.example/api"}
    assert stat.S_IMODE((app_dir(home) / "services.yaml").stat().st_mode) == 0o600
    launch = json.loads((Path(host.release("probe").path) / ".pyapp" / "launch.json").read_text())
    assert launch["services_file"] == str(app_dir(home) / "services.yaml")


def test_sqlite_is_provisioned_in_the_data_dir_and_listed_as_such(
    home: Path, packages: dict[str, Path]
) -> None:
    host = Host(home)
    host.install(packages["full"], services=[f"db={DB}"])
    listing = {s.name: s for s in host.services("probe").services}
    cache = listing["cache"]
    assert cache.provided and cache.provisioned and cache.variable == "PYAPP_SERVICE_CACHE"
    assert cache.value == f"sqlite://{app_dir(home) / 'data' / 'cache.sqlite3'}"
    assert listing["db"].provided and not listing["db"].provisioned
    assert listing["db"].value == "postgresql://app:****@db.example:5432/app"
    assert not listing["mail"].provided and listing["mail"].value is None and not listing["mail"].required
    assert listing["mail"].summary == "outgoing mail"
    assert PASSWORD not in json.dumps(host.services("probe").to_dict())


def test_a_value_of_the_wrong_scheme_is_refused_with_the_expected_form_and_no_password(
    home: Path, packages: dict[str, Path]
) -> None:
    with pytest.raises(BadServices) as caught:
        Host(home).install(packages["full"], services=[f"db=mysql://app:{PASSWORD}@db.example/app"])
    message = str(caught.value)
    assert "/db: mysql://app:****@db.example/app has the scheme mysql://" in message
    assert "expected a postgresql URL: postgresql://user:password@host:port/database" in message
    assert PASSWORD not in message
    assert not app_dir(home).exists()


def test_a_name_the_app_does_not_declare_is_refused_listing_the_declared_ones(
    home: Path, packages: dict[str, Path]
) -> None:
    with pytest.raises(
        BadServices, match=r"probe declares no service 'dbs' \(declared: cache, db, mail, search\)"
    ):
        Host(home).install(packages["full"], services=[f"db={DB}", "dbs=x"])
    assert not app_dir(home).exists()


def test_an_update_adding_a_required_service_is_refused_and_the_old_release_stays(
    home: Path, packages: dict[str, Path], app_snapshot: Any
) -> None:
    host = Host(home)
    host.install(packages["cache-only"])
    before, file_before = app_snapshot(home), (app_dir(home) / "services.yaml").read_bytes()
    hooks_before = service_env(home)
    with pytest.raises(BadServices, match=r"/db: the required postgresql service has no value"):
        host.install(packages["adds-db"])
    assert app_snapshot(home) == before
    assert (app_dir(home) / "services.yaml").read_bytes() == file_before
    assert service_env(home) == hooks_before  # not even the backup or pre-update hook ran
    # Given the value, the same update goes through and keeps the provisioned cache.
    result = host.install(packages["adds-db"], services=[f"db={DB}"])
    assert result.action == "updated"
    assert stored(home)["db"] == DB and stored(home)["cache"].endswith("/data/cache.sqlite3")


def test_a_failing_post_update_puts_the_old_services_back_after_its_hooks_saw_the_new_ones(
    home: Path, packages: dict[str, Path]
) -> None:
    host = Host(home)
    host.install(packages["full"], services=[f"db={DB}"])
    old_file = (app_dir(home) / "services.yaml").read_bytes()
    (app_dir(home) / "data" / "fail-post-update-2.0.0").write_text("")
    new_db = "postgresql://app:other@db2.example:5432/app"
    with pytest.raises(InstallHookFailed, match="post-update"):
        host.install(packages["full-2"], services=[f"db={new_db}"])
    assert (app_dir(home) / "services.yaml").read_bytes() == old_file
    assert host.release("probe").version == "1.0.0"
    seen = {e["hook"]: e["env"].get("PYAPP_SERVICE_DB") for e in service_env(home) if e["version"] == "2.0.0"}
    old_seen = {e["hook"]: e["env"].get("PYAPP_SERVICE_DB") for e in service_env(home)[2:]}
    assert seen == {"post-update": new_db}  # the new release's hook saw the new value
    assert old_seen["pre-update"] == DB and old_seen["backup"] == DB  # the old release's, the old one
    assert command_env(host)["PYAPP_SERVICE_DB"] == DB


def test_a_crashed_operation_gets_its_services_file_back(home: Path, packages: dict[str, Path]) -> None:
    host = Host(home)
    host.install(packages["full"], services=[f"db={DB}"])
    old_file = (app_dir(home) / "services.yaml").read_bytes()
    journal = Journal(host.layout.app("probe"))
    journal.begin("install")  # as a command that dies after changing the file would leave it
    (app_dir(home) / "services.yaml").write_text("db: postgresql://half:written@nowhere/x\n")
    assert host.recover("probe") is not None
    assert (app_dir(home) / "services.yaml").read_bytes() == old_file


def test_set_and_unset_check_every_value_and_write_only_valid_changes(
    home: Path, packages: dict[str, Path]
) -> None:
    host = Host(home)
    host.install(packages["full"], services=[f"db={DB}", "search=https://search.example/"])
    before = stored(home)
    with pytest.raises(BadServices) as caught:
        host.set_services("probe", ["db=redis://h:6379/0", "mail=smtp://", "nope=1", PASSWORD])
    problems = [p.path for p in caught.value.problems]
    assert problems == ["", "/db", "/mail", "/nope"]
    assert PASSWORD not in str(caught.value)
    assert stored(home) == before

    result = host.set_services("probe", ["mail=smtps://mailer:pw@mail.example:465", f"db={DB}"])
    assert result.changed == ("mail",) and not result.restarted
    assert {s.name: s.value for s in result.services}["mail"] == "smtps://mailer:****@mail.example:465"
    assert command_env(host)["PYAPP_SERVICE_MAIL"] == "smtps://mailer:pw@mail.example:465"

    with pytest.raises(BadServices, match=r"/db: probe requires this postgresql service: it cannot be unset"):
        host.set_services("probe", unset=["db"])
    result = host.set_services("probe", unset=["mail", "search"])
    assert result.changed == ("mail", "search")
    assert set(stored(home)) == {"db", "cache"}
    assert "SEARCH_URL" not in command_env(host)


def test_start_refuses_an_app_whose_required_service_lost_its_value(
    home: Path, packages: dict[str, Path]
) -> None:
    host = Host(home)
    host.install(packages["full"], services=[f"db={DB}"])
    values = stored(home)
    del values["db"], values["cache"]
    (app_dir(home) / "services.yaml").write_text(yaml.safe_dump(values))
    with pytest.raises(BadServices, match=r"/db: the required postgresql service has no value") as caught:
        host.start("probe")
    assert "pyapp services probe set NAME=VALUE" in str(caught.value)
    assert "/cache" not in str(caught.value)  # sqlite is provisioned again instead


def test_an_update_that_drops_a_service_keeps_its_value_for_a_rollback(
    home: Path, packages: dict[str, Path], module_factory: Any
) -> None:
    host = Host(home)
    host.install(packages["full"], services=[f"db={DB}"])
    without_db = build(module_factory, "3.0.0", {"cache": {"type": "sqlite"}})
    host.install(without_db)
    # The new release does not declare db: no process of it gets the variable, the value stays stored.
    assert "PYAPP_SERVICE_DB" not in command_env(host)
    assert stored(home)["db"] == DB
    listing = host.services("probe")
    assert [s.name for s in listing.services] == ["cache"]
    rolled = host.rollback("probe")
    assert rolled.version == "1.0.0"
    assert command_env(host)["PYAPP_SERVICE_DB"] == DB
