"""Dependencies: offline from bundled wheels, shared once in server-packages, local in the release."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from pyapp_runtime import DependenciesMissing, Host, HostError

PYRAMID = ("pyramid", "webob", "zope", "venusian", "translationstring", "hupper", "plaster", "pastedeploy",
           "setuptools")  # fmt: skip


@pytest.fixture(scope="module")
def web_packages(module_factory):
    wheels = module_factory.wheels(*PYRAMID, "markupsafe")
    meta = {"dependencies": {"packages": ["pyramid>=2", "markupsafe"], "local": ["markupsafe"]}}
    return {
        "one": module_factory.probe("1.0.0", name="web-one", metadata=meta, wheels=wheels),
        "two": module_factory.probe("1.0.0", name="web-two", metadata=meta, wheels=wheels),
        "one-2": module_factory.probe("2.0.0", name="web-one", metadata=meta, wheels=wheels),
    }


def probe(host: Host, app: str, *modules: str) -> dict:
    run = host.run_command(app, "probe", list(modules), capture=True)
    assert run.returncode == 0, run.output
    return json.loads(run.output)


def test_an_app_with_pyramid_installs_offline_and_imports_its_dependencies(home, web_packages):
    host = Host(home)
    result = host.install(web_packages["one"])
    deps = {d.name: d for d in result.dependencies}
    assert {"pyramid", "webob", "zope-interface", "setuptools", "markupsafe"} <= set(deps)
    assert deps["pyramid"].shared and not deps["markupsafe"].shared
    assert deps["pyramid"].path == str(home / "server-packages" / "pyramid-2.1")
    release = Path(result.path)
    assert deps["markupsafe"].path == str(release / "site-packages")
    found = probe(host, "web-one", "pyramid", "markupsafe", "zope.interface")
    assert found["pyramid"] == str(home / "server-packages" / "pyramid-2.1" / "pyramid" / "__init__.py")
    assert found["markupsafe"].startswith(str(release / "site-packages" / "markupsafe"))
    # The bundled wheels are not kept in the release once installed.
    assert not list((release / "deps").glob("*.whl"))
    dist_info = home / "server-packages" / "pyramid-2.1" / "pyramid-2.1.dist-info"
    assert (dist_info / "INSTALLER").read_text() == "pyapp\n"
    assert "pyramid/__init__.py,sha256=" in (dist_info / "RECORD").read_text()
    assert host.verify("web-one") == []


def test_the_release_is_isolated_from_the_outer_site_packages(home, web_packages):
    # click is installed in the environment running the tests, and is not a dependency of the app.
    import click

    assert click.__file__
    host = Host(home)
    host.install(web_packages["one"])
    found = probe(host, "web-one", "click", "pyramid")
    assert found["click"] is None and "No module named 'click'" in found["click_error"]
    assert found["pyramid"] is not None
    assert not any("site-packages" in p and "server-packages" not in p and "releases" not in p
                   for p in found["sys_path"])  # fmt: skip


def test_two_apps_share_one_copy_of_each_dependency(home, web_packages):
    host = Host(home)
    first = host.install(web_packages["one"])
    second = host.install(web_packages["two"])
    assert all(d.reused for d in second.dependencies if d.shared)
    assert not any(d.reused for d in first.dependencies)
    entries = sorted(os.listdir(home / "server-packages"))
    assert [e for e in entries if e.startswith("pyramid")] == ["pyramid-2.1"]
    one = probe(host, "web-one", "pyramid")["pyramid"]
    two = probe(host, "web-two", "pyramid")["pyramid"]
    assert one == two and os.stat(one).st_ino == os.stat(two).st_ino
    # Each app keeps its own copy of its local dependency.
    local = [probe(host, a, "markupsafe")["markupsafe"] for a in ("web-one", "web-two")]
    assert local[0] != local[1]


def test_unused_shared_dependencies_are_collected_when_the_last_user_goes(home, web_packages):
    host = Host(home)
    host.install(web_packages["one"])
    host.install(web_packages["two"])
    host.remove("web-one")
    assert (home / "server-packages" / "pyramid-2.1").is_dir()  # web-two still uses it
    result = host.remove("web-two")
    assert "pyramid-2.1" in result.garbage.removed and result.garbage.freed > 0
    assert [e for e in os.listdir(home / "server-packages") if not e.startswith(".")] == []


def test_an_update_reuses_the_shared_dependencies(home, web_packages):
    host = Host(home)
    host.install(web_packages["one"])
    result = host.install(web_packages["one-2"])
    assert all(d.reused for d in result.dependencies if d.shared)
    assert probe(host, "web-one", "pyramid")["pyramid"] is not None


def test_missing_wheels_are_refused_without_network(home, factory, wheelhouse):
    wheels = [
        w
        for w in factory.__class__(factory.root, wheelhouse).wheels(*PYRAMID)
        if "webob" not in w.name.lower()
    ]
    package = factory.probe(metadata={"dependencies": {"packages": ["pyramid"]}}, wheels=wheels)
    with pytest.raises(DependenciesMissing) as info:
        Host(home).install(package)
    assert "webob" in str(info.value).lower() and "--allow-network" in str(info.value)
    assert not (home / "apps" / "probe").exists()


def test_allow_network_fetches_what_the_bundle_lacks_with_pip(home, factory, wheelhouse, pyapp_cli):
    package = factory.probe(metadata={"dependencies": {"packages": ["venusian"]}})
    # pip runs for real, pointed at the local wheelhouse instead of an index.
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}
    refused = pyapp_cli("install", package, home=home, env=env)
    assert refused.returncode == 1 and "venusian" in refused.stderr
    proc = pyapp_cli("install", package, "--allow-network", "--json", home=home, env=env)
    assert proc.returncode == 0, proc.stderr
    deps = json.loads(proc.stdout)["dependencies"]
    assert [(d["name"], d["shared"]) for d in deps] == [("venusian", True)]


def test_a_lock_file_pins_versions_and_hashes(home, factory, wheelhouse):
    wheel = next(wheelhouse.glob("venusian-*.whl"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lock = f"venusian==3.1.1 \\\n    --hash=sha256:{digest}\n".encode()
    package = factory.probe(wheels=[wheel], extra={"deps/requirements.txt": lock})
    result = Host(home).install(package)
    assert [(d.name, d.version) for d in result.dependencies] == [("venusian", "3.1.1")]
    bad = factory.probe(
        "2.0.0", wheels=[wheel], extra={"deps/requirements.txt": lock.replace(digest.encode(), b"0" * 64)}
    )
    with pytest.raises(HostError, match="matches no --hash given for venusian"):
        Host(home).install(bad)
    assert Host(home).release("probe").version == "1.0.0"
