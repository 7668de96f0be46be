"""The host pins the key an app was first installed with (spec section 2.6), through the library and
``pyapp``: a real host in a temporary directory, real keys, real signed packages."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host, InstallHookFailed, UntrustedSigner
from pyapp_runtime.errors import HostError
from signkit import make_key, sign_package

from apppackage import IntegrityError


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Two authors' keys: ``a`` (the app's) and ``b`` (another's)."""
    return {"a": make_key(tmp_path / "keys", "a.key"), "b": make_key(tmp_path / "keys", "b.key")}


def signed(factory: Any, version: str, key: tuple[Path, str]) -> Path:
    return sign_package(factory.probe(version), key[0])


def pin_of(home: Path, app: str = "probe") -> dict[str, Any]:
    return dict(json.loads((home / "apps" / app / "signer.json").read_text()))


def test_install_pins_the_signer_and_every_record_names_it(home: Path, factory: Any, keys: Any) -> None:
    host = Host(home)
    fingerprint = keys["a"][1]
    result = host.install(signed(factory, "1.0.0", keys["a"]))
    assert (result.action, result.signer, result.repinned_from) == ("installed", fingerprint, None)
    assert result.to_dict()["signer"] == fingerprint
    pin = pin_of(home)
    assert pin["signer"] == fingerprint and pin["release"] == result.release
    # Written by the host, readable and writable by nobody else (the app's code cannot re-pin it).
    assert stat.S_IMODE((home / "apps" / "probe" / "signer.json").stat().st_mode) == 0o600
    assert host.show("probe").signer == fingerprint
    (release,) = host.releases("probe")
    assert release.release.signer == fingerprint and release.to_dict()["signer"] == fingerprint
    # The release keeps RECORD.sig: a verification of the release checks RECORD against it too.
    assert host.verify("probe") == []
    record = Path(result.path) / "RECORD"
    record.write_text(record.read_text().replace("RECORD,,", "src/probe/evil.py,sha256=x,1\nRECORD,,"))
    assert "RECORD.sig" in [p.file for p in host.verify("probe")]


def test_an_unsigned_install_pins_no_key(home: Path, factory: Any) -> None:
    host = Host(home)
    result = host.install(factory.probe("1.0.0"))
    assert result.signer is None and pin_of(home)["signer"] is None
    assert host.show("probe").signer is None


def test_an_update_signed_by_another_key_is_refused_until_the_operator_repins_it(
    home: Path, factory: Any, keys: Any, app_snapshot: Any, read_hook_log: Any
) -> None:
    host = Host(home)
    host.install(signed(factory, "1.0.0", keys["a"]))
    before = app_snapshot(home)
    foreign = signed(factory, "1.1.0", keys["b"])
    with pytest.raises(UntrustedSigner) as info:
        host.install(foreign)
    message = str(info.value)
    # Both keys, where the pin came from, and the explicit way to re-pin.
    assert f"probe-1.1.0-signed.pyapp is signed by {keys['b'][1]}" in message
    assert f"probe is pinned to the key {keys['a'][1]} (since release 1.0.0-" in message
    assert (
        "nothing was changed" in message
        and f"--trust-key (trust_key in the management server's API): {keys['b'][1]}" in message
    )
    assert (info.value.signer, info.value.pinned) == (keys["b"][1], keys["a"][1])
    # The previous release is untouched: still current, no new release, no hook of 1.1.0 ran.
    assert app_snapshot(home) == before
    assert all(entry["version"] == "1.0.0" for entry in read_hook_log(home))
    assert host.run_command("probe", "probe", capture=True).returncode == 0
    assert host.release("probe").version == "1.0.0"

    result = host.install(foreign, trust_key=keys["b"][1])
    assert (result.action, result.signer, result.repinned_from) == ("updated", keys["b"][1], keys["a"][1])
    assert pin_of(home)["signer"] == keys["b"][1] and pin_of(home)["release"] == result.release
    # The pin moved: the old key is now the foreign one.
    with pytest.raises(UntrustedSigner, match=re.escape(f"is signed by {keys['a'][1]}")):
        host.install(signed(factory, "1.2.0", keys["a"]))
    assert host.install(signed(factory, "1.2.0", keys["b"])).action == "updated"


def test_an_unsigned_update_after_a_signed_release_is_refused_unless_accepted_as_unsigned(
    home: Path, factory: Any, keys: Any, app_snapshot: Any
) -> None:
    host = Host(home)
    host.install(signed(factory, "1.0.0", keys["a"]))
    before = app_snapshot(home)
    unsigned = factory.probe("1.1.0")
    with pytest.raises(UntrustedSigner) as info:
        host.install(unsigned)
    assert f"probe-1.1.0.pyapp is not signed, but probe is pinned to the key {keys['a'][1]}" in str(
        info.value
    )
    assert "ask its author for a package signed with that key" in str(info.value)
    assert "(trust_key in the management server's API): unsigned" in str(info.value)
    assert app_snapshot(home) == before

    result = host.install(unsigned, trust_key="unsigned")
    assert (result.signer, result.repinned_from) == (None, keys["a"][1])
    assert pin_of(home)["signer"] is None
    # Unsigned from now on: the next signed package pins its key (any key: the app trusted none).
    later = host.install(signed(factory, "1.2.0", keys["b"]))
    assert (later.signer, later.repinned_from) == (keys["b"][1], "unsigned")
    assert pin_of(home)["signer"] == keys["b"][1]


def test_a_trust_key_must_name_the_package_s_signer(home: Path, factory: Any, keys: Any) -> None:
    host = Host(home)
    package = signed(factory, "1.0.0", keys["a"])
    with pytest.raises(UntrustedSigner, match=re.escape(f"to trust that was named ({keys['b'][1]})")):
        host.install(package, trust_key=keys["b"][1])
    assert not host.is_installed("probe") and not (home / "apps" / "probe").exists()
    with pytest.raises(
        UntrustedSigner, match=r"is signed by .*not by the key to trust that was named \(unsigned\)"
    ):
        host.install(package, trust_key="unsigned")
    with pytest.raises(HostError, match="'SHA256:nope': expected the fingerprint of the key"):
        host.install(package, trust_key="SHA256:nope")
    # A first install may name the key the operator was told of: it is then checked.
    assert host.install(package, trust_key=keys["a"][1]).signer == keys["a"][1]


def test_a_tampered_or_badly_signed_package_is_always_refused(
    home: Path, factory: Any, keys: Any, app_snapshot: Any, tmp_path: Path
) -> None:
    host = Host(home)
    host.install(signed(factory, "1.0.0", keys["a"]))
    before = app_snapshot(home)
    # A signature that belongs to another package (made by the pinned key itself).
    other = signed(factory, "1.0.1", keys["a"])
    stolen = sign_package(factory.probe("1.1.0"), keys["a"][0], tmp_path / "stolen.pyapp",
                          signature=_member(other, "RECORD.sig"))  # fmt: skip
    for trust_key in (None, keys["a"][1]):
        with pytest.raises(IntegrityError, match=r"RECORD\.sig:/signature: does not match RECORD"):
            host.install(stolen, trust_key=trust_key)
    # A file changed after the package was signed: RECORD's signature holds, the file does not match it.
    tampered = _rewrite(signed(factory, "1.1.0", keys["a"]), tmp_path / "tampered.pyapp",
                        "src/probe/__init__.py", b"print('evil')\n")  # fmt: skip
    with pytest.raises(IntegrityError, match=r"src/probe/__init__\.py"):
        host.install(tampered)
    assert app_snapshot(home) == before
    assert pin_of(home)["signer"] == keys["a"][1]


def test_a_failed_re_pinning_update_leaves_the_old_pin(home: Path, factory: Any, keys: Any) -> None:
    host = Host(home)
    host.install(signed(factory, "1.0.0", keys["a"]))
    (home / "apps" / "probe" / "data" / "fail-post-update-1.1.0").write_text("")
    with pytest.raises(InstallHookFailed):
        host.install(signed(factory, "1.1.0", keys["b"]), trust_key=keys["b"][1])
    assert pin_of(home)["signer"] == keys["a"][1]
    assert host.release("probe").version == "1.0.0"


def test_data_kept_by_a_removal_keeps_its_pin(home: Path, factory: Any, keys: Any) -> None:
    host = Host(home)
    host.install(signed(factory, "1.0.0", keys["a"]))
    host.remove("probe", keep_data=True)
    assert not host.is_installed("probe")
    with pytest.raises(UntrustedSigner, match="pinned to the key"):
        host.install(signed(factory, "1.0.0", keys["b"]))
    assert host.install(signed(factory, "1.0.0", keys["a"])).action == "installed"
    host.remove("probe")
    # Removed with its data, the app is new again: the next package pins its key.
    assert host.install(signed(factory, "1.0.0", keys["b"])).signer == keys["b"][1]


def test_a_damaged_pin_refuses_installs_saying_what_to_do(home: Path, factory: Any, keys: Any) -> None:
    host = Host(home)
    host.install(signed(factory, "1.0.0", keys["a"]))
    (home / "apps" / "probe" / "signer.json").write_text("{not json")
    with pytest.raises(
        HostError, match=r"signer\.json is damaged .*remove the file to pin the key of the next"
    ):
        host.install(signed(factory, "1.1.0", keys["a"]))


def test_pyapp_install_refuses_a_foreign_key_and_re_pins_with_trust_key(
    home: Path, factory: Any, keys: Any, pyapp_cli: Any
) -> None:
    first = pyapp_cli("install", signed(factory, "1.0.0", keys["a"]), home=home)
    assert first.returncode == 0, first.stderr
    assert f"signed by: {keys['a'][1]}" in first.stdout
    foreign = signed(factory, "1.1.0", keys["b"])
    refused = pyapp_cli("install", foreign, home=home)
    assert refused.returncode == 1
    assert (
        keys["a"][1] in refused.stderr and keys["b"][1] in refused.stderr and "--trust-key" in refused.stderr
    )
    accepted = pyapp_cli("install", foreign, "--trust-key", keys["b"][1], "--json", home=home)
    assert accepted.returncode == 0, accepted.stderr
    data = json.loads(accepted.stdout)
    assert (data["signer"], data["repinned_from"]) == (keys["b"][1], keys["a"][1])
    shown = pyapp_cli("show", "probe", home=home)
    assert f"signing key: {keys['b'][1]}" in shown.stdout
    assert "PRIVATE KEY" not in refused.stderr + accepted.stdout + shown.stdout


def _member(package: Path, name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(package) as zf:
        return zf.read(name)


def _rewrite(package: Path, out: Path, name: str, data: bytes) -> Path:
    """*package* with the file *name* replaced by *data*, RECORD and RECORD.sig left as they were."""
    import zipfile

    with zipfile.ZipFile(package) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, data if info.filename == name else src.read(info))
    return out
