"""`allowly.verify.fetch_keys_doc` as the official 0.8.0 SDK documents it, against the real dev server: the pinned
SHA-256 of the exact bytes is enforced by core, and the returned dict loads and verifies a receipt."""

import hashlib
import urllib.request
from typing import Dict

import pytest

import allowly
from allowly.verify import fetch_keys_doc, load_keys_from_json, verify_receipt


def _raw_doc(server: Dict[str, str]) -> bytes:
    url = f"{server['base_url'].rstrip('/')}/v1/workspaces/{server['workspace_id']}/keys"
    with urllib.request.urlopen(url) as resp:  # noqa: S310 - the local dev server
        return resp.read()


def test_pinned_document_loads_and_verifies_a_receipt(server: Dict[str, str], sync_client: allowly.SyncAllowly) -> None:
    ws = server["workspace_id"]
    pin = hashlib.sha256(_raw_doc(server)).hexdigest()
    doc = fetch_keys_doc(ws, base_url=server["base_url"], expected_sha256=pin.upper(), cache_ttl_seconds=0,
                         dangerously_allow_insecure_base_url=True)
    assert isinstance(doc, dict) and doc["workspace_id"] == ws
    keys = load_keys_from_json(doc)

    auth = sync_client.authorizations.create(user_id="u-keys-doc", agent_id="agent-keys", scopes=["email.read"])
    result = sync_client.check(authorization_id=auth.authorization_id, scopes=["email.read"]).results["email.read"]
    signed = sync_client.receipts.fetch_signed(result.receipt.receipt_id)
    assert verify_receipt(signed, keys, expected_workspace_id=ws).decision == "allow"


def test_pin_mismatch_and_plain_http_are_refused(server: Dict[str, str]) -> None:
    ws = server["workspace_id"]
    with pytest.raises(allowly.KeyDocumentError) as info:
        fetch_keys_doc(ws, base_url=server["base_url"], expected_sha256="0" * 64, cache_ttl_seconds=0,
                       dangerously_allow_insecure_base_url=True)
    assert isinstance(info.value, allowly.VerificationError) and info.value.kind == "key_document"
    with pytest.raises(allowly.ConfigError):
        fetch_keys_doc(ws, base_url=server["base_url"])  # http:// without the explicit opt-in
    with pytest.raises(allowly.ValidationError):
        fetch_keys_doc(ws, base_url=server["base_url"], expected_sha256="not-hex",
                       dangerously_allow_insecure_base_url=True)
