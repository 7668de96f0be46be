"""Signed packages for the tests (spec section 2.6): a real key pair, and a built ``.pyapp`` signed with it.

Test modules ``from signkit import make_key, sign_package``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from apppackage.signing import generate_key, load_signing_key, sign_record

__all__ = ["make_key", "sign_package"]


def make_key(directory: Path, name: str = "author.key") -> tuple[Path, str]:
    """A new key pair in *directory* (``name`` and ``name.pub``): the private key file and its fingerprint."""
    directory.mkdir(parents=True, exist_ok=True)
    pair = generate_key(directory / name)
    return pair.private, pair.fingerprint


def sign_package(
    package: Path, key: Path, out: Path | None = None, *, signature: bytes | None = None
) -> Path:
    """*package* (a ``.pyapp``) with ``RECORD.sig`` made with *key* (or the bytes *signature*) added, as
    *out* (default: ``<stem>-signed.pyapp`` beside it); any ``RECORD.sig`` it had is replaced."""
    target = out or package.with_name(f"{package.stem}-signed.pyapp")
    with zipfile.ZipFile(package) as src:
        files = {i.filename: src.read(i) for i in src.infolist() if i.filename != "RECORD.sig"}
    if signature is None:
        signature = sign_record(files["RECORD"], load_signing_key(key))
    files["RECORD.sig"] = signature
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return target
