"""The two signing keys the cases name (spec section 2.6): ``a`` and ``b``.

``a`` is the key of RFC 8032's first Ed25519 test vector (section 7.1, TEST 1), the key of the
specification's own example; ``b`` that of its second (TEST 2). Both private keys are public, so
that a case can name the fingerprints a host must report; nothing signed with them is to be
trusted anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

__all__ = ["FINGERPRINTS", "SEEDS", "fingerprint", "sign", "write_private_key"]

SEEDS = {
    "a": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "b": "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
}
"""Each key's 32-byte private seed, in hex (RFC 8032)."""

FINGERPRINTS = {
    "a": "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk",
    "b": "SHA256:OfcT0KZEJT8EUpQhufUbmwiXnQgpWVnE85kO5hf1E58",
}
"""Each key's fingerprint (section 2.6), as a host reports it."""


def _private(name: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SEEDS[name]))


def _public(name: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    raw: bytes = (
        _private(name).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return raw


def fingerprint(name: str) -> str:
    """Key *name*'s fingerprint, computed (``SHA256:`` and the unpadded base64 of its digest)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(_public(name)).digest()).decode().rstrip("=")


def sign(record: bytes, name: str) -> bytes:
    """``RECORD.sig`` for the RECORD *record*, signed with key *name*, written as section 2.6 says."""
    from apppackage.signing import Signature

    message = b"pyapp-record-signature-v1\0" + record
    return Signature(public_key=_public(name), signature=_private(name).sign(message)).to_bytes()


def write_private_key(name: str, path: Path) -> Path:
    """Key *name* as a builder reads it (PEM PKCS#8, mode 0600) in *path*."""
    from cryptography.hazmat.primitives import serialization

    pem = _private(name).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    return path
