"""The key an app's packages must be signed with, pinned at its first install (spec section 2.6).

``apps/<name>/signer.json`` (written by the host, mode 0600; the app's code cannot change it, see
docs/trust-model.md) holds the fingerprint of the key that signed the package the app was installed
from, or ``null`` when that package was unsigned. Each install or update checks the new package's
signer against it (:func:`check_signer`):

- no pin yet (a first install, or an app installed before pins were kept): the package's signer is pinned;
- pinned to no key (unsigned): any package passes, and a signed one pins its key;
- pinned to a key: a package signed by that key passes; one signed by another key, or not signed, is
  refused (:class:`~pyapp_runtime.errors.UntrustedSigner`, naming both and the way to re-pin) unless the
  operator names the package's signer as the key to trust (*trust_key*, ``--trust-key``): the fingerprint
  of its key, or ``unsigned`` for an unsigned package. That re-pins the app.

A *trust_key* that does not name the package's signer is refused whatever the pin: the operator expected
another key. A package whose signature does not verify never gets this far (:meth:`AppPackage.signer`).
The pin changes with the install's transaction (the journal keeps the old file), stays through a rollback,
and stays with the data an app's removal keeps (``--keep-data``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from apppackage.files import write_atomic
from apppackage.signing import is_fingerprint

from .._plain import Plain
from ..errors import HostError, UntrustedSigner
from ..layout import AppLayout

__all__ = [
    "UNSIGNED",
    "Pin",
    "TrustDecision",
    "check_signer",
    "parse_trust_key",
    "pinned_signer",
    "read_pin",
    "write_pin",
]

UNSIGNED = "unsigned"
"""The *trust_key* that accepts (and pins) an unsigned package."""
_REPIN = "--trust-key (trust_key in the management server's API)"


def _label(fingerprint: str | None) -> str:
    return fingerprint or UNSIGNED


@dataclass(frozen=True, kw_only=True)
class Pin(Plain):
    """What ``signer.json`` holds: the key (``None``: unsigned), the release that pinned it, and when."""

    signer: str | None
    release: str
    pinned_at: float = 0.0

    @property
    def label(self) -> str:
        """The key's fingerprint, or ``unsigned``."""
        return _label(self.signer)


@dataclass(frozen=True, kw_only=True)
class TrustDecision:
    """A package accepted by :func:`check_signer`: its signer, and how the pin changes."""

    signer: str | None
    """The fingerprint of the key that signed the package; ``None``: unsigned."""
    pin: bool
    """Whether ``signer.json`` is (re)written to :attr:`signer`."""
    repinned_from: str | None = None
    """The key the app was pinned to before (or ``unsigned``), when this changes it; else ``None``."""


def parse_trust_key(value: str | None) -> str | None:
    """*value* as a key to trust: a fingerprint (``SHA256:...``) or ``unsigned``; ``None`` stays ``None``."""
    if value is None:
        return None
    text = value.strip()
    if text == UNSIGNED or is_fingerprint(text):
        return text
    raise HostError(
        f"the key to trust, {_REPIN}, is {value!r}: expected the fingerprint of the key that signed the "
        f"package (SHA256:..., as pyapp verify shows it), or {UNSIGNED!r} to accept an unsigned package"
    )


def read_pin(app: AppLayout) -> Pin | None:
    """*app*'s pin, ``None`` when it has none (not installed, or installed before pins were kept)."""
    try:
        data = json.loads(app.signer_file.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise HostError(_damaged(app, str(exc))) from None
    signer = data.get("signer") if isinstance(data, dict) else 0
    if not (signer is None or (isinstance(signer, str) and is_fingerprint(signer))):
        raise HostError(_damaged(app, "its 'signer' is neither a fingerprint nor null"))
    return Pin(signer=signer, release=str(data.get("release", "")), pinned_at=float(data.get("pinned_at", 0)))


def _damaged(app: AppLayout, reason: str) -> str:
    return (
        f"{app.signer_file} is damaged ({reason}): the host cannot tell which key {app.name}'s packages "
        "must be signed with, and installs nothing; remove the file to pin the key of the next package "
        "installed"
    )


def write_pin(app: AppLayout, signer: str | None, release: str) -> Pin:
    """Pin *app* to *signer* (``None``: unsigned), as of *release*."""
    pin = Pin(signer=signer, release=release, pinned_at=time.time())
    write_atomic(app.signer_file, json.dumps(pin.to_dict(), indent=2) + "\n", mode=0o600)
    return pin


def check_signer(
    app: AppLayout, pin: Pin | None, signer: str | None, trust_key: str | None, *, package: str
) -> TrustDecision:
    """Whether *package* (its file name), signed by *signer*, may be installed as *app* pinned to *pin*,
    with the operator's *trust_key* (see the module's docstring); :class:`UntrustedSigner` when not."""
    name = app.name
    signed = f"is signed by {signer}" if signer else "is not signed"
    if trust_key is not None:
        if trust_key != _label(signer):
            raise UntrustedSigner(
                f"{package} {signed}, not by the key to trust that was named ({trust_key}): nothing was "
                f"changed. Check which key you meant (pyapp verify {package} shows the package's).",
                app=name, signer=signer, pinned=pin.signer if pin else None,
            )  # fmt: skip
        changed = pin is not None and pin.signer != signer
        return TrustDecision(
            signer=signer, pin=pin is None or changed, repinned_from=pin.label if changed and pin else None
        )
    if pin is None:
        return TrustDecision(signer=signer, pin=True)
    if pin.signer == signer:
        return TrustDecision(signer=signer, pin=False)
    if pin.signer is None:  # an unsigned app's first signed package: its key is pinned from now on
        return TrustDecision(signer=signer, pin=True, repinned_from=UNSIGNED)
    since = f" (since release {pin.release})" if pin.release else ""
    if signer is None:
        what = (
            f"ask its author for a package signed with that key; to accept unsigned packages for {name} "
            f"from now on, re-pin it with {_REPIN}: {UNSIGNED}"
        )
    else:
        what = (
            f"a package signed by another key may not come from {name}'s author. If they changed keys, "
            f"check the new key's fingerprint with them, then re-pin {name} to it with {_REPIN}: {signer}"
        )
    message = f"{package} {signed}, but {name} is pinned to the key {pin.signer}{since}: nothing was changed"
    raise UntrustedSigner(f"{message}; {what}", app=name, signer=signer, pinned=pin.signer)


def pinned_signer(app: AppLayout) -> str | None:
    """The key *app* is pinned to, as ``pyapp show`` reports it: ``None`` when unsigned, unpinned or
    unreadable (the next install says why)."""
    try:
        pin = read_pin(app)
    except HostError:
        return None
    return pin.signer if pin else None
