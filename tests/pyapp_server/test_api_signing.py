"""Signed packages through the management server (spec section 2.6): the JSON API (every response checked
against openapi.json) and XML-RPC refuse an update the app's pinned key did not sign, before any job, and
carry the operator's explicit re-pin, ``trust_key``."""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest
from pyapp_tools.building.builder import BuildOptions, build
from signkit import make_key, sign_package

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("keys")
    return {"author": make_key(folder, "author.key"), "other": make_key(folder, "other.key")}


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, keys: Any) -> Any:
    """``signed(version, key)``: examples/hello at *version*, built with ``--sign`` (or unsigned: None)."""
    import re
    import shutil

    root = tmp_path_factory.mktemp("signed")
    built: dict[tuple[str, str | None], Path] = {}

    def make(version: str, key: str | None) -> Path:
        if (version, key) not in built:
            source = root / f"src-{version}-{key}" / "hello"
            shutil.copytree(
                ROOT / "examples/hello", source, ignore=shutil.ignore_patterns("__pycache__", "dist")
            )
            meta = source / "metadata.yaml"
            meta.write_text(re.sub(r"(?m)^version: .*$", f'version: "{version}"', meta.read_text()))
            sign = keys[key][0] if key else None
            options = BuildOptions(out_dir=root / f"dist-{version}-{key}", offline=True, sign=sign)
            built[version, key] = build(source, options).path
        return built[version, key]

    return make


def test_an_update_by_another_key_is_refused_at_once_and_re_pinned_with_trust_key(
    api: Any, signed: Any, keys: Any, host_state: Any
) -> None:
    author, other = keys["author"][1], keys["other"][1]
    job = api.install(signed("1.0.0", "author"))
    assert job["result"]["signer"] == author
    assert api.get("/api/v1/apps/hello").json["signer"] == author
    assert api.get("/api/v1/apps/hello/releases").json["releases"][0]["signer"] == author
    before = host_state(api.data_dir)

    foreign = signed("1.1.0", "other")
    refused = api.upload("/api/v1/apps/hello/update", foreign)
    assert refused.status_int == 409, refused.text
    assert refused.json["error"]["code"] == "untrusted-signer"
    message = refused.json["error"]["message"]
    assert f"is signed by {other}, but hello is pinned to the key {author}" in message
    assert f"--trust-key (trust_key in the management server's API): {other}" in message
    assert host_state(api.data_dir) == before, "nothing was changed, no job ran"
    assert api.get("/api/v1/jobs?app=hello").json["jobs"][0]["kind"] == "install"

    mistyped = api.upload("/api/v1/apps/hello/update", foreign, query="trust_key=SHA256:abc")
    assert mistyped.status_int == 422
    assert mistyped.json["errors"][0]["field"] == "trust_key"

    accepted = api.upload(
        "/api/v1/apps/hello/update", foreign, query=f"trust_key={other.replace('+', '%2B')}"
    )
    assert accepted.status_int == 202, accepted.text
    result = api.wait(accepted.json)["result"]
    assert (result["action"], result["signer"], result["repinned_from"]) == ("updated", other, author)
    assert api.get("/api/v1/apps/hello").json["signer"] == other


def test_an_unsigned_update_from_a_server_path_needs_trust_key_unsigned(
    api: Any, signed: Any, keys: Any
) -> None:
    api.install(signed("1.0.0", "author"))
    path = api.on_server(signed("1.2.0", None))
    refused = api.post_json("/api/v1/apps", {"path": path})
    assert (
        refused.status_int == 409 and "is not signed, but hello is pinned" in refused.json["error"]["message"]
    )
    job = api.wait(api.post_json("/api/v1/apps", {"path": path, "trust_key": "unsigned"}).json)
    assert job["state"] == "succeeded", job
    assert (job["result"]["signer"], job["result"]["repinned_from"]) == (None, keys["author"][1])
    assert api.get("/api/v1/apps/hello").json["signer"] is None


def test_a_corrupt_signature_is_refused_whatever_the_trust_key(
    api: Any, signed: Any, keys: Any, tmp_path: Path
) -> None:
    stolen = sign_package(signed("1.0.0", None), keys["author"][0], tmp_path / "hello-1.0.0.pyapp",
                          signature=_member(signed("1.1.0", "author"), "RECORD.sig"))  # fmt: skip
    for query in ("", f"trust_key={keys['author'][1].replace('+', '%2B')}"):
        refused = api.upload("/api/v1/apps", stolen, query=query)
        assert refused.status_int == 422, refused.text
        assert refused.json["error"]["code"] == "invalid-package"
        assert any(e["field"] == "RECORD.sig" for e in refused.json["errors"])
    assert api.get("/api/v1/apps").json["apps"] == []


def test_xml_rpc_carries_trust_key(api: Any, signed: Any, keys: Any) -> None:
    def rpc(method: str, *params: Any) -> Any:
        body = xmlrpc.client.dumps(tuple(params), method, allow_none=True).encode()
        response = api.app.post("/RPC2", body, headers={"Content-Type": "text/xml"})
        (result,), _ = xmlrpc.client.loads(response.body, use_builtin_types=True)
        return result

    deployer, viewer = api.secrets["deployer"], api.secrets["viewer"]
    job = rpc("apps.install", deployer, api.on_server(signed("1.0.0", "author")))
    assert rpc("jobs.get", viewer, job["id"], 30)["state"] == "succeeded"
    foreign = api.on_server(signed("1.1.0", "other"))
    with pytest.raises(xmlrpc.client.Fault) as refused:
        rpc("apps.update", deployer, "hello", foreign)
    assert refused.value.faultCode == 409 and keys["other"][1] in refused.value.faultString
    update = rpc("apps.update", deployer, "hello", foreign, {"trust_key": keys["other"][1]})
    done = rpc("jobs.get", viewer, update["id"], 30)
    assert done["state"] == "succeeded" and done["result"]["repinned_from"] == keys["author"][1]
    assert "trust_key" in rpc("system.methodHelp", "apps.update")


def _member(package: Path, name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(package) as zf:
        return zf.read(name)
