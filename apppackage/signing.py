"""Signed packages (spec section 2.6): a detached ed25519 signature over ``RECORD``, in ``RECORD.sig``.

``RECORD.sig`` is one line of JSON at the package's root, never listed in RECORD::

    {"version": 1, "algorithm": "ed25519", "public_key": "<base64>", "signature": "<base64>"}

The signature is over :data:`CONTEXT` followed by the exact bytes of ``RECORD``; since RECORD holds the
hash of every other file, it signs the whole package. A key is known by its fingerprint,
``SHA256:<base64 of the sha256 of the 32-byte public key, unpadded>`` (the form OpenSSH shows).

Key files: the private key is PEM PKCS#8 (``-----BEGIN PRIVATE KEY-----``, unencrypted), written 0600;
the public key is the one line ``ed25519 <base64 of the 32-byte key> <comment>`` in ``<key>.pub``.

``cryptography`` is imported only by the functions that make keys, sign or verify: ``import apppackage``
and reading an unsigned package never load it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._names import RECORD, RECORD_SIG
from .errors import AppPackageError, IntegrityError, KeyFileError, Problem

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "ALGORITHM",
    "CONTEXT",
    "PUBLIC_SUFFIX",
    "KeyPair",
    "Signature",
    "SigningKey",
    "expected_fingerprint",
    "fingerprint",
    "generate_key",
    "is_fingerprint",
    "load_public_key",
    "load_signing_key",
    "parse_fingerprint",
    "public_key_path",
    "sign_record",
    "verify_signature",
]

ALGORITHM = "ed25519"
VERSION = 1
CONTEXT = b"pyapp-record-signature-v1\x00"
"""What the signed message starts with, before RECORD's bytes: a signature made for anything else never
passes for a package's."""
PUBLIC_SUFFIX = ".pub"
_PUBLIC_LINE = "ed25519"
_MAX_SIG_SIZE = 4096
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
_KEYGEN = "make one with: pyapp keygen FILE"


def _crypto() -> Any:
    """The ed25519 module of ``cryptography``, or an error saying how to install it."""
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise AppPackageError(
            "signing and verifying packages needs the cryptography library: "
            "pip install cryptography (or apppackage[tools])"
        ) from None
    return ed25519


def fingerprint(public_key: bytes) -> str:
    """``SHA256:<base64>`` of the raw 32-byte ed25519 *public_key* (no padding), as OpenSSH shows keys."""
    digest = hashlib.sha256(public_key).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def is_fingerprint(text: str) -> bool:
    """Whether *text* has the form of a fingerprint (``SHA256:`` and 43 base64 characters)."""
    return bool(_FINGERPRINT.match(text))


def parse_fingerprint(text: str, where: str = "the fingerprint") -> str:
    """*text* as a fingerprint (spaces around it removed); :class:`KeyFileError` naming *where* otherwise."""
    value = text.strip()
    if not is_fingerprint(value):
        raise KeyFileError(
            f"{where}: {value!r} is not a key fingerprint: expected SHA256: and 43 base64 characters, "
            "as pyapp keygen and pyapp verify print it"
        )
    return value


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, length: int) -> bytes | None:
    """*text* decoded from base64 when it is a string of exactly *length* bytes, else ``None``."""
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    return raw if len(raw) == length else None


@dataclass(frozen=True, kw_only=True)
class Signature:
    """The content of ``RECORD.sig``: who signed (the public key) and the signature."""

    public_key: bytes
    signature: bytes
    algorithm: str = ALGORITHM

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def to_bytes(self) -> bytes:
        """``RECORD.sig`` as a builder writes it: one line of JSON, its members in a fixed order."""
        document = {
            "version": VERSION,
            "algorithm": self.algorithm,
            "public_key": _b64(self.public_key),
            "signature": _b64(self.signature),
        }
        return (json.dumps(document) + "\n").encode("ascii")

    @classmethod
    def parse(cls, data: bytes, file: str = RECORD_SIG) -> Signature:
        """Read ``RECORD.sig``; raise :class:`IntegrityError` listing every problem with it."""

        def problem(path: str, message: str) -> Problem:
            return Problem(file=file, path=path, message=message)

        summary = f"{file} is not a valid signature (section 2.6):"
        if len(data) > _MAX_SIG_SIZE:
            raise IntegrityError([problem("", f"is {len(data)} bytes (a signature is under 1 KiB)")], summary)
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise IntegrityError([problem("", f"is not JSON: {exc}")], summary) from None
        if not isinstance(document, dict):
            raise IntegrityError([problem("", "is not a JSON object")], summary)
        problems = []
        version = document.get("version")
        if type(version) is not int or version != VERSION:
            problems.append(problem("/version", f"must be {VERSION} (found {version!r})"))
        algorithm = document.get("algorithm")
        if algorithm != ALGORITHM:
            problems.append(problem("/algorithm", f"must be {ALGORITHM!r} (found {algorithm!r})"))
        public_key = _unb64(document.get("public_key"), 32)
        if public_key is None:
            problems.append(problem("/public_key", "must be the base64 of a 32-byte ed25519 public key"))
        signature = _unb64(document.get("signature"), 64)
        if signature is None:
            problems.append(problem("/signature", "must be the base64 of a 64-byte ed25519 signature"))
        for key in sorted(set(document) - {"version", "algorithm", "public_key", "signature"}):
            problems.append(problem(f"/{key}", "is not a member of a signature"))
        if problems or public_key is None or signature is None:
            raise IntegrityError(problems, summary)
        return cls(public_key=public_key, signature=signature)


@dataclass(frozen=True)
class SigningKey:
    """A private key loaded from *path* (:func:`load_signing_key`); its repr never shows the key."""

    path: Path
    public_key: bytes
    _private: Ed25519PrivateKey

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def __repr__(self) -> str:
        return f"SigningKey({str(self.path)!r}, {self.fingerprint})"

    def sign(self, message: bytes) -> bytes:
        signature: bytes = self._private.sign(message)
        return signature


@dataclass(frozen=True, kw_only=True)
class KeyPair:
    """The files :func:`generate_key` wrote, and the key's fingerprint."""

    private: Path
    public: Path
    fingerprint: str

    def to_dict(self) -> dict[str, str]:
        return {
            "private_key": str(self.private),
            "public_key": str(self.public),
            "fingerprint": self.fingerprint,
        }


def public_key_path(path: str | os.PathLike[str]) -> Path:
    """Where the public key of the private key file *path* goes: beside it, with ``.pub`` added."""
    p = Path(path)
    return p.with_name(p.name + PUBLIC_SUFFIX)


def _exists(path: Path) -> KeyFileError:
    return KeyFileError(
        f"{path} already exists: a key file is never overwritten; choose another name, or remove it first "
        "if you are sure nothing signs with it"
    )


def _create(path: Path, data: bytes, mode: int) -> None:
    """Write a new file *path* with *mode*; refuse one that exists (never overwrite a key)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create the key file: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), mode)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def generate_key(path: str | os.PathLike[str], comment: str | None = None) -> KeyPair:
    """Make an ed25519 key pair: the private key in *path* (PEM PKCS#8, mode 0600) and the public key
    in *path*``.pub`` (one line, mode 0644, ending with *comment*, by default the file's name).

    Refuses (:class:`KeyFileError`) when either file exists.
    """
    ed25519 = _crypto()
    from cryptography.hazmat.primitives import serialization

    private_path = Path(path)
    public_path = public_key_path(private_path)
    for existing in (private_path, public_path):
        if existing.exists() or existing.is_symlink():
            raise _exists(existing)
    if not private_path.parent.is_dir():
        raise KeyFileError(f"{private_path}: the directory {private_path.parent} does not exist")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    label = " ".join((comment if comment is not None else private_path.name).split())
    _create(private_path, pem, 0o600)
    try:
        _create(public_path, f"{_PUBLIC_LINE} {_b64(raw)} {label}".rstrip().encode("utf-8") + b"\n", 0o644)
    except BaseException:
        private_path.unlink(missing_ok=True)
        raise
    return KeyPair(private=private_path, public=public_path, fingerprint=fingerprint(raw))


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        hint = _KEYGEN + " (it writes the public key beside it, as FILE.pub)"
        raise KeyFileError(f"{path}: there is no such {what} file; {hint}") from None
    except IsADirectoryError:
        raise KeyFileError(f"{path}: is a directory, not a {what} file") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def load_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    """The ed25519 private key in the PEM PKCS#8 file *path*; :class:`KeyFileError` naming the file and
    what to do when it is missing, a public key, encrypted, or not an ed25519 key."""
    ed25519 = _crypto()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    key_path = Path(path)
    data = _read(key_path, "signing key")
    if data.lstrip().startswith((b"ed25519 ", b"-----BEGIN PUBLIC KEY")):
        raise KeyFileError(
            f"{key_path}: is a public key; signing needs the private key (the file without {PUBLIC_SUFFIX})"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(
            f"{key_path}: the private key is encrypted; pyapp reads unencrypted PKCS#8 keys (kept private by "
            "the file's mode, 0600): decrypt it to a new file with openssl pkey, or " + _KEYGEN
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(
            f"{key_path}: is not a PEM private key (expected -----BEGIN PRIVATE KEY-----, PKCS#8); " + _KEYGEN
        ) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise KeyFileError(
            f"{key_path}: holds a {type(key).__name__.lstrip('_')}; packages are signed with ed25519 keys "
            "only: " + _KEYGEN
        )
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SigningKey(key_path, raw, key)


def load_public_key(path: str | os.PathLike[str]) -> bytes:
    """The raw 32-byte ed25519 public key in *path*: the line ``ed25519 <base64> [comment]`` pyapp keygen
    writes, or a PEM public key (``-----BEGIN PUBLIC KEY-----``)."""
    ed25519 = _crypto()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    key_path = Path(path)
    data = _read(key_path, "public key")
    text = data.decode("utf-8", "replace").strip()
    if "PRIVATE KEY-----" in text:
        raise KeyFileError(
            f"{key_path}: is a private key; give its public key instead ({key_path.name}{PUBLIC_SUFFIX}), "
            "which is safe to share"
        )
    if text.startswith("-----BEGIN PUBLIC KEY-----"):
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm):
            key = None
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise KeyFileError(f"{key_path}: is not an ed25519 public key")
        raw: bytes = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return raw
    parts = text.split(maxsplit=2)
    decoded = _unb64(parts[1], 32) if len(parts) >= 2 and parts[0] == _PUBLIC_LINE else None
    if decoded is None or "\n" in text:
        raise KeyFileError(
            f"{key_path}: is not a public key file: expected one line 'ed25519 <base64 key> [comment]', "
            "as pyapp keygen writes it beside the private key"
        )
    return decoded


def expected_fingerprint(value: str, where: str = "the key") -> str:
    """The fingerprint *value* names: a fingerprint itself (``SHA256:...``), or a public key file's
    (*where* names the option or field it came from, in errors)."""
    if value.strip().startswith("SHA256:"):
        return parse_fingerprint(value, where)
    return fingerprint(load_public_key(value))


def sign_record(record: bytes, key: SigningKey) -> bytes:
    """The content of ``RECORD.sig`` for the RECORD *record*, signed with *key*.

    Ed25519 signatures are deterministic: the same RECORD and key give the same bytes (builds stay
    reproducible).
    """
    return Signature(public_key=key.public_key, signature=key.sign(CONTEXT + record)).to_bytes()


def verify_signature(record: bytes, signature: bytes, *, label: str = "the package") -> str:
    """Check the ``RECORD.sig`` *signature* against the RECORD *record*; return the signer's fingerprint.

    Raises :class:`IntegrityError` when ``RECORD.sig`` is malformed or does not match: RECORD was changed
    after it was signed, or the signature was made for another RECORD.
    """
    ed25519 = _crypto()
    from cryptography.exceptions import InvalidSignature

    parsed = Signature.parse(signature)
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(parsed.public_key).verify(
            parsed.signature, CONTEXT + record
        )
    except (InvalidSignature, ValueError):
        message = (
            f"does not match {RECORD} (signed by {parsed.fingerprint}): {RECORD} was changed after it was "
            "signed, or the signature belongs to another package; do not install it: get the package again "
            "from its author"
        )
        raise IntegrityError(
            [Problem(file=RECORD_SIG, path="/signature", message=message)],
            f"{label} is refused: its signature does not verify:",
        ) from None
    return parsed.fingerprint
