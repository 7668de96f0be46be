"""What is checked before anything is installed: the RECORD, the requirements, the archive."""

from __future__ import annotations

import platform
import shutil
import sys
import zipfile

import pytest
from pyapp_runtime import Host, RequirementsNotMet

from apppackage import IntegrityError, UnsafeArchive


def tamper(package, member: str, tmp_path):
    """A copy of *package* with one member's bytes changed (the RECORD left as it was)."""
    out = tmp_path / f"tampered-{package.name}"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == member:
                data += b"\n# injected\n"
            dst.writestr(info, data)
    return out


def test_a_tampered_package_is_refused_naming_the_file(home, factory, tmp_path, app_snapshot):
    host = Host(home)
    package = factory.probe("1.0.0")
    with pytest.raises(IntegrityError) as info:
        host.install(tamper(package, "src/probe/__init__.py", tmp_path))
    assert "src/probe/__init__.py: size" in str(info.value) and "does not match its RECORD" in str(info.value)
    assert not (home / "apps" / "probe").exists()
    # On an update, the installed release stays as it was.
    host.install(package)
    before = app_snapshot(home)
    with pytest.raises(IntegrityError, match=r"metadata\.yaml"):
        host.install(tamper(factory.probe("2.0.0"), "metadata.yaml", tmp_path))
    assert app_snapshot(home) == before


def test_a_file_added_to_the_archive_is_refused(home, factory, tmp_path):
    package = factory.probe("1.0.0")
    out = tmp_path / "extra.pyapp"
    shutil.copy(package, out)
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr("src/probe/backdoor.py", "x = 1\n")
    with pytest.raises(IntegrityError, match=r"src/probe/backdoor\.py: is not listed in RECORD"):
        Host(home).install(out)


def test_an_unsafe_archive_is_refused_before_anything_is_written(home, factory, tmp_path):
    out = tmp_path / "evil.pyapp"
    shutil.copy(factory.probe("1.0.0"), out)
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr("../escape.py", "x = 1\n")
    with pytest.raises(UnsafeArchive, match=r"'\.\.'"):
        Host(home).install(out)
    assert not (home / "apps").exists() or not any((home / "apps").iterdir())


def test_a_python_version_not_satisfied_is_refused(home, factory):
    package = factory.probe(metadata={"requires": {"python": "<3.0"}})
    with pytest.raises(RequirementsNotMet) as info:
        Host(home).install(package)
    assert f"requires Python <3.0, but this host runs Python {platform.python_version()}" in str(info.value)
    assert not (home / "apps" / "probe").exists()


def test_another_operating_system_is_refused(home, factory):
    package = factory.probe(metadata={"requires": {"os": ["plan9"]}})
    with pytest.raises(RequirementsNotMet, match="operating systems plan9"):
        Host(home).install(package)


MISSING = {
    "deb": ["pyapp-test-no-such-package", "pyapp-test-no-such-library"],
    "external": ["no-such-tool-x"],
    "python": "<3.0",
}


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a Debian system (dpkg-query)")
def test_requirements_not_met_refuse_the_install_naming_each_and_how_to_get_it(home, factory):
    """Spec section 3.3: the host refuses, naming every requirement not met -- not only the first."""
    package = factory.probe(metadata={"requires": MISSING})
    for strict in (False, True):  # --strict is still accepted; it changes nothing now
        with pytest.raises(RequirementsNotMet) as info:
            Host(home).install(package, strict=strict)
        message = str(info.value)
        assert info.value.reasons == (
            f"requires Python <3.0, but this host runs Python {platform.python_version()}"
            f" ({sys.executable}); install with a matching interpreter",
            "deb package pyapp-test-no-such-package is not installed: install it with"
            " `apt-get install -y pyapp-test-no-such-package`",
            "deb package pyapp-test-no-such-library is not installed: install it with"
            " `apt-get install -y pyapp-test-no-such-library`",
            "program no-such-tool-x is not found on PATH: install what provides it,"
            " or put its directory on PATH",
        )
        assert (
            "all at once: apt-get install -y pyapp-test-no-such-package pyapp-test-no-such-library" in message
        )
        assert "--ignore-requirements" in message
        assert not (home / "apps" / "probe").exists()


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a Debian system (dpkg-query)")
def test_ignore_requirements_installs_anyway_and_says_what_is_missing(home, factory):
    package = factory.probe(metadata={"requires": MISSING})
    result = Host(home).install(package, ignore_requirements=True)
    assert result.action == "installed"
    assert any("requires Python <3.0" in w for w in result.warnings)
    assert any("`apt-get install -y pyapp-test-no-such-library`" in w for w in result.warnings)
    hints = {h.kind: h for h in result.hints}
    assert hints["deb"].command == "apt-get install -y pyapp-test-no-such-package pyapp-test-no-such-library"
    assert hints["external"].missing == ("no-such-tool-x",)


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a Debian system (dpkg-query)")
def test_the_command_line_refuses_too_and_has_the_override(home, factory, pyapp_cli):
    package = factory.probe(metadata={"requires": {"deb": ["pyapp-test-no-such-package"]}})
    refused = pyapp_cli("install", package, home=home)
    assert refused.returncode == 1
    assert "deb package pyapp-test-no-such-package is not installed" in refused.stderr
    assert "apt-get install -y pyapp-test-no-such-package" in refused.stderr
    assert "Traceback" not in refused.stderr
    installed = pyapp_cli("install", package, "--ignore-requirements", home=home)
    assert installed.returncode == 0, installed.stderr
    assert "requirement not met, installed anyway: deb package pyapp-test-no-such-package" in installed.stderr


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a Debian system (dpkg-query)")
def test_what_a_debian_host_cannot_check_is_said_and_inspect_agrees(home, factory, tmp_path):
    """An RPM package cannot be checked on a Debian host: the install says so, as ``pyapp inspect`` does."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    requires = {"rpm": ["postgresql-server"], "os": ["unix"], "deb": ["dpkg"]}
    package = factory.probe(metadata={"requires": requires})
    result = Host(home).install(package, strict=True)  # nothing missing: strict passes
    assert result.unchecked == ("rpm postgresql-server (this system's packages are Debian's)",)
    assert result.hints == ()
    pyapp = Path(sys.executable).with_name("pyapp")
    shown = subprocess.run([pyapp, "inspect", package, "--json"], capture_output=True, text=True, check=True)
    got = {(r["kind"], r["requirement"]): r["satisfied"] for r in json.loads(shown.stdout)["requirements"]}
    assert got == {("os", "unix"): "yes", ("deb", "dpkg"): "yes", ("rpm", "postgresql-server"): "unknown"}


def test_an_app_name_the_host_reserves_is_refused(home, factory):
    from pyapp_runtime import HostError

    with pytest.raises(HostError, match="reserves"):
        Host(home).install(factory.probe(name="probe.lock"))
