"""``pyapp keygen`` and ``pyapp verify``: a signing key pair, and a package checked against its RECORD and
signature (spec sections 2.3 and 2.6; :mod:`apppackage.signing`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..commandline import emit, json_command

__all__ = ["register"]


@click.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--key", "key", metavar="KEY",
    help="Also require a signature by this key: its public key file (KEYFILE.pub) or its fingerprint "
    "(SHA256:...).",
)  # fmt: skip
@json_command
def verify(path: Path, key: str | None, as_json: bool) -> None:
    """Check every file of the package at PATH against its RECORD, and RECORD against its signature.

    Prints the fingerprint of the key that signed the package, or says it is
    unsigned. Exits 1 naming each problem: a changed, missing or unlisted
    file, a RECORD.sig that does not match RECORD (changed, or taken from
    another package), and with --key a package that key did not sign.

    \b
    Example:
      pyapp verify dist/hello-1.0.0.pyapp
      pyapp verify dist/hello-1.0.0.pyapp --key hello.key.pub
    """
    from apppackage import AppPackage, IntegrityError
    from apppackage.signing import expected_fingerprint

    expected = expected_fingerprint(key, "--key") if key is not None else None
    with AppPackage(path) as package:
        problems = package.verify(signer=expected)
        count = len(package.files())
        try:
            signer = package.signer()
        except IntegrityError:
            signer = None
    if as_json:
        data = {
            "path": str(path), "ok": not problems, "signer": signer, "expected_signer": expected,
            "problems": [p.to_dict() for p in problems],
        }  # fmt: skip
        emit(data, True)
    elif problems:
        click.echo(f"{path}: {len(problems)} problem(s) with its RECORD or signature:", err=True)
        for p in problems:
            click.echo(f"  {p}", err=True)
    else:
        signed = f"signed by {signer}" if signer else "not signed (no RECORD.sig)"
        click.echo(f"{path}: all {count} files match RECORD; {signed}")
    if problems:
        sys.exit(1)


@click.command()
@click.argument("keyfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--comment", help="The text at the end of the public key's line (default: KEYFILE's name).")
@json_command
def keygen(keyfile: Path, comment: str | None, as_json: bool) -> None:
    """Make an ed25519 key pair to sign packages with: KEYFILE and KEYFILE.pub.

    KEYFILE holds the private key (PEM PKCS#8, mode 0600): keep it secret, and
    sign with it: pyapp-build --sign KEYFILE. KEYFILE.pub holds the public key
    (one line) to give to operators. Neither file is ever overwritten. Prints
    the key's fingerprint, SHA256:..., which pyapp verify and hosts show.

    \b
    Example:
      pyapp keygen ~/.config/pyapp/myapp.key
    """
    from apppackage.signing import generate_key

    pair = generate_key(keyfile, comment)
    emit(pair.to_dict(), as_json, _human_keygen)


def _human_keygen(data: dict[str, Any]) -> None:
    click.echo(f"private key: {data['private_key']} (keep it secret; sign with: pyapp-build --sign FILE)")
    click.echo(f"public key:  {data['public_key']} (give it to operators)")
    click.echo(f"fingerprint: {data['fingerprint']}")


def register(group: click.Group) -> None:
    for cmd in (verify, keygen):
        group.add_command(cmd)
