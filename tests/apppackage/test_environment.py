"""The environment contract (spec section 5): sys.path, isolation and variables."""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from apppackage import AppPackage, HostPaths
from apppackage.environment import Environment, applied, build_environment

# Distributions installed in the environment running the tests, never visible to an app.
OUTER = ("yaml", "click")


def stdlib_only(entries: list[str], base_prefix: str = sys.base_prefix) -> None:
    """Every entry belongs to the interpreter's standard library, which is there."""
    base = os.path.realpath(base_prefix)
    for entry in entries:
        real = os.path.realpath(entry)
        assert real == base or real.startswith(base + os.sep), entry
        assert not {"site-packages", "dist-packages"} & set(real.split(os.sep)), entry
    stdlib = os.path.realpath(sysconfig.get_path("stdlib"))
    assert stdlib in [os.path.realpath(e) for e in entries]


@contextmanager
def hidden(*names: str) -> Iterator[None]:
    """Forget the already imported *names* for a while, so that importing them really searches."""

    def ours(key: str) -> bool:
        return any(key == n or key.startswith(n + ".") for n in names)

    saved = {k: v for k, v in sys.modules.items() if ours(k)}
    for key in saved:
        del sys.modules[key]
    try:
        yield
    finally:
        for key in [k for k in sys.modules if ours(k)]:
            del sys.modules[key]
        sys.modules.update(saved)


def importable(name: str) -> bool:
    with hidden(name):
        try:
            __import__(name)
        except ImportError:
            return False
        return True


def base_variables(tmp_path: Path, root: Path) -> dict[str, str]:
    state = tmp_path / "state"
    return {
        "PYAPP_NAME": "demo",
        "PYAPP_VERSION": "2.1.0",
        "PYAPP_ROOT": str(root),
        "PYAPP_CONFIG_FILE": str(state / "config.yaml"),
        "PYAPP_DATA_PATH": str(state / "data"),
        "PYAPP_TMP_PATH": str(state / "tmp"),
        "TMPDIR": str(state / "tmp"),
        "PYAPP_LOG_PATH": str(state / "logs"),
        "PYAPP_WRITABLE_UPLOADS": str(state / "data" / "uploads"),
        "PYAPP_WRITABLE_CACHE_DIR": str(state / "data" / "cache_dir"),
    }


SERVICES = {"db": "postgresql://db.example/demo", "cache": "redis://127.0.0.1/0", "undeclared": "x"}


def process_variables(tmp_path: Path) -> dict[str, str]:
    return {
        "PYAPP_SERVICE_DB": "postgresql://db.example/demo",
        "CACHE_URL": "redis://127.0.0.1/0",
        "PYAPP_PROCESS": "worker",
        "PYAPP_PORT": "8123",
        "PYAPP_SOCKET": str(tmp_path / "run" / "worker.sock"),
        "PYAPP_MOUNT_PATH": "/demo",
        "SCRIPT_NAME": "/demo",
    }


def process_kwargs(tmp_path: Path) -> dict[str, Any]:
    return {
        "services": SERVICES,
        "process": "worker",
        "port": 8123,
        "socket": tmp_path / "run" / "worker.sock",
        "mount_path": "demo/",
    }


def app_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("PYAPP_") or k in ("TMPDIR", "SCRIPT_NAME")}


# -- the pure part -----------------------------------------------------------------------


def test_build_environment_gives_the_path_order_and_every_variable(
    tmp_path: Path, demo_dir: Path, host: HostPaths, site_dirs: tuple[Path, Path]
) -> None:
    pkg = AppPackage(demo_dir)
    env = build_environment(pkg.description, host, **process_kwargs(tmp_path))
    site, server = site_dirs
    assert env.sys_path == (str(demo_dir / "src"), str(site), str(server))
    assert dict(env.variables) == {**base_variables(tmp_path, demo_dir), **process_variables(tmp_path)}
    assert env.to_dict() == {"sys_path": list(env.sys_path), "variables": dict(env.variables)}


def test_paths_of_the_description_come_first_in_order(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    demo_metadata["paths"] = ["lib", "src", "vendor/pkgs"]
    root = package_factory(tmp_path / "p", demo_metadata, files={"lib/a.py": "", "vendor/pkgs/b.py": ""})
    host = HostPaths.under(root, tmp_path / "state", site_packages=(tmp_path / "s",))
    env = AppPackage(root).environment(host)
    assert env.sys_path == (
        str(root / "lib"),
        str(root / "src"),
        str(root / "vendor/pkgs"),
        str(tmp_path / "s"),
    )


@pytest.mark.parametrize(("mount", "prefix"), [("/", ""), ("", ""), ("demo", "/demo"), ("/a/b/", "/a/b")])
def test_mount_paths_become_a_script_name_prefix(
    demo_dir: Path, host: HostPaths, mount: str, prefix: str
) -> None:
    env = AppPackage(demo_dir).environment(host, mount_path=mount)
    assert env.variables["PYAPP_MOUNT_PATH"] == prefix == env.variables["SCRIPT_NAME"]


def test_services_without_a_value_get_no_variable(demo_dir: Path, host: HostPaths) -> None:
    env = AppPackage(demo_dir).environment(host, services={"cache": "redis://127.0.0.1/1"})
    assert env.variables["CACHE_URL"] == "redis://127.0.0.1/1"
    assert "PYAPP_SERVICE_DB" not in env.variables
    assert not {"PYAPP_PROCESS", "PYAPP_PORT", "PYAPP_SOCKET", "PYAPP_MOUNT_PATH", "SCRIPT_NAME"} & set(
        env.variables
    )


def test_host_paths_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    host = HostPaths.under("app", "state", site_packages=(Path("site"),))
    assert host.root == tmp_path / "app"
    assert host.config_file == tmp_path / "state" / "config.yaml"
    assert host.data_path == tmp_path / "state" / "data"
    assert host.site_packages == (tmp_path / "site",)
    assert host.writable_path("uploads") == tmp_path / "state" / "data" / "uploads"


# -- activate(): this process --------------------------------------------------------------


def test_activate_sets_sys_path_isolated_from_the_outer_site_packages(
    tmp_path: Path, demo_dir: Path, host: HostPaths, site_dirs: tuple[Path, Path]
) -> None:
    assert all(importable(name) for name in OUTER), "the test process has them"
    site, server = site_dirs
    pkg = AppPackage(demo_dir)
    with pkg.activate(host):
        assert sys.path[:3] == [str(demo_dir / "src"), str(site), str(server)]
        stdlib_only(sys.path[3:])
        for name in OUTER:
            assert not importable(name), f"{name} leaked in from the outer environment"
        import servermod  # type: ignore[import-not-found]
        import sitemod  # type: ignore[import-not-found]

        assert (sitemod.WHERE, servermod.WHERE) == ("site", "server")
        assert Path(sitemod.__file__).parent == site
        assert importable("json"), "the standard library is there"


def test_app_site_packages_come_before_server_packages(
    tmp_path: Path, demo_dir: Path, host: HostPaths
) -> None:
    for where, path in (("site", host.site_packages[0]), ("server", host.server_packages[0])):
        (path / "both.py").write_text(f"WHERE = {where!r}\n")
    (demo_dir / "src" / "sitemod.py").write_text("WHERE = 'app code'\n")
    with AppPackage(demo_dir).activate(host):
        import both  # type: ignore[import-not-found]
        import sitemod

        assert (both.WHERE, sitemod.WHERE) == ("site", "app code")


def test_activate_sets_every_variable(tmp_path: Path, demo_dir: Path, host: HostPaths) -> None:
    with AppPackage(demo_dir).activate(host, **process_kwargs(tmp_path)) as env:
        expected = {**base_variables(tmp_path, demo_dir), **process_variables(tmp_path)}
        assert app_variables() == {k: v for k, v in expected.items() if k != "CACHE_URL"}
        assert os.environ["CACHE_URL"] == "redis://127.0.0.1/0"
        assert dict(env.variables) == expected
        assert tempfile.gettempdir() == str(tmp_path / "state" / "tmp")
        assert tempfile.mkdtemp().startswith(str(tmp_path / "state" / "tmp") + os.sep)
        for path in ("data", "tmp", "logs", "data/uploads", "data/cache_dir"):
            assert (tmp_path / "state" / path).is_dir(), path


def test_variables_of_another_app_do_not_leak_in(
    tmp_path: Path, demo_dir: Path, host: HostPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYAPP_PORT", "1")
    monkeypatch.setenv("PYAPP_SERVICE_OTHER", "postgresql://elsewhere/other")
    monkeypatch.setenv("PYAPP_NAME", "other")
    with AppPackage(demo_dir).activate(host):
        assert app_variables() == base_variables(tmp_path, demo_dir)
    assert os.environ["PYAPP_PORT"] == "1" and os.environ["PYAPP_NAME"] == "other"


def test_activate_restores_everything_even_when_the_body_raises(
    tmp_path: Path, demo_dir: Path, host: HostPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("OUTER_SETTING", "kept")
    path, environ, modules = list(sys.path), dict(os.environ), set(sys.modules)
    pkg = AppPackage(demo_dir)
    with pytest.raises(RuntimeError, match="app code failed"), pkg.activate(host):
        import demo.web  # type: ignore[import-not-found]
        import sitemod  # noqa: F401

        assert demo.web.NOT_CALLABLE == 42
        os.environ["SET_BY_THE_APP"] = "1"
        del os.environ["OUTER_SETTING"]
        sys.path.append("/added/by/the/app")
        raise RuntimeError("app code failed")
    assert sys.path == path
    assert dict(os.environ) == environ
    assert tempfile.tempdir == str(tmp_path)
    assert not {"demo", "demo.web", "sitemod"} & set(sys.modules), "the app's modules are forgotten"
    assert modules <= set(sys.modules)


def test_a_second_package_with_the_same_module_names_is_loaded_afresh(
    tmp_path: Path, package_factory: Any, demo_metadata: dict[str, Any]
) -> None:
    first = package_factory(tmp_path / "one", demo_metadata)
    demo_metadata["version"] = "3.0"
    second = package_factory(tmp_path / "two", demo_metadata)
    for root, version in ((first, "2.1.0"), (second, "3.0")):
        pkg = AppPackage(root)
        with pkg.activate():
            app = pkg.wsgi_app()
            assert app({}, lambda *a: None) == [f"demo {version}".encode()]
            assert sys.modules["demo.web"].__file__ == str(root / "src" / "demo" / "web.py")


def test_activate_without_host_paths_uses_a_temporary_state(demo_dir: Path) -> None:
    with AppPackage(demo_dir).activate() as env:
        data = Path(env.variables["PYAPP_DATA_PATH"])
        assert (data / "uploads").is_dir()
        config = Path(env.variables["PYAPP_CONFIG_FILE"])
        assert config.read_text(), "the configuration is filled from the spec's defaults"
        assert os.environ["PYAPP_ROOT"] == str(demo_dir)
    assert not data.parent.exists(), "the temporary state is removed"


def test_not_isolated_keeps_the_outer_path_after_the_app(demo_dir: Path, host: HostPaths) -> None:
    outer = list(sys.path)
    with AppPackage(demo_dir).activate(host, isolated=False) as env:
        assert sys.path[: len(env.sys_path)] == list(env.sys_path)
        assert sys.path[len(env.sys_path) :] == [p for p in outer if p not in env.sys_path]
        assert importable("yaml")


def test_applied_works_on_any_environment(tmp_path: Path) -> None:
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "lonely.py").write_text("X = 1\n")
    env = Environment(sys_path=(str(tmp_path / "only"),), variables={"PYAPP_NAME": "x"})
    with applied(env):
        import lonely  # type: ignore[import-not-found]

        assert lonely.X == 1 and os.environ["PYAPP_NAME"] == "x"
    assert "lonely" not in sys.modules


def test_a_zip_package_runs_from_a_directory_removed_afterwards(
    tmp_path: Path, demo_zip: Path, snapshot: Callable[[Path], set[str]]
) -> None:
    """PYAPP_ROOT is a directory (section 5.1), also for a .pyapp: it is extracted for the block."""
    before = snapshot(tmp_path)
    pkg = AppPackage(demo_zip)
    with pkg.activate() as env:
        root = Path(env.variables["PYAPP_ROOT"])
        assert root.is_dir() and (root / "metadata.yaml").is_file()
        assert env.sys_path[0] == str(root / "src")
        app = pkg.wsgi_app()
        assert app({}, lambda *a: None) == [b"demo 2.1.0"]
        assert sys.modules["demo.web"].__file__ == str(root / "src" / "demo" / "web.py")
    pkg.close()
    assert not root.exists(), "the extraction is removed with the block"
    assert snapshot(tmp_path) == before, "nothing is left beside the package"


# -- a new interpreter: commands and hooks ------------------------------------------------------


def probe(pkg: AppPackage, host: HostPaths, **kwargs: Any) -> dict[str, Any]:
    env = pkg.environment(host, **kwargs)
    result = pkg.run_command("probe", ["sitemod", "servermod", "demo", *OUTER], host, env=env, capture=True)
    assert result.returncode == 0, result.output
    report: dict[str, Any] = json.loads(result.output.splitlines()[-1])
    return report


def test_commands_see_the_path_order_and_isolation(
    demo_dir: Path, host: HostPaths, site_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Even a PYTHONPATH naming the outer site-packages does not reach the app.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if "site-packages" in p))
    report = probe(AppPackage(demo_dir), host)
    site, server = site_dirs
    assert report["sys_path"][:3] == [str(demo_dir / "src"), str(site), str(server)]
    stdlib_only(report["sys_path"][3:], report["base_prefix"])
    assert report["importable"] == {
        "sitemod": True,
        "servermod": True,
        "demo": True,
        "yaml": False,
        "click": False,
    }


def test_commands_see_every_variable(
    tmp_path: Path, demo_dir: Path, host: HostPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYAPP_LEFTOVER", "from the caller")
    report = probe(AppPackage(demo_dir), host, **process_kwargs(tmp_path))
    assert report["environ"] == {**base_variables(tmp_path, demo_dir), **process_variables(tmp_path)}
    assert report["tempdir"] == str(tmp_path / "state" / "tmp")


def test_hooks_see_every_variable_and_run_in_the_data_path(
    tmp_path: Path, demo_dir: Path, host: HostPaths
) -> None:
    result = AppPackage(demo_dir).run_hook("install", host)
    assert result is not None
    seen = json.loads(result.output.splitlines()[-1])
    assert seen["environ"] == {k: v for k, v in base_variables(tmp_path, demo_dir).items()}
    assert seen["cwd"] == str(tmp_path / "state" / "data")


def test_a_package_opened_by_a_relative_path_still_runs_its_hooks(
    tmp_path: Path, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pkg = AppPackage("demo")
    host = pkg.host_paths("state")
    result = pkg.run_hook("install", host)
    assert result is not None
    seen = json.loads(result.output.splitlines()[-1])
    assert seen["context"]["root"] == str(demo_dir)
    assert seen["environ"]["PYAPP_ROOT"] == str(demo_dir)
    assert seen["environ"]["PYAPP_DATA_PATH"] == seen["cwd"] == str(tmp_path / "state" / "data")


def test_host_paths_of_a_zip_package_have_its_extraction_as_root(tmp_path: Path, demo_zip: Path) -> None:
    with AppPackage(demo_zip) as pkg:
        host = pkg.host_paths(tmp_path / "state")
        assert host.root == tmp_path / "state" / "package"
        assert (host.root / "src" / "demo" / "web.py").is_file()
        assert pkg.environment(host).variables["PYAPP_ROOT"] == str(host.root)
        # Asked again (another run with this state), it is extracted afresh.
        (host.root / "stray.txt").write_text("left by a run")
        assert not (pkg.host_paths(tmp_path / "state").root / "stray.txt").exists()
