"""Dependencies: offline from bundled wheels, shared once in server-packages, local in the release."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version
from pyapp_runtime import DependenciesMissing, Host, HostError
from pyapp_runtime.dependencies.choose import (
    _bundled,
    _LockLine,
    _marker_ok,
    _parse_lock,
    _Pin,
    _select,
)
from pyapp_runtime.dependencies.wheels import WheelFile, supported_tags

from apppackage.description import Description

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


# -- the common case, a lock of pins and pure-Python wheels, is read without packaging's parsers -----------

LOCK = "deps/requirements.txt"
PURE = ("venusian", "translationstring", "hupper", "WebOb")
INSTALL_DEPENDENCIES = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from apppackage.description import Description
    from pyapp_runtime.dependencies.choose import place, plan

    root, home = Path(sys.argv[1]), Path(sys.argv[2])
    raw = {"pyapp": "1.0", "name": "probe", "version": "1.0.0", "dependencies": {"local": ["hupper"]}}
    placed = place(
        plan(root, Description.from_checked(raw)),
        server_packages=home / "server-packages",
        site_packages=root / "site-packages",
    )
    avoided = ("packaging.markers", "packaging.requirements", "packaging.specifiers", "packaging.tags",
               "packaging.utils", "email.parser", "email.feedparser", "subprocess")
    print(json.dumps({"placed": [[d.name, d.version, d.shared] for d in placed],
                      "imported": [m for m in avoided if m in sys.modules]}))
    """
)


def test_installing_from_a_lock_of_pins_imports_no_requirement_tag_or_email_parser(tmp_path, wheelhouse):
    root = tmp_path / "release"
    (root / "deps").mkdir(parents=True)
    lock = []
    for name in PURE:
        wheel = next(wheelhouse.glob(f"{name}-*.whl"))
        shutil.copy(wheel, root / "deps")
        dist, version = wheel.name.split("-")[:2]
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lock.append(f"{dist}=={version} \\\n    --hash=sha256:{digest}\n")
    (root / LOCK).write_text("".join(lock))
    # What the host's release builder calls, in a new interpreter as `pyapp install` runs it (not all of
    # Host.install: apppackage's check of the description imports packaging's requirement parser).
    proc = subprocess.run(
        [sys.executable, "-c", INSTALL_DEPENDENCIES, str(root), str(tmp_path / "home")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["placed"] == [
        ["hupper", "1.12.1", False],
        ["translationstring", "1.4", True],
        ["venusian", "3.1.1", True],
        ["webob", "1.8.9", True],
    ]
    assert result["imported"] == []
    assert (root / "site-packages" / "hupper" / "__init__.py").is_file()
    assert (tmp_path / "home" / "server-packages" / "venusian-3.1.1" / "venusian" / "__init__.py").is_file()


def lock_line(spec: str) -> _LockLine:
    """The lock line *spec* (with options), as the install reads it."""
    [line] = _parse_lock(f"{spec}\n", LOCK)
    return line


VERSIONS = [Version(v) for v in ("2.0.2", "2.0.2+local.1", "2.0.2rc1", "2.0.3", "1!2.0.2", "2.0.2.0", "2.0")]


@pytest.mark.parametrize(
    ("spec", "pin"),
    [
        ("pyramid==2.0.2", True),
        ("Zope.Interface_x==8.0.1", True),
        ("pyramid==2.0.2+local.1", True),
        ("pyramid==1!2.0.2rc1.post2.dev3", True),
        ("pyramid==2.0", True),
        # Anything else is packaging's to read.
        ('pyramid==2.0.2 ; python_version >= "3"', False),
        ("pyramid==2.0.2;python_version<'3'", False),
        ('pyramid==2.0.2 ; sys_platform == "linux" and python_version >= "3.8" or os_name == "nt"', False),
        ("pyramid[testing]==2.0.2", False),
        ("pyramid>=2.0", False),
        ("pyramid===2.0.2", False),
        ("pyramid==2.0.*", False),
        ("pyramid == 2.0.2", False),
        ("pyramid==V2.0.2", False),
        ("pyramid~=2.0,!=2.0.1", False),
        ("pyramid @ https://example.org/pyramid-2.0.2-py3-none-any.whl", False),
        ('pyramid @ https://example.org/pyramid-2.0.2-py3-none-any.whl ; python_version >= "3"', False),
        ("pyramid", False),
    ],
)
def test_lock_lines_are_read_as_packaging_reads_them(spec, pin):
    line = lock_line(f"{spec} --hash=sha256:{'a' * 64}")
    req, expected = line.requirement, Requirement(spec)
    assert isinstance(req, _Pin) is pin
    assert (req.name, str(req), str(req.marker)) == (expected.name, str(expected), str(expected.marker))
    assert _marker_ok(req) is _marker_ok(expected)
    assert [line.accepts(v) for v in VERSIONS] == [
        expected.specifier.contains(v, prereleases=True) for v in VERSIONS
    ]


def test_a_pin_keeps_its_hash_options():
    [line] = _parse_lock(
        f"pyramid==2.0.2 \\\n    --hash=sha256:{'a' * 64} \\\n    --hash=sha256:{'b' * 64}\n", LOCK
    )
    assert isinstance(line.requirement, _Pin) and line.requirement.marker is None
    assert line.hashes == {f"sha256:{'a' * 64}", f"sha256:{'b' * 64}"}
    assert line.line == 1


def test_a_pin_with_a_marker_applies_where_the_marker_is_true():
    true = lock_line('pyramid==2.0.2 ; python_version >= "3" --hash=sha256:00')
    false = lock_line('pyramid==2.0.2 ; python_version < "3" --hash=sha256:00')
    assert isinstance(true.requirement, Requirement) and isinstance(false.requirement, Requirement)
    assert _marker_ok(true.requirement) and not _marker_ok(false.requirement)
    assert true.hashes == false.hashes == {"sha256:00"}


@pytest.mark.parametrize(
    "spec",
    ["pyramid==", "pyramid==2.0.2 ;", 'pyramid==2.0.2 ; python_version >>> "3"', "pyramid=2.0.2", "=="],
)
def test_an_invalid_lock_line_is_refused_as_before(spec):
    with pytest.raises(InvalidRequirement) as expected:
        Requirement(spec)
    with pytest.raises(HostError) as info:
        _parse_lock(f"venusian==3.1.1\n{spec} --hash=sha256:00\n", LOCK)
    assert str(info.value) == f"{LOCK}: line 2: {spec!r} is not a requirement: {expected.value}"


def test_a_lock_line_whose_marker_is_false_is_not_missing(tmp_path, make_wheel):
    root = tmp_path / "release"
    (root / "deps").mkdir(parents=True)
    make_wheel(root / "deps", {"demo/__init__.py": b""})
    (root / LOCK).write_text(
        'demo==1.0\nabsent==1.0 ; python_version < "3"\nother==2.0 ; python_version >= "3"\n'
    )
    description = Description.from_checked({"pyapp": "1.0", "name": "probe", "version": "1.0.0"})
    chosen, missing = _select(root, description, ())
    assert list(chosen) == ["demo"] and missing == ['other==2.0; python_version >= "3"']


def test_platform_wheels_are_still_ranked_by_the_interpreter_tags(tmp_path):
    best = str(next(iter(supported_tags())))
    deps = tmp_path / "deps"
    deps.mkdir()
    names = [
        "demo-1.0-py3-none-any.whl",
        f"demo-1.0-{best}.whl",
        "demo-1.0-py2.py3-none-any.whl",
        "demo-0.9-py3-none-any.whl",
        f"demo-0.9-{best}.whl",
        "demo-1.1-cp27-cp27mu-manylinux1_x86_64.whl",  # not for this interpreter
        "other-2.0-py3-none-any.whl",
        f"third-1.0-{best}.whl",
    ]
    for name in names:
        (deps / name).touch()
    found = _bundled(tmp_path)
    assert {n: [w.path.name for w in ws] for n, ws in found.items()} == {
        "demo": [
            f"demo-1.0-{best}.whl",
            "demo-1.0-py2.py3-none-any.whl",  # as good as py3-none-any: in the order of the files
            "demo-1.0-py3-none-any.whl",
            f"demo-0.9-{best}.whl",
            "demo-0.9-py3-none-any.whl",
        ],
        "other": ["other-2.0-py3-none-any.whl"],
        "third": [f"third-1.0-{best}.whl"],
    }
    # As ranking every wheel orders them: by version, then by rank.
    for wheels in found.values():
        reference = sorted(wheels, key=lambda w: w.rank or 0)
        reference.sort(key=lambda w: w.version, reverse=True)
        assert wheels == reference
    assert found["third"][0].key == f"third-1.0-{best}" and found["other"][0].key == "other-2.0"


def test_a_bundled_wheel_is_known_by_its_canonical_name():
    wheel = WheelFile.from_path(Path("Zope.Interface-8.0.1-py3-none-any.whl"))
    assert wheel.name == "zope-interface" and wheel.installable
