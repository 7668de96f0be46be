"""Signed packages (spec section 2.6): key files, RECORD.sig, and what a reader refuses."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from apppackage import AppPackage, IntegrityError, KeyFileError
from apppackage.record import hash_bytes
from apppackage.signing import (
    CONTEXT,
    Signature,
    expected_fingerprint,
    fingerprint,
    generate_key,
    load_public_key,
    load_signing_key,
    sign_record,
    verify_signature,
)


@pytest.fixture
def key(tmp_path: Path) -> Path:
    generate_key(tmp_path / "author.key")
    return tmp_path / "author.key"


def sign(package: Path, key: Path) -> Path:
    """Write RECORD.sig into the directory package *package*, signed with *key*."""
    record = (package / "RECORD").read_bytes()
    (package / "RECORD.sig").write_bytes(sign_record(record, load_signing_key(key)))
    return package


def test_keygen_writes_a_private_pkcs8_key_0600_and_a_one_line_public_key(tmp_path: Path) -> None:
    pair = generate_key(tmp_path / "author.key")
    private, public = tmp_path / "author.key", tmp_path / "author.key.pub"
    assert (pair.private, pair.public) == (private, public)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    loaded = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(loaded, ed25519.Ed25519PrivateKey)
    raw = loaded.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    (line,) = public.read_text().splitlines()
    assert line == f"ed25519 {base64.b64encode(raw).decode()} author.key"
    # The fingerprint is OpenSSH's form over the raw 32-byte key.
    digest = base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    assert pair.fingerprint == fingerprint(raw) == f"SHA256:{digest}"
    assert load_signing_key(private).fingerprint == pair.fingerprint
    assert fingerprint(load_public_key(public)) == pair.fingerprint
    shown = repr(load_signing_key(private))
    assert "PRIVATE" not in shown and pair.fingerprint in shown


def test_keygen_never_overwrites_a_key(tmp_path: Path, key: Path) -> None:
    before = key.read_bytes()
    with pytest.raises(KeyFileError, match=r"author\.key already exists: a key file is never overwritten"):
        generate_key(key)
    assert key.read_bytes() == before
    (tmp_path / "other.key.pub").write_text("someone's public key\n")
    with pytest.raises(KeyFileError, match=r"other\.key\.pub already exists"):
        generate_key(tmp_path / "other.key")
    assert not (tmp_path / "other.key").exists()


def test_key_files_that_cannot_sign_are_refused_naming_the_file(tmp_path: Path, key: Path) -> None:
    with pytest.raises(KeyFileError, match=r"missing\.key: there is no such signing key file; make one with"):
        load_signing_key(tmp_path / "missing.key")
    with pytest.raises(
        KeyFileError, match=r"author\.key\.pub: is a public key; signing needs the private key"
    ):
        load_signing_key(tmp_path / "author.key.pub")
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key\n")
    with pytest.raises(KeyFileError, match=r"garbage\.key: is not a PEM private key"):
        load_signing_key(garbage)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(KeyFileError, match=r"encrypted\.key: the private key is encrypted"):
        load_signing_key(encrypted)
    ecdsa = tmp_path / "ecdsa.key"
    ecdsa.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(KeyFileError, match=r"ecdsa\.key: holds a .*ed25519 keys only"):
        load_signing_key(ecdsa)
    # A verifier is given the public key; the private one is refused without being echoed.
    with pytest.raises(KeyFileError, match=r"author\.key: is a private key; give its public key") as info:
        load_public_key(key)
    assert "BEGIN" not in str(info.value)
    with pytest.raises(KeyFileError, match="is not a key fingerprint"):
        expected_fingerprint("SHA256:short", "--key")


def test_a_pem_public_key_is_read_too(tmp_path: Path, key: Path) -> None:
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    pem = tmp_path / "author.pem"
    pem.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert expected_fingerprint(str(pem)) == load_signing_key(key).fingerprint


def test_signatures_are_deterministic_over_the_context_and_record(key: Path) -> None:
    signing_key = load_signing_key(key)
    record = b"a.txt,sha256=abc,1\nRECORD,,\n"
    first, second = sign_record(record, signing_key), sign_record(record, signing_key)
    assert first == second and first.endswith(b"}\n") and first.count(b"\n") == 1
    document = json.loads(first)
    assert list(document) == ["version", "algorithm", "public_key", "signature"]
    assert document["version"] == 1 and document["algorithm"] == "ed25519"
    public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_key"]))
    public.verify(base64.b64decode(document["signature"]), CONTEXT + record)  # raises when wrong
    assert verify_signature(record, first) == signing_key.fingerprint


def test_a_signed_package_names_its_signer_and_verifies(
    tmp_path: Path, key: Path, demo_dir: Path, zip_factory: Callable[[Path, Path], Path]
) -> None:
    sign(demo_dir, key)
    expected = load_signing_key(key).fingerprint
    with AppPackage(demo_dir) as package:
        assert package.signer() == expected
        assert package.verify() == []
        assert package.verify(signer=expected) == []
    with AppPackage(zip_factory(demo_dir, tmp_path / "demo.pyapp")) as package:
        assert package.signer() == expected
        assert package.verify() == []


def test_an_unsigned_package_has_no_signer(demo_dir: Path, key: Path) -> None:
    with AppPackage(demo_dir) as package:
        assert package.signer() is None
        assert package.verify() == []
        (problem,) = package.verify(signer=load_signing_key(key).fingerprint)
    assert problem.file == "RECORD.sig"
    assert "the package is not signed, not by the expected key" in str(problem)


def test_a_changed_file_fails_verification_though_the_signature_of_record_holds(
    demo_dir: Path, key: Path
) -> None:
    sign(demo_dir, key)
    (demo_dir / "src" / "demo" / "web.py").write_text("changed = True\n")
    with AppPackage(demo_dir) as package:
        assert package.signer() == load_signing_key(key).fingerprint
        (problem,) = package.verify()
    assert problem.file == "src/demo/web.py" and "does not match RECORD" in problem.message


def test_a_record_changed_after_signing_is_refused(demo_dir: Path, key: Path) -> None:
    sign(demo_dir, key)
    web = demo_dir / "src" / "demo" / "web.py"
    web.write_text("evil = True\n")
    row = f"src/demo/web.py,{hash_bytes(web.read_bytes())},{web.stat().st_size}"
    lines = (demo_dir / "RECORD").read_text().splitlines()
    lines = [row if line.startswith("src/demo/web.py,") else line for line in lines]
    (demo_dir / "RECORD").write_text("\n".join(lines) + "\n")
    with AppPackage(demo_dir) as package:
        with pytest.raises(IntegrityError, match=r"RECORD\.sig:/signature: does not match RECORD") as info:
            package.signer()
        assert [p.file for p in package.verify()] == ["RECORD.sig"]
    assert "get the package again from its author" in str(info.value)


def test_a_signature_taken_from_another_package_is_refused(
    tmp_path: Path, demo_dir: Path, key: Path, package_factory: Callable[..., Path]
) -> None:
    other_key = tmp_path / "other.key"
    generate_key(other_key)
    other = sign(package_factory(tmp_path / "other", files={"extra.txt": "x"}), other_key)
    (demo_dir / "RECORD.sig").write_bytes((other / "RECORD.sig").read_bytes())
    with AppPackage(demo_dir) as package, pytest.raises(IntegrityError) as info:
        package.signer()
    assert info.value.problems[0].file == "RECORD.sig"
    assert f"signed by {load_signing_key(other_key).fingerprint}" in str(info.value)


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"not json", "RECORD.sig: is not JSON"),
        (b"[]", "RECORD.sig: is not a JSON object"),
        (b'{"version": 1, "algorithm": "rsa"}', "RECORD.sig:/algorithm: must be 'ed25519' (found 'rsa')"),
        (b'{"version": true}', "RECORD.sig:/version: must be 1 (found True)"),
        (b"x" * 5000, "RECORD.sig: is 5000 bytes"),
    ],
)
def test_a_malformed_signature_is_refused_saying_what_is_wrong(
    demo_dir: Path, key: Path, content: bytes, where: str
) -> None:
    (demo_dir / "RECORD.sig").write_bytes(content)
    with (
        AppPackage(demo_dir) as package,
        pytest.raises(IntegrityError, match="not a valid signature") as info,
    ):
        package.signer()
    assert where in str(info.value)


def test_a_corrupt_signature_is_refused(demo_dir: Path, key: Path) -> None:
    sign(demo_dir, key)
    document = json.loads((demo_dir / "RECORD.sig").read_bytes())
    raw = bytearray(base64.b64decode(document["signature"]))
    raw[0] ^= 0xFF
    document["signature"] = base64.b64encode(bytes(raw)).decode()
    (demo_dir / "RECORD.sig").write_text(json.dumps(document))
    with AppPackage(demo_dir) as package, pytest.raises(IntegrityError, match="does not match RECORD"):
        package.signer()
    extra = Signature.parse((demo_dir / "RECORD.sig").read_bytes())
    assert extra.fingerprint == load_signing_key(key).fingerprint


def test_record_must_not_list_its_signature(demo_dir: Path, key: Path) -> None:
    sign(demo_dir, key)
    record = (demo_dir / "RECORD").read_text().replace("RECORD,,\n", "RECORD.sig,sha256=abc,3\nRECORD,,\n")
    (demo_dir / "RECORD").write_text(record)
    with AppPackage(demo_dir) as package:
        messages = [str(p) for p in package.validate()]
    assert any("RECORD.sig signs RECORD and must not be listed in it" in m for m in messages)


def test_importing_apppackage_and_reading_an_unsigned_package_do_not_load_cryptography(
    demo_dir: Path,
) -> None:
    import subprocess
    import sys

    code = (
        "import sys, apppackage\n"
        f"p = apppackage.AppPackage({str(demo_dir)!r})\n"
        "assert p.signer() is None and p.verify() == []\n"
        "print('cryptography' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "False"


def test_a_signed_zip_reads_record_sig_from_the_archive(tmp_path: Path, key: Path, demo_dir: Path) -> None:
    sign(demo_dir, key)
    target = tmp_path / "demo.pyapp"
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(p for p in demo_dir.rglob("*") if p.is_file()):
            data = path.read_bytes()
            if path.name == "RECORD.sig":
                data = data.replace(b'"version": 1', b'"version": 2')
            zf.writestr(path.relative_to(demo_dir).as_posix(), data)
    with AppPackage(target) as package:
        assert [str(p) for p in package.verify()] == ["RECORD.sig:/version: must be 1 (found 2)"]
