"""``pyapp keygen``, ``pyapp-build --sign`` and ``pyapp verify``: an author's key, a signed build, and what
a verifier refuses (spec section 2.6). The real command lines, in subprocesses."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from signkit import sign_package

from apppackage.record import parse_record
from apppackage.signing import load_signing_key, sign_record

Cli = Callable[..., Any]


@pytest.fixture
def author_key(tmp_path: Path, cli: Cli) -> tuple[Path, str]:
    """A key made with ``pyapp keygen``, and its fingerprint."""
    (tmp_path / "keys").mkdir()
    made = cli("pyapp", "keygen", tmp_path / "keys" / "author.key", "--json", check=True)
    return tmp_path / "keys" / "author.key", json.loads(made.stdout)["fingerprint"]


@pytest.fixture
def signed_hello(repo_root: Path, tmp_path: Path, cli: Cli, author_key: tuple[Path, str]) -> Path:
    built = cli("pyapp-build", repo_root / "examples/hello", "-o", tmp_path / "dist", "--sign", author_key[0],
                "--json", check=True)  # fmt: skip
    return Path(json.loads(built.stdout)["path"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_keygen_makes_a_key_pair_and_never_overwrites_it(tmp_path: Path, cli: Cli) -> None:
    key = tmp_path / "author.key"
    made = cli("pyapp", "keygen", key)
    assert made.returncode == 0, made.stderr
    fingerprint = made.stdout.split("fingerprint: ")[1].strip()
    assert fingerprint.startswith("SHA256:") and len(fingerprint) == 7 + 43
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "author.key.pub").stat().st_mode) == 0o644
    # The secret is never printed.
    secret = key.read_text()
    assert "PRIVATE KEY" not in made.stdout + made.stderr
    assert not any(line in made.stdout for line in secret.splitlines()[1:-1])
    again = cli("pyapp", "keygen", key)
    assert again.returncode == 1
    assert f"Error: {key} already exists: a key file is never overwritten" in again.stderr
    assert key.read_text() == secret


def test_a_signed_build_verifies_and_shows_its_fingerprint(
    signed_hello: Path, cli: Cli, author_key: tuple[Path, str]
) -> None:
    key, fingerprint = author_key
    with zipfile.ZipFile(signed_hello) as zf:
        names = zf.namelist()
        record, _ = parse_record(zf.read("RECORD").decode())
    assert names[-2:] == ["RECORD", "RECORD.sig"] and "RECORD.sig" not in record
    ok = cli("pyapp", "verify", signed_hello)
    assert ok.returncode == 0, ok.stderr
    assert f"all 8 files match RECORD; signed by {fingerprint}" in ok.stdout
    for expected in (f"{key}.pub", fingerprint):
        assert cli("pyapp", "verify", signed_hello, "--key", expected).returncode == 0
    data = json.loads(cli("pyapp", "verify", signed_hello, "--json").stdout)
    assert (data["ok"], data["signer"], data["problems"]) == (True, fingerprint, [])


def test_signed_builds_stay_byte_identical(
    repo_root: Path, tmp_path: Path, cli: Cli, signed_hello: Path, author_key: tuple[Path, str]
) -> None:
    hello = repo_root / "examples/hello"
    again = cli("pyapp-build", hello, "-o", tmp_path / "again", "--sign", author_key[0], "--json", check=True)
    assert sha256(Path(json.loads(again.stdout)["path"])) == sha256(signed_hello)
    unsigned = cli("pyapp-build", hello, "-o", tmp_path / "plain", "--json", check=True)
    plain = Path(json.loads(unsigned.stdout)["path"])
    assert json.loads(unsigned.stdout)["signer"] is None
    with zipfile.ZipFile(plain) as a, zipfile.ZipFile(signed_hello) as b:
        # Signing adds RECORD.sig and changes nothing else.
        assert {i.filename: a.read(i) for i in a.infolist()} == {
            i.filename: b.read(i) for i in b.infolist() if i.filename != "RECORD.sig"
        }


def test_a_key_that_cannot_sign_fails_the_build_before_any_work(
    repo_root: Path, tmp_path: Path, cli: Cli, author_key: tuple[Path, str]
) -> None:
    hello, out = repo_root / "examples/hello", tmp_path / "out"
    public = cli("pyapp-build", hello, "-o", out, "--sign", f"{author_key[0]}.pub")
    assert public.returncode == 1
    assert "author.key.pub: is a public key; signing needs the private key" in public.stderr
    missing = cli("pyapp-build", hello, "-o", out, "--sign", tmp_path / "no.key")
    assert missing.returncode == 1
    assert "no.key: there is no such signing key file; make one with: pyapp keygen" in missing.stderr
    assert not (tmp_path / "out").exists()


def test_verify_refuses_a_tampered_file(signed_hello: Path, tmp_path: Path, cli: Cli) -> None:
    tampered = tmp_path / "tampered.pyapp"
    with zipfile.ZipFile(signed_hello) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "src/hello/app.py":
                data = data.replace(b"Visit number", b"Visit Number", 1)
            dst.writestr(info, data)
    bad = cli("pyapp", "verify", tampered)
    assert bad.returncode == 1
    assert "src/hello/app.py: sha256 does not match RECORD" in bad.stderr


def test_verify_refuses_a_signature_swapped_in_from_another_key(
    signed_hello: Path, tmp_path: Path, cli: Cli, author_key: tuple[Path, str]
) -> None:
    (tmp_path / "mallory").mkdir()
    mallory = tmp_path / "mallory" / "m.key"
    cli("pyapp", "keygen", mallory, check=True)
    # Another key's RECORD.sig, made for another package's RECORD: it does not verify.
    foreign = sign_record(b"other.txt,sha256=x,1\nRECORD,,\n", load_signing_key(mallory))
    swapped = sign_package(signed_hello, mallory, tmp_path / "swapped.pyapp", signature=foreign)
    bad = cli("pyapp", "verify", swapped)
    assert bad.returncode == 1
    assert "RECORD.sig:/signature: does not match RECORD" in bad.stderr
    # Re-signed whole by another key, it verifies, but not as the author's package.
    resigned = sign_package(signed_hello, mallory, tmp_path / "resigned.pyapp")
    assert cli("pyapp", "verify", resigned).returncode == 0
    refused = cli("pyapp", "verify", resigned, "--key", f"{author_key[0]}.pub")
    assert refused.returncode == 1
    assert f"not by the expected key {author_key[1]}" in refused.stderr


def test_verify_refuses_a_corrupt_signature_and_says_unsigned(
    signed_hello: Path, tmp_path: Path, cli: Cli, author_key: tuple[Path, str], repo_root: Path
) -> None:
    with zipfile.ZipFile(signed_hello) as zf:
        document = json.loads(zf.read("RECORD.sig"))
    signature = document["signature"]
    document["signature"] = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    corrupt = sign_package(signed_hello, author_key[0], tmp_path / "corrupt.pyapp",
                           signature=json.dumps(document).encode())  # fmt: skip
    bad = cli("pyapp", "verify", corrupt, "--json")
    assert bad.returncode == 1
    (problem,) = json.loads(bad.stdout)["problems"]
    assert problem["file"] == "RECORD.sig" and "does not match RECORD" in problem["message"]
    hello = repo_root / "examples/hello"
    plain = cli("pyapp-build", hello, "-o", tmp_path / "plain", check=True).stdout.strip()
    unsigned = cli("pyapp", "verify", plain)
    assert unsigned.returncode == 0 and "not signed (no RECORD.sig)" in unsigned.stdout
    expected = cli("pyapp", "verify", plain, "--key", author_key[1])
    assert expected.returncode == 1
    assert "the package is not signed, not by the expected key" in expected.stderr
