"""The shared conformance vectors (tests/conformance, read by every language) through the Python API."""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List

import pytest

import allowly
from allowly.identifiers import from_email
from allowly.verify import load_keys_from_json, verify_batch, verify_receipt

from conftest import CONFORMANCE

VECTORS: Dict[str, Any] = json.loads((CONFORMANCE / "receipt-format-v4" / "test-vectors.json").read_text())
IDENTIFIERS: List[Dict[str, str]] = json.loads((CONFORMANCE / "identifiers" / "email-hmac-v1.json").read_text())
KEYS = load_keys_from_json(VECTORS["public_keys"])


def expected_class(name: str) -> type:
    """The same kinds core's own conformance test expects (core/tests/receipt_conformance.rs)."""
    if name in ("tampered_payload", "forged_signature", "key_id_swapped"):
        return allowly.SignatureMismatchError
    if name == "unknown_key_id":
        return allowly.UnknownKeyError
    if name == "future_version":
        return allowly.UnsupportedVersionError
    if name in ("integer_out_of_safe_range", "context_lone_surrogate", "context_deep_nesting"):
        return allowly.MalformedReceiptError
    if name.startswith("issued_at_"):
        return allowly.TimestampError
    if name in ("key_not_yet_active", "key_retired_at_issued_at"):
        return allowly.KeyOutsideWindowError
    return allowly.SchemaError


def test_vector_counts() -> None:
    assert (len(VECTORS["should_verify"]), len(VECTORS["should_reject"])) == (22, 39)
    assert len(KEYS) == len(VECTORS["public_keys"]["keys"]) and KEYS.workspace_id == "ws_test"


@pytest.mark.parametrize("vector", VECTORS["should_verify"], ids=lambda v: v["name"])
def test_should_verify(vector: Dict[str, Any]) -> None:
    receipt = vector["receipt"]
    for form in (receipt, json.dumps(receipt), json.dumps(receipt).encode()):
        verified = verify_receipt(form, KEYS, expected_workspace_id="ws_test")
        assert verified.receipt_id == receipt["receipt_id"]
        kind = "action" if vector["kind"] == "action" else "event"  # the vectors' kind names the event family
        assert verified.kind == kind
        assert verified.name == receipt[kind]
        assert verified.decision == receipt["decision"]


@pytest.mark.parametrize("vector", VECTORS["should_reject"], ids=lambda v: v["name"])
def test_should_reject(vector: Dict[str, Any]) -> None:
    # A dict from json.loads and the JSON text itself must be rejected alike, for the same reason. (A str argument
    # is JSON text, so the vector whose receipt *is* a string is only given as text.)
    receipt = vector["receipt"]
    forms = [json.dumps(receipt)] + ([] if isinstance(receipt, str) else [receipt])
    for form in forms:
        with pytest.raises(allowly.VerificationError) as info:
            verify_receipt(form, KEYS, expected_workspace_id="ws_test")
        assert type(info.value) is expected_class(vector["name"]), (vector["name"], info.value)
        assert vector["expected_reason"] in info.value.message


def test_batch_agrees_with_single() -> None:
    vectors = VECTORS["should_verify"] + VECTORS["should_reject"]
    verdicts = verify_batch([json.dumps(v["receipt"]) for v in vectors], KEYS, expected_workspace_id="ws_test")
    assert len(verdicts) == len(vectors)
    for vector, verdict in zip(vectors, verdicts):
        if vector in VECTORS["should_verify"]:
            assert isinstance(verdict, allowly.VerifiedReceipt), vector["name"]
        else:
            assert type(verdict) is expected_class(vector["name"]), vector["name"]


def test_batch_reads_str_bytes_and_dicts_alike() -> None:
    # str and bytes lines take the in-place path, a list with any dict the per-document one: same verdicts either way.
    vectors = VECTORS["should_verify"] + VECTORS["should_reject"]
    texts = [json.dumps(v["receipt"]) for v in vectors]
    mixed = [t.encode() if i % 3 == 0 else (v["receipt"] if i % 3 == 1 else t) for i, (t, v) in enumerate(zip(texts, vectors))]
    kinds = [[type(r) for r in verify_batch(form, KEYS, expected_workspace_id="ws_test")]
             for form in (texts, [t.encode() for t in texts], mixed)]
    assert kinds[0] == kinds[1] == kinds[2]
    assert kinds[0].count(allowly.VerifiedReceipt) == len(VECTORS["should_verify"])
    with pytest.raises(UnicodeEncodeError):
        verify_batch([texts[0], "\ud800"], KEYS)


def test_trust_options() -> None:
    receipt = VECTORS["should_verify"][0]["receipt"]
    with pytest.raises(allowly.WorkspaceMismatchError):
        verify_receipt(receipt, KEYS, expected_workspace_id="ws_other")
    with pytest.raises(allowly.UntrustedKeyError):
        verify_receipt(receipt, KEYS, trusted_fingerprints=["sha256:" + "0" * 64])
    verify_receipt(receipt, KEYS, trusted_fingerprints=KEYS.fingerprints)


def test_bad_key_document() -> None:
    doc = json.loads(json.dumps(VECTORS["public_keys"]))
    doc["keys"][0]["public_key_fingerprint"] = "sha256:" + "0" * 64
    with pytest.raises(allowly.KeyDocumentError):
        load_keys_from_json(doc)
    with pytest.raises(allowly.KeyDocumentError):
        load_keys_from_json('{"workspace_id": "ws", "keys": [], "keys": []}')


# ---- wire 5 (tests/conformance/receipt-format-v5): JWS receipts, each rejection names its expected kind ----

V5: Dict[str, Any] = json.loads((CONFORMANCE / "receipt-format-v5" / "test-vectors.json").read_text())
KEYS5 = load_keys_from_json(V5["public_keys"])
CLASS_OF_KIND = {
    "malformed": allowly.MalformedReceiptError,
    "schema": allowly.SchemaError,
    "unsupported_version": allowly.UnsupportedVersionError,
    "timestamp": allowly.TimestampError,
    "unknown_key": allowly.UnknownKeyError,
    "key_outside_window": allowly.KeyOutsideWindowError,
    "untrusted_key": allowly.UntrustedKeyError,
    "workspace_mismatch": allowly.WorkspaceMismatchError,
    "signature_mismatch": allowly.SignatureMismatchError,
}
# The Python API verifies against the system clock (no `now` option); the v5 case judged by the file's `now` that
# the real clock would accept is left out.
V5_REJECT = [v for v in V5["should_reject"] if "future_skew" not in v["name"]]


def test_v5_vector_counts() -> None:
    assert (V5["spec_version"], len(V5["should_verify"]), len(V5["should_reject"])) == ("5", 29, 88)
    assert len(V5_REJECT) == 87


@pytest.mark.parametrize("vector", V5["should_verify"], ids=lambda v: v["name"])
def test_v5_should_verify(vector: Dict[str, Any]) -> None:
    receipt = vector["receipt"]
    payload = json.loads(base64.urlsafe_b64decode(receipt["payload"] + "=" * (-len(receipt["payload"]) % 4)))
    header = json.loads(base64.urlsafe_b64decode(receipt["protected"] + "=" * (-len(receipt["protected"]) % 4)))
    for form in (receipt, json.dumps(receipt), json.dumps(receipt).encode()):
        verified = verify_receipt(form, KEYS5, expected_workspace_id="ws_test")
        assert verified.schema_version == "5"
        assert verified.receipt_id == payload["receipt_id"]
        assert verified.key_id == header["kid"]
        assert verified.kind == vector["kind"]
        assert verified.name == payload[vector["kind"]]
        assert verified.decision == payload["decision"]


@pytest.mark.parametrize("vector", V5_REJECT, ids=lambda v: v["name"])
def test_v5_should_reject(vector: Dict[str, Any]) -> None:
    receipt = vector["receipt"]
    for form in [json.dumps(receipt)] + ([] if isinstance(receipt, str) else [receipt]):
        with pytest.raises(allowly.VerificationError) as info:
            verify_receipt(form, KEYS5, expected_workspace_id="ws_test")
        assert type(info.value) is CLASS_OF_KIND[vector["expected_kind"]], (vector["name"], info.value)
        assert info.value.code == vector["expected_kind"]
        assert vector["expected_reason"] in info.value.message


def test_v5_batch_agrees_with_single() -> None:
    vectors = V5["should_verify"] + V5_REJECT
    for forms in ([json.dumps(v["receipt"]) for v in vectors], [v["receipt"] for v in vectors]):
        verdicts = verify_batch(forms, KEYS5, expected_workspace_id="ws_test")
        assert len(verdicts) == len(vectors)
        for vector, verdict in zip(vectors, verdicts):
            if "expected_kind" in vector:
                assert type(verdict) is CLASS_OF_KIND[vector["expected_kind"]], vector["name"]
            else:
                assert isinstance(verdict, allowly.VerifiedReceipt) and verdict.schema_version == "5", vector["name"]


def test_v4_receipts_report_schema_version_4() -> None:
    assert verify_receipt(VECTORS["should_verify"][0]["receipt"], KEYS).schema_version == "4"


@pytest.mark.parametrize("vector", IDENTIFIERS, ids=lambda v: repr(v["email"]))
def test_identifier_vectors(vector: Dict[str, str]) -> None:
    if "user_id" in vector:
        assert from_email(vector["email"], pepper=vector["pepper"]) == vector["user_id"]
    else:
        with pytest.raises(allowly.ValidationError) as info:
            from_email(vector["email"], pepper=vector["pepper"])
        assert vector["error"] in str(info.value)
        if vector["pepper"]:
            assert vector["pepper"] not in str(info.value)


def test_from_email_takes_bytes_and_a_version_as_0_8_does() -> None:
    """0.8.0's `from_email(email, *, pepper: str | bytes, version="v1")`: a text pepper is its UTF-8 bytes."""
    from allowly import ValidationError
    from allowly.identifiers import EMAIL_HMAC_VERSION

    text = from_email(" Alice@Example.com ", pepper="pépper")
    assert from_email("alice@example.com", pepper="pépper".encode()) == text
    assert from_email("alice@example.com", pepper="pépper", version=EMAIL_HMAC_VERSION) == text
    assert EMAIL_HMAC_VERSION == "v1" and text.startswith("email_hmac:v1:")
    assert from_email("a@b.c", pepper=b"\xff\x00\x80").startswith("email_hmac:v1:")
    with pytest.raises(ValidationError) as info:
        from_email("a@b.c", pepper="p", version="v2")
    assert info.value.fields[0].field == "version"
    with pytest.raises(TypeError):
        from_email("a@b.c", pepper=7)  # type: ignore[arg-type]


def test_normalize_email_is_what_from_email_hashes() -> None:
    """0.8.0's `normalize_email`: Python's strip().lower(), and an empty address is a ValueError."""
    from allowly.identifiers import normalize_email

    assert normalize_email("\u3000 Alice@Example.COM \x1f") == "alice@example.com"
    assert from_email(normalize_email(" Bob@B.c "), pepper="p") == from_email(" Bob@B.c ", pepper="p")
    with pytest.raises(ValueError):
        normalize_email("  ")
