"""A signed app's update by another key is refused while the release it replaces goes on serving (spec
section 2.6): a real supervisord, real requests over the app's socket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyapp_runtime import Host, UntrustedSigner
from signkit import make_key, sign_package

pytestmark = pytest.mark.slow


def test_a_foreign_key_update_is_refused_and_the_signed_release_serves_on(
    host: Host, home: Path, packages: Any, helpers: Any, tmp_path: Path
) -> None:
    author, author_fp = make_key(tmp_path / "keys", "author.key")
    other, other_fp = make_key(tmp_path / "keys", "other.key")
    host.install(sign_package(packages.webprobe("1.0.0"), author))
    sock = helpers.stable_socket(home, "webprobe")
    before = helpers.serving(sock)
    assert helpers.request(sock) == (200, "webprobe 1.0.0")

    foreign = sign_package(packages.webprobe("1.1.0"), other)
    with pytest.raises(UntrustedSigner, match="nothing was changed"):
        host.install(foreign)
    # The same process of the signed release answers: nothing was started, stopped or switched.
    assert helpers.request(sock) == (200, "webprobe 1.0.0")
    assert helpers.serving(sock) == before
    assert [p.state for p in host.status("webprobe")] == ["running"]

    result = host.install(foreign, trust_key=other_fp)
    assert (result.action, result.repinned_from) == ("updated", author_fp)
    assert helpers.request(sock) == (200, "webprobe 1.1.0")
    assert host.show("webprobe").signer == other_fp
