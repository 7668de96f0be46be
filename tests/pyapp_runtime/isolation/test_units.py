"""The parts of the walls one at a time: user names, reachability, limits, the report on a host that
is not root, the sandbox's command line, and the systemd equivalent (``systemd-analyze verify``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyapp_runtime.isolation.identity import AppIdentity, app_identity, closed_paths, own_identity, user_name
from pyapp_runtime.isolation.limits import Limits
from pyapp_runtime.isolation.sandbox import SandboxPaths, bwrap_works, sandbox_argv
from pyapp_runtime.isolation.walls import AppWalls
from pyapp_runtime.layout import HostLayout
from pyapp_runtime.releases.launch import LaunchSpec
from pyapp_runtime.settings import BadSettings, HostSettings
from pyapp_runtime.supervision import ProcessSpec, export_systemd


def test_user_names_fit_the_32_characters_and_stay_distinct() -> None:
    assert user_name("blog") == "pyapp-blog"
    long = user_name("a-very-long-application-name-indeed")
    assert len(long) <= 32 and long.startswith("pyapp-a-very-long")
    assert long != user_name("a-very-long-application-name-indeed2")
    # A dot is no character of a user name: it is replaced, and the hash keeps "a.b" and "a_b" apart.
    assert "." not in user_name("a.b") and user_name("a.b") != user_name("a_b")


def test_closed_paths_name_the_directory_that_stops_other_users(open_home: Path) -> None:
    tmp_path = open_home.parent  # /tmp/pyapp-w-*: other users pass /tmp and it
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    (closed / "file").write_text("x")
    open_file = tmp_path / "open"
    open_file.write_text("x")
    assert closed_paths([closed / "file"]) == [f"{closed / 'file'} (through {closed})"]
    assert closed_paths([open_file, tmp_path / "absent"]) == []
    open_file.chmod(0o600)
    assert closed_paths([open_file]) == [str(open_file)]


def test_limits_are_read_checked_and_turned_into_commands_and_unit_settings() -> None:
    settings = HostSettings.from_dict(
        {"limits": {"memory": "512M", "nofile": 1024}, "apps": {"blog": {"limits": {"cpu_weight": 25}}}}
    )
    assert settings.limits_for("other") == Limits(memory=512 << 20, nofile=1024)
    blog = settings.limits_for("blog")
    assert blog == Limits(memory=512 << 20, nofile=1024, cpu_weight=25)
    assert blog.nice == 8
    assert blog.prefix()[1:] == (
        f"--as={512 << 20}",
        "--nofile=1024",
        "--",
        blog.prefix()[4],
        "-n",
        "8",
        "--",
    )
    assert dict(blog.unit_settings()) == {
        "MemoryMax": str(512 << 20),
        "LimitNOFILE": "1024",
        "CPUWeight": "25",
    }
    assert Limits().prefix() == () and Limits(cpu_weight=100).nice == 0
    with pytest.raises(BadSettings) as caught:
        HostSettings.from_dict({"limits": {"memory": "lots", "cpu": 1}, "confinement": "docker"})
    problems = "\n".join(caught.value.problems)
    assert "/limits/memory: 'lots' is not a size" in problems
    assert "/limits/cpu: unknown limit" in problems
    assert "/confinement: 'docker' must be one of auto, bubblewrap, none" in problems


def test_limits_hold_in_the_child() -> None:
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit (util-linux) is not installed")
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    done = subprocess.run(
        [*Limits(nofile=123).prefix(), sys.executable, "-c", code], capture_output=True, text=True
    )
    assert done.stdout.strip() == "123", done.stderr


def test_a_host_not_run_as_root_says_its_apps_share_its_user(tmp_path: Path, shared_python: str) -> None:
    """The report of a host run by an ordinary user (``pyapp show``: identity), asked as ``nobody``."""
    code = (
        "import json, sys; from pathlib import Path\n"
        "from pyapp_runtime.isolation.identity import app_identity\n"
        "print(json.dumps(app_identity(Path(sys.argv[1]), 'blog', python=sys.executable).to_dict()))"
    )
    if os.geteuid() != 0:
        shown = app_identity(tmp_path, "blog", python=sys.executable).to_dict()
    else:
        done = subprocess.run(
            [shared_python, "-c", code, "/nonexistent/home"], user=65534, group=65534, extra_groups=[],
            capture_output=True, text=True, check=True, cwd="/",
        )  # fmt: skip
        shown = json.loads(done.stdout)
    assert shown["isolated"] is False
    assert shown["uid"] == os.geteuid() if os.geteuid() != 0 else shown["uid"] == 65534
    assert "does not run as root" in shown["reason"]


def test_a_root_host_with_app_users_off_says_so(tmp_path: Path) -> None:
    shown = app_identity(tmp_path, "blog", python=sys.executable, enabled=False)
    assert shown.isolated is False and shown.reason
    assert shown == own_identity(shown.reason)


def test_the_sandbox_sees_only_what_it_is_given(tmp_path: Path) -> None:
    bwrap = bwrap_works()
    if bwrap is None:
        pytest.skip("bubblewrap cannot make a sandbox here")
    mine, other = tmp_path / "mine", tmp_path / "other"
    for d in (mine, other):
        d.mkdir()
        (d / "file").write_text(d.name)
    paths = SandboxPaths(
        readable=(str(Path(sys.executable).parent.parent),), writable=(str(mine),), chdir=str(mine)
    )
    prefix = sandbox_argv(bwrap, paths, new_session=True)
    code = (
        "import os, json; print(json.dumps([os.path.exists(p) for p in "
        f"({str(mine / 'file')!r}, {str(other)!r}, '/root', {str(Path.home())!r})]))"
    )
    done = subprocess.run(
        [*prefix, "/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen[0] is True and seen[1] is False


def _launch(tmp_path: Path) -> LaunchSpec:
    app = tmp_path / "apps" / "blog"
    return LaunchSpec(
        name="blog", version="1.0", release="1.0-0123456789ab", root=str(app / "releases" / "1.0-01234567"),
        python=sys.executable, sys_path=(), variables={}, config_file=str(app / "app-config.yaml"),
        data_path=str(app / "data"), tmp_path=str(app / "tmp"), log_path=str(app / "logs"),
        run_path=str(app / "run"),
    )  # fmt: skip


def test_the_systemd_export_is_hardened_and_systemd_accepts_it(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is not installed: ./dev test installs Debian's systemd package")
    layout = HostLayout(tmp_path)
    launch = _launch(tmp_path)
    walls = AppWalls(
        app=layout.app("blog"), confinement="none", limits=Limits(memory=1 << 30, nofile=2048, cpu_weight=50),
        identity=AppIdentity(user="pyapp-blog", group="pyapp-blog", uid=64000, gid=64000, isolated=True),
    )  # fmt: skip
    spec = ProcessSpec(
        app="blog", name="web-0", argv=(sys.executable, "-m", "http.server"), cwd=launch.data_path,
        stdout_log=str(tmp_path / "web.log"),
    )  # fmt: skip
    walled = walls.supervised(spec, launch, sockets=tmp_path / "apps" / "blog" / "sockets")
    units = export_systemd([walled])
    text = units["pyapp-blog@web-0.service"]
    if os.geteuid() == 0:
        assert "User=pyapp-blog" in text and "Group=pyapp-blog" in text
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "MemoryMax=1073741824",
                 "LimitNOFILE=2048", "CPUWeight=50", f"ReadWritePaths=-{launch.data_path} "):  # fmt: skip
        assert line in text, line
    units_dir = tmp_path / "units"
    units_dir.mkdir()
    for name, unit in units.items():
        (units_dir / name).write_text(unit)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in units_dir.iterdir())],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    ours = [line for line in (done.stdout + done.stderr).splitlines() if str(units_dir) in line]
    assert done.returncode == 0 and ours == [], done.stdout + done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root makes users")
def test_a_user_is_the_app_of_one_host_until_that_host_no_longer_has_it(tmp_path: Path) -> None:
    from pyapp_runtime.errors import HostError
    from pyapp_runtime.isolation.identity import ensure_user, remove_user

    first, second = tmp_path / "first", tmp_path / "second"
    (first / "apps" / "walls-unit").mkdir(parents=True)
    wanted = AppIdentity(user="pyapp-walls-unit", group="pyapp-walls-unit", uid=-1, gid=-1, isolated=True)
    made = ensure_user(wanted, "walls-unit", first)
    try:
        assert made.uid > 0 and made.user == "pyapp-walls-unit"
        assert ensure_user(wanted, "walls-unit", first) == made  # the same, again
        with pytest.raises(HostError, match="is the app of another host"):
            ensure_user(wanted, "walls-unit", second)
        assert not remove_user("walls-unit", second)  # nor does the other host remove it
        (first / "apps" / "walls-unit").rmdir()  # the first host no longer has the app
        assert ensure_user(wanted, "walls-unit", second).uid == made.uid
    finally:
        remove_user("walls-unit", second) or remove_user("walls-unit", first)
    with pytest.raises(KeyError):
        import pwd

        pwd.getpwnam("pyapp-walls-unit")
