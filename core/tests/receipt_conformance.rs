//! Conformance of the receipt verifier to the public wire-4 vectors, plus the behaviour the vectors do not cover:
//! batch/single agreement, caller trust (workspace, fingerprints), key documents, checkpoints and signing.

use std::sync::OnceLock;

use allowly_core::error::{VerificationError, VerificationErrorKind as Kind};
use allowly_core::receipt::json::{self, Object};
use allowly_core::receipt::sign::sign_receipt_value;
use allowly_core::receipt::{
    KeySet, PublicKeyEntry, ReceiptKind, Value, VerifyOptions, fingerprint, load_keys_from_json, merkle_root,
    sign_payload, sign_receipt, verify_batch, verify_checkpoint, verify_receipt, verify_receipt_json,
};
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use serde_json::json;
use time::macros::datetime;

fn vectors() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/receipt-format-v4/test-vectors.json");
        let bytes = std::fs::read(path).expect("vector file");
        json::parse(&bytes).expect("the vector file parses with the strict parser")
    })
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.as_object().and_then(|o| o.get(name)).unwrap_or_else(|| panic!("missing {name}"))
}

fn text<'a>(v: &'a Value, name: &str) -> &'a str {
    field(v, name).as_str().unwrap_or_else(|| panic!("{name} is not a string"))
}

fn group(name: &str) -> &'static [Value] {
    field(vectors(), name).as_array().unwrap()
}

fn keys() -> KeySet {
    KeySet::from_value(field(vectors(), "public_keys")).expect("vector key document loads")
}

fn opts() -> VerifyOptions {
    VerifyOptions {
        expected_workspace_id: Some("ws_test".into()),
        now: Some(datetime!(2026-11-23 00:00 UTC)),
        ..VerifyOptions::default()
    }
}

#[test]
fn vector_file_shape() {
    assert_eq!(group("should_verify").len(), 22);
    assert_eq!(group("should_reject").len(), 39);
    assert_eq!(group("checkpoint_cases").len(), 1);
    assert_eq!(text(vectors(), "spec_version"), "4");
}

#[test]
fn every_should_verify_vector_verifies() {
    let keys = keys();
    let mut failures = Vec::new();
    for v in group("should_verify") {
        let name = text(v, "name");
        let receipt = field(v, "receipt");
        match verify_receipt(receipt, &keys, &opts()) {
            Ok(ok) => {
                assert_eq!(ok.receipt_id, text(receipt, "receipt_id"), "{name}");
                assert_eq!(ok.workspace_id, "ws_test");
                assert_eq!(ok.issued_at, text(receipt, "issued_at"));
                assert_eq!(ok.key_id, text(receipt, "key_id"));
                assert_eq!(ok.decision, text(receipt, "decision"));
                let expected_kind = if text(v, "kind") == "action" { ReceiptKind::Action } else { ReceiptKind::Event };
                assert_eq!(ok.kind, expected_kind, "{name}");
                let disc = if expected_kind == ReceiptKind::Action { "action" } else { "event" };
                assert_eq!(ok.name, text(receipt, disc), "{name}");
            }
            Err(e) => failures.push(format!("{name}: {:?} {}", e.kind, e.message)),
        }
    }
    assert!(failures.is_empty(), "vectors that should verify failed:\n{}", failures.join("\n"));
}

/// The kind each rejection must have, besides its message.
fn expected_kind(name: &str) -> Kind {
    match name {
        "tampered_payload" | "forged_signature" | "key_id_swapped" => Kind::SignatureMismatch,
        "unknown_key_id" => Kind::UnknownKey,
        "future_version" => Kind::UnsupportedVersion,
        "integer_out_of_safe_range" | "context_lone_surrogate" | "context_deep_nesting" => Kind::Malformed,
        n if n.starts_with("issued_at_") => Kind::Timestamp,
        "key_not_yet_active" | "key_retired_at_issued_at" => Kind::KeyOutsideWindow,
        _ => Kind::Schema,
    }
}

#[test]
fn every_should_reject_vector_is_rejected_with_its_reason() {
    let keys = keys();
    let mut failures = Vec::new();
    for v in group("should_reject") {
        let name = text(v, "name");
        let reason = text(v, "expected_reason");
        match verify_receipt(field(v, "receipt"), &keys, &opts()) {
            Ok(_) => failures.push(format!("{name}: verified, expected rejection containing {reason:?}")),
            Err(e) if !e.message.contains(reason) => {
                failures.push(format!("{name}: message {:?} lacks {reason:?}", e.message))
            }
            Err(e) if e.kind != expected_kind(name) => {
                failures.push(format!("{name}: kind {:?}, expected {:?} ({})", e.kind, expected_kind(name), e.message))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "rejection vectors misbehaved:\n{}", failures.join("\n"));
}

#[test]
fn json_entry_point_matches_value_entry_point() {
    let keys = keys();
    for v in group("should_verify").iter().chain(group("should_reject")) {
        let receipt = field(v, "receipt");
        // Values serde_json cannot hold (lone surrogates) are covered by the parser tests.
        let Some(serde) = receipt.to_serde() else { continue };
        let bytes = serde_json::to_vec_pretty(&serde).unwrap();
        let a = verify_receipt(receipt, &keys, &opts());
        let b = verify_receipt_json(&bytes, &keys, &opts());
        assert_eq!(a, b, "{}", text(v, "name"));
    }
}

fn all_vector_receipts() -> Vec<Value> {
    group("should_verify").iter().chain(group("should_reject")).map(|v| field(v, "receipt").clone()).collect()
}

#[test]
fn batch_agrees_with_single_verification() {
    let keys = keys();
    let receipts = all_vector_receipts();
    // Repeat the set so chunks mix valid and invalid signatures and several chunks run in parallel.
    let many: Vec<Value> = (0..6).flat_map(|_| receipts.iter().cloned()).collect();
    let batch = verify_batch(&many, &keys, &opts());
    assert_eq!(batch.len(), many.len());
    for (r, b) in many.iter().zip(&batch) {
        let single = verify_receipt(r, &keys, &opts());
        assert_eq!(&single, b, "batch and single disagree on {:?}", r.as_object().and_then(|o| o.get("receipt_id")));
    }
    let ok = batch.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 22 * 6);

    // An all-valid batch takes the fast path end to end.
    let valid: Vec<Value> = group("should_verify").iter().map(|v| field(v, "receipt").clone()).collect();
    assert!(verify_batch(&valid, &keys, &opts()).iter().all(Result::is_ok));
    assert!(verify_batch(&[], &keys, &opts()).is_empty());
}

#[test]
fn large_batches_use_large_chunks_and_still_agree_with_single() {
    let keys = keys();
    let receipts = all_vector_receipts();
    // Enough receipts that every chunk is the largest size, each mixing valid and invalid signatures.
    let copies = 4 * allowly_core::receipt::batch::BATCH_CHUNK_MAX * rayon::current_num_threads() / receipts.len() + 1;
    let many: Vec<Value> = (0..copies).flat_map(|_| receipts.iter().cloned()).collect();
    assert_eq!(allowly_core::receipt::batch::chunk_size(many.len()), allowly_core::receipt::batch::BATCH_CHUNK_MAX);
    let batch = verify_batch(&many, &keys, &opts());
    for (r, b) in many.iter().zip(&batch) {
        assert_eq!(&verify_receipt(r, &keys, &opts()), b);
    }
    assert_eq!(batch.iter().filter(|r| r.is_ok()).count(), 22 * copies);
    // A handful of receipts still gets the smallest chunk, never an empty one.
    assert_eq!(allowly_core::receipt::batch::chunk_size(0), allowly_core::receipt::batch::BATCH_CHUNK);
    assert_eq!(allowly_core::receipt::batch::chunk_size(10), allowly_core::receipt::batch::BATCH_CHUNK);
}

#[test]
fn batch_json_agrees_with_single_json() {
    let keys = keys();
    let mut inputs: Vec<Vec<u8>> =
        all_vector_receipts().iter().filter_map(|r| r.to_serde()).map(|s| serde_json::to_vec(&s).unwrap()).collect();
    inputs.push(b"{\"a\":1,\"a\":2}".to_vec());
    inputs.push(b"not json".to_vec());
    let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let batch = allowly_core::receipt::verify_batch_json(&refs, &keys, &opts());
    for (bytes, b) in refs.iter().zip(&batch) {
        assert_eq!(&verify_receipt_json(bytes, &keys, &opts()), b);
    }
    assert_eq!(batch[batch.len() - 2].as_ref().unwrap_err().kind, Kind::Malformed);
}

#[test]
fn trusted_fingerprints_pin_keys() {
    let keys = keys();
    let receipt = field(&group("should_verify")[0], "receipt");
    let doc_fps: Vec<String> = field(field(vectors(), "public_keys"), "keys")
        .as_array()
        .unwrap()
        .iter()
        .map(|k| text(k, "public_key_fingerprint").to_owned())
        .collect();
    assert_eq!(keys.fingerprints(), doc_fps);
    let trusted = VerifyOptions { trusted_fingerprints: doc_fps.clone(), ..opts() };
    assert!(verify_receipt(receipt, &keys, &trusted).is_ok());
    let only_v1 = VerifyOptions { trusted_fingerprints: vec![doc_fps[0].clone()], ..opts() };
    assert!(verify_receipt(receipt, &keys, &only_v1).is_ok());
    let wrong = VerifyOptions { trusted_fingerprints: vec![format!("sha256:{}", "0".repeat(64))], ..opts() };
    let e = verify_receipt(receipt, &keys, &wrong).unwrap_err();
    assert_eq!(e.kind, Kind::UntrustedKey, "{}", e.message);
    // The rotated-key vector is signed by v2, which only_v1 does not trust.
    let rotated = group("should_verify").iter().find(|v| text(v, "name") == "action_rotated_key").unwrap();
    assert_eq!(verify_receipt(field(rotated, "receipt"), &keys, &only_v1).unwrap_err().kind, Kind::UntrustedKey);
}

#[test]
fn workspace_binding() {
    let keys = keys();
    let receipt = field(&group("should_verify")[0], "receipt");
    let other = VerifyOptions { expected_workspace_id: Some("ws_other".into()), ..opts() };
    let e = verify_receipt(receipt, &keys, &other).unwrap_err();
    assert_eq!(e.kind, Kind::WorkspaceMismatch);
    assert!(e.message.contains("ws_other") && e.message.contains("ws_test"), "{}", e.message);
    // A key document for another workspace does not vouch for this receipt, even without an expectation.
    let entries: Vec<PublicKeyEntry> = keys.iter().cloned().collect();
    let foreign = KeySet::from_entries("ws_foreign", entries).unwrap();
    let no_expectation = VerifyOptions { expected_workspace_id: None, ..opts() };
    assert_eq!(verify_receipt(receipt, &foreign, &no_expectation).unwrap_err().kind, Kind::WorkspaceMismatch);
    assert!(verify_receipt(receipt, &keys, &no_expectation).is_ok());
}

#[test]
fn future_receipts_are_rejected_beyond_the_skew() {
    let keys = keys();
    let receipt = field(&group("should_verify")[0], "receipt"); // issued 2026-04-21T14:32:17.482Z
    let just_before = VerifyOptions { now: Some(datetime!(2026-04-21 14:27:17.482 UTC)), ..opts() };
    assert!(verify_receipt(receipt, &keys, &just_before).is_ok());
    let too_early = VerifyOptions { now: Some(datetime!(2026-04-21 14:27:17.481 UTC)), ..opts() };
    let e = verify_receipt(receipt, &keys, &too_early).unwrap_err();
    assert_eq!(e.kind, Kind::Timestamp);
    assert!(e.message.contains("issued_at is in the future"), "{}", e.message);
}

// ---- key documents ----

fn key_doc() -> serde_json::Value {
    field(vectors(), "public_keys").to_serde().unwrap()
}

fn load(doc: &serde_json::Value) -> Result<KeySet, VerificationError> {
    load_keys_from_json(&serde_json::to_vec(doc).unwrap())
}

#[test]
fn key_document_round_trips() {
    let loaded = load(&key_doc()).unwrap();
    assert_eq!(loaded, keys());
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded.to_json(), key_doc());
    let v1 = loaded.get("test-key/v1").unwrap();
    assert_eq!(v1.fingerprint, fingerprint(v1.public_key.as_bytes()));
    assert_eq!(v1.active_from.as_str(), "0001-01-01T00:00:00.000Z");
    assert!(v1.active_until.is_none());
    assert!(loaded.get("nope").is_none());
}

#[test]
fn key_document_rejections() {
    type Edit = fn(&mut serde_json::Value);
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "fingerprint mismatch",
            |d| d["keys"][0]["public_key_fingerprint"] = json!(format!("sha256:{}", "a".repeat(64))),
            "fingerprint mismatch for key 'test-key/v1'",
        ),
        ("fingerprint wrong type", |d| d["keys"][0]["public_key_fingerprint"] = json!(1), "fingerprint mismatch"),
        ("duplicate key ids", |d| d["keys"][1]["key_id"] = json!("test-key/v1"), "duplicate key_id 'test-key/v1'"),
        (
            "same key twice",
            |d| {
                let k = d["keys"][0]["public_key"].clone();
                d["keys"][1]["public_key"] = k;
                d["keys"][1].as_object_mut().unwrap().remove("public_key_fingerprint");
            },
            "repeats the public key",
        ),
        (
            "padded base64",
            |d| d["keys"][0]["public_key"] = json!("O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="),
            "base64url",
        ),
        (
            "non-canonical pad bits",
            |d| d["keys"][0]["public_key"] = json!("O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2il"),
            "base64url",
        ),
        (
            "standard alphabet",
            |d| d["keys"][0]["public_key"] = json!("O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ+ik"),
            "base64url",
        ),
        ("short key", |d| d["keys"][0]["public_key"] = json!("AAAA"), "32 bytes"),
        ("alg", |d| d["keys"][0]["alg"] = json!("ES256"), "alg must be \"Ed25519\""),
        (
            "missing alg",
            |d| {
                d["keys"][0].as_object_mut().unwrap().remove("alg");
            },
            "alg must be a string",
        ),
        (
            "active_from without millis",
            |d| d["keys"][1]["active_from"] = json!("2026-04-01T00:00:00Z"),
            "millisecond precision",
        ),
        (
            "active_from offset",
            |d| d["keys"][1]["active_from"] = json!("2026-04-01T00:00:00.000+00:00"),
            "millisecond precision",
        ),
        ("active_until calendar", |d| d["keys"][1]["active_until"] = json!("2026-02-30T00:00:00.000Z"), "calendar"),
        ("active_until type", |d| d["keys"][1]["active_until"] = json!(5), "active_until must be a string or null"),
        (
            "active_until missing",
            |d| {
                d["keys"][1].as_object_mut().unwrap().remove("active_until");
            },
            "active_until must be present",
        ),
        (
            "empty window",
            |d| d["keys"][1]["active_until"] = json!("2026-04-01T00:00:00.000Z"),
            "must be after active_from",
        ),
        (
            "inverted window",
            |d| d["keys"][1]["active_until"] = json!("2026-03-01T00:00:00.000Z"),
            "must be after active_from",
        ),
        ("empty workspace", |d| d["workspace_id"] = json!(""), "workspace_id must be a non-empty string"),
        ("keys not array", |d| d["keys"] = json!({}), "'keys' array"),
        ("entry not object", |d| d["keys"][0] = json!("k"), "keys[0] must be an object"),
        ("empty key id", |d| d["keys"][0]["key_id"] = json!(""), "key_id must be a non-empty string"),
        (
            "not a point",
            |d| {
                d["keys"][0]["public_key"] = json!("AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
                d["keys"][0].as_object_mut().unwrap().remove("public_key_fingerprint");
            },
            "public_key",
        ),
    ];
    for (what, edit, needle) in cases {
        let mut doc = key_doc();
        edit(&mut doc);
        let e = load(&doc).expect_err(what);
        assert_eq!(e.kind, Kind::KeyDocument, "{what}: {}", e.message);
        assert!(e.message.contains(needle), "{what}: {:?} lacks {needle:?}", e.message);
    }
    // Unknown members of an entry are ignored.
    let mut doc = key_doc();
    doc["keys"][0]["use"] = json!("sig");
    assert!(load(&doc).is_ok());
    // The strict parser guards key documents too.
    let e = load_keys_from_json(br#"{"workspace_id":"a","workspace_id":"b","keys":[]}"#).unwrap_err();
    assert_eq!(e.kind, Kind::KeyDocument);
    assert!(e.message.contains("duplicate member name"));
}

#[test]
fn keys_with_small_order_components_are_refused() {
    let honest = SigningKey::generate(&mut OsRng).verifying_key();
    // (sqrt(-1), 0) has order 4; adding it gives a mixed-order point.
    let order4 = ed25519_dalek::VerifyingKey::from_bytes(&[0u8; 32]).unwrap();
    let mixed = (honest.to_edwards() + order4.to_edwards()).compress().to_bytes();
    let mixed = ed25519_dalek::VerifyingKey::from_bytes(&mixed).unwrap();
    let e = PublicKeyEntry::new("mixed", mixed, "2026-01-01T00:00:00.000Z", None).unwrap_err();
    assert_eq!(e.kind, Kind::KeyDocument);
    assert!(e.message.contains("torsion"), "{}", e.message);
    let e = PublicKeyEntry::new("weak", order4, "2026-01-01T00:00:00.000Z", None).unwrap_err();
    assert!(e.message.contains("weak"), "{}", e.message);
}

// ---- checkpoints ----

struct CheckpointCase {
    checkpoint: Value,
    members: Vec<Value>,
    previous: Value,
    expected_root: String,
}

fn checkpoint_case() -> CheckpointCase {
    let c = &group("checkpoint_cases")[0];
    CheckpointCase {
        checkpoint: field(c, "checkpoint").clone(),
        members: field(c, "receipts").as_array().unwrap().to_vec(),
        previous: field(c, "previous_checkpoint").clone(),
        expected_root: text(c, "expected_merkle_root").to_owned(),
    }
}

#[test]
fn checkpoint_vector() {
    let c = checkpoint_case();
    let keys = keys();
    assert_eq!(merkle_root(&c.members).unwrap(), c.expected_root);
    let reversed: Vec<&Value> = c.members.iter().rev().collect();
    assert_eq!(merkle_root(&reversed).unwrap(), c.expected_root, "the root is order-independent");
    let ok = verify_checkpoint(&c.checkpoint, &c.members, Some(&c.previous), &keys, &opts()).unwrap();
    assert_eq!(ok.name, "receipt.checkpoint");
    assert!(verify_checkpoint(&c.checkpoint, &c.members, None, &keys, &opts()).is_ok());
    // The previous (empty-day) checkpoint verifies with no members.
    assert!(verify_checkpoint(&c.previous, &[], None, &keys, &opts()).is_ok());
}

fn expect_checkpoint_error(r: Result<allowly_core::receipt::VerifiedReceipt, VerificationError>, needle: &str) {
    let e = r.expect_err(needle);
    assert_eq!(e.kind, Kind::Checkpoint, "{}", e.message);
    assert!(e.message.contains(needle), "{:?} lacks {needle:?}", e.message);
}

fn with_member(v: &Value, name: &str, value: Value) -> Value {
    let mut o: Object = v.as_object().unwrap().clone();
    o.insert(name, value);
    Value::Object(o)
}

#[test]
fn checkpoint_detects_dropped_duplicated_and_tampered_members() {
    let c = checkpoint_case();
    let keys = keys();
    let o = opts();
    let prev = Some(&c.previous);

    expect_checkpoint_error(
        verify_checkpoint(&c.checkpoint, &c.members[..1], prev, &keys, &o),
        "receipt_count mismatch",
    );
    let dup = vec![c.members[0].clone(), c.members[0].clone()];
    expect_checkpoint_error(verify_checkpoint(&c.checkpoint, &dup, prev, &keys, &o), "duplicate checkpoint member");
    let mut tampered = c.members.clone();
    tampered[1] = with_member(&tampered[1], "user_id", Value::String("emp_ATTACKER".into()));
    expect_checkpoint_error(
        verify_checkpoint(&c.checkpoint, &tampered, prev, &keys, &o),
        "signature verification failed",
    );
    // A different but valid member from another day.
    let mut swapped = c.members.clone();
    swapped[1] = field(&group("should_verify")[5], "receipt").clone(); // issued 2026-06-09
    expect_checkpoint_error(
        verify_checkpoint(&c.checkpoint, &swapped, prev, &keys, &o),
        "outside the checkpoint period",
    );
    // A valid same-day member that was not committed: count matches, root does not.
    let mut other = c.members.clone();
    other[1] = field(&group("should_verify")[2], "receipt").clone(); // action_unicode, 2026-04-21
    expect_checkpoint_error(verify_checkpoint(&c.checkpoint, &other, prev, &keys, &o), "merkle_root mismatch");
    // Checkpoints are never members.
    let mut nested = c.members.clone();
    nested[1] = c.previous.clone();
    let e = verify_checkpoint(&c.checkpoint, &nested, prev, &keys, &o).unwrap_err();
    assert_eq!(e.kind, Kind::Checkpoint);
    // The prior link must be the named checkpoint.
    expect_checkpoint_error(
        verify_checkpoint(&c.checkpoint, &c.members, Some(&c.checkpoint), &keys, &o),
        "previous_checkpoint_id mismatch",
    );
    expect_checkpoint_error(
        verify_checkpoint(&c.previous, &[], Some(&c.checkpoint), &keys, &o),
        "no previous_checkpoint_id",
    );
    let mut bad_prev = c.previous.clone();
    bad_prev = with_member(&bad_prev, "reason", Value::String("edited".into()));
    expect_checkpoint_error(
        verify_checkpoint(&c.checkpoint, &c.members, Some(&bad_prev), &keys, &o),
        "previous checkpoint",
    );
    // A non-checkpoint receipt is not a checkpoint.
    expect_checkpoint_error(verify_checkpoint(&c.members[0], &[], None, &keys, &o), "must be a receipt.checkpoint");
}

// ---- signing ----

fn base_receipt(key_id: &str, issued_at: &str) -> serde_json::Value {
    json!({
        "schema_version": "4",
        "receipt_id": format!("rcp_{issued_at}"),
        "workspace_id": "ws_sign",
        "issued_at": issued_at,
        "decision": "allow",
        "reason": "authorization_granted_action_active",
        "user_id": "emp_1",
        "agent_id": "agent_1",
        "action": "email.send",
        "resource": null,
        "context": {"note": "line\nbreak", "😀": 1, "\u{ff61}": [true, null, -5], "nested": {"b": 2, "a": "é"}},
        "authorization_id": "auth_1",
        "engine_version": "2026-11-01.1",
        "alg": "Ed25519",
        "key_id": key_id,
    })
}

fn sign_opts() -> VerifyOptions {
    VerifyOptions {
        expected_workspace_id: Some("ws_sign".into()),
        now: Some(datetime!(2026-11-23 00:00 UTC)),
        ..VerifyOptions::default()
    }
}

#[test]
fn sign_then_verify_with_rotation() {
    let old = SigningKey::generate(&mut OsRng);
    let new = SigningKey::generate(&mut OsRng);
    let keys = KeySet::from_entries(
        "ws_sign",
        vec![
            PublicKeyEntry::new(
                "k/1",
                old.verifying_key(),
                "2026-01-01T00:00:00.000Z",
                Some("2026-04-01T00:00:00.000Z"),
            )
            .unwrap(),
            PublicKeyEntry::new("k/2", new.verifying_key(), "2026-04-01T00:00:00.000Z", None).unwrap(),
        ],
    )
    .unwrap();
    // The served document loads back to the same set.
    assert_eq!(load_keys_from_json(&serde_json::to_vec(&keys.to_json()).unwrap()).unwrap(), keys);

    let verify = |r: &serde_json::Value| verify_receipt(&Value::from(r), &keys, &sign_opts());
    let in_old_window = sign_receipt(&base_receipt("k/1", "2026-03-31T23:59:59.999Z"), &old).unwrap();
    assert_eq!(verify(&in_old_window).unwrap().key_id, "k/1");
    let after_rotation = sign_receipt(&base_receipt("k/1", "2026-04-01T00:00:00.000Z"), &old).unwrap();
    let e = verify(&after_rotation).unwrap_err();
    assert_eq!(e.kind, Kind::KeyOutsideWindow);
    assert!(e.message.contains("retired before issued_at"));
    let new_key = sign_receipt(&base_receipt("k/2", "2026-04-01T00:00:00.000Z"), &new).unwrap();
    assert!(verify(&new_key).is_ok());
    let before_new = sign_receipt(&base_receipt("k/2", "2026-03-31T23:59:59.999Z"), &new).unwrap();
    assert!(verify(&before_new).unwrap_err().message.contains("not yet active"));
    // Signed by the wrong key for its key_id.
    let wrong = sign_receipt(&base_receipt("k/2", "2026-05-01T00:00:00.000Z"), &old).unwrap();
    assert_eq!(verify(&wrong).unwrap_err().kind, Kind::SignatureMismatch);

    // Through bytes, as a client receives it.
    let bytes = serde_json::to_vec(&new_key).unwrap();
    assert!(verify_receipt_json(&bytes, &keys, &sign_opts()).is_ok());

    // Parsed-value signing gives the same signature (Ed25519 is deterministic).
    let parsed = json::parse(&serde_json::to_vec(&base_receipt("k/2", "2026-04-01T00:00:00.000Z")).unwrap()).unwrap();
    let signed = sign_receipt_value(parsed.as_object().unwrap(), &new).unwrap();
    assert_eq!(signed.get("signature").and_then(Value::as_str), new_key["signature"].as_str());
    assert_eq!(sign_payload(&signed, &new).unwrap(), new_key["signature"].as_str().unwrap());
}

#[test]
fn signing_refuses_what_verification_would_refuse() {
    let key = SigningKey::generate(&mut OsRng);
    let mut r = base_receipt("k", "2026-04-01T00:00:00.000Z");
    r["context"]["ratio"] = json!(0.5);
    let e = sign_receipt(&r, &key).unwrap_err();
    assert_eq!(e.kind, Kind::Malformed);
    assert!(e.message.contains("non-integer number"));
    assert_eq!(sign_receipt(&json!([1]), &key).unwrap_err().message, "receipt must be an object");
}

fn sign_event(key: &SigningKey, event: &str, decision: &str, authorization_id: serde_json::Value) -> serde_json::Value {
    let mut r = base_receipt("k", "2026-06-01T00:00:00.000Z");
    let o = r.as_object_mut().unwrap();
    o.remove("action");
    o.insert("event".into(), json!(event));
    o.insert("decision".into(), json!(decision));
    o.insert("resource".into(), json!("doc:42"));
    o.insert("authorization_id".into(), authorization_id);
    sign_receipt(&r, key).unwrap()
}

#[test]
fn confirmation_resolve_extension() {
    let key = SigningKey::generate(&mut OsRng);
    let keys = KeySet::from_entries(
        "ws_sign",
        vec![PublicKeyEntry::new("k", key.verifying_key(), "2026-01-01T00:00:00.000Z", None).unwrap()],
    )
    .unwrap();
    let verify = |r: &serde_json::Value| verify_receipt(&Value::from(r), &keys, &sign_opts());
    for decision in ["confirmation_approved", "confirmation_rejected"] {
        let ok = verify(&sign_event(&key, "confirmation.resolve", decision, json!("auth_1"))).unwrap();
        assert_eq!(
            (ok.kind, ok.name.as_str(), ok.decision.as_str()),
            (ReceiptKind::Event, "confirmation.resolve", decision)
        );
        assert_eq!(ok.authorization_id.as_deref(), Some("auth_1"));
    }
    let e = verify(&sign_event(&key, "confirmation.resolve", "escalation_approved", json!("auth_1"))).unwrap_err();
    assert!(e.message.contains("must have decision"), "{}", e.message);
    let e = verify(&sign_event(&key, "confirmation.resolve", "confirmation_approved", json!(null))).unwrap_err();
    assert!(e.message.contains("must have non-null authorization_id"), "{}", e.message);
    // Its decisions are reserved for the event.
    let mut action = base_receipt("k", "2026-06-01T00:00:00.000Z");
    action["decision"] = json!("confirmation_rejected");
    let e = verify(&sign_receipt(&action, &key).unwrap()).unwrap_err();
    assert!(e.message.contains("requires an event receipt"), "{}", e.message);
}

#[test]
fn signed_checkpoint_round_trip() {
    let key = SigningKey::generate(&mut OsRng);
    let keys = KeySet::from_entries(
        "ws_sign",
        vec![PublicKeyEntry::new("k", key.verifying_key(), "2026-01-01T00:00:00.000Z", None).unwrap()],
    )
    .unwrap();
    let members: Vec<Value> = ["2026-05-01T00:00:00.000Z", "2026-05-01T12:00:00.000Z", "2026-05-01T23:59:59.999Z"]
        .iter()
        .map(|t| Value::from(&sign_receipt(&base_receipt("k", t), &key).unwrap()))
        .collect();
    let root = merkle_root(&members).unwrap();
    let checkpoint = |issued_at: &str| {
        Value::from(
            &sign_receipt(
                &json!({
                    "schema_version": "4", "receipt_id": "rcp_cp", "workspace_id": "ws_sign", "issued_at": issued_at,
                    "decision": "receipt_set_committed", "reason": "signed_receipt_set_checkpointed", "user_id": "",
                    "agent_id": "allowly.checkpoint", "event": "receipt.checkpoint", "resource": null,
                    "context": {"period_start": "2026-05-01T00:00:00.000Z", "period_end": "2026-05-02T00:00:00.000Z",
                        "receipt_count": 3, "merkle_root": root, "previous_checkpoint_id": null, "previous_merkle_root": null},
                    "authorization_id": null, "engine_version": "e", "alg": "Ed25519", "key_id": "k",
                }),
                &key,
            )
            .unwrap(),
        )
    };
    assert!(verify_checkpoint(&checkpoint("2026-05-02T00:00:00.000Z"), &members, None, &keys, &sign_opts()).is_ok());
    let e = verify_receipt(&checkpoint("2026-05-01T23:59:59.999Z"), &keys, &sign_opts()).unwrap_err();
    assert_eq!(e.kind, Kind::Schema);
    assert!(e.message.contains("at or after period_end"), "{}", e.message);
}

// ---- strict parsing on the verification path ----

#[test]
fn parser_guards_the_json_entry_point() {
    let keys = keys();
    let good = serde_json::to_vec(&field(&group("should_verify")[0], "receipt").to_serde().unwrap()).unwrap();
    assert!(verify_receipt_json(&good, &keys, &opts()).is_ok());

    let mut dup = good.clone();
    dup.pop(); // closing brace
    dup.extend_from_slice(br#","user_id":"emp_8821"}"#);
    let e = verify_receipt_json(&dup, &keys, &opts()).unwrap_err();
    assert_eq!(e.kind, Kind::Malformed);
    assert!(e.message.contains("duplicate member name 'user_id'"));

    let mut trailing = good.clone();
    trailing.extend_from_slice(b" {}");
    assert_eq!(verify_receipt_json(&trailing, &keys, &opts()).unwrap_err().kind, Kind::Malformed);

    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(&good);
    assert_eq!(verify_receipt_json(&bom, &keys, &opts()).unwrap_err().kind, Kind::Malformed);

    let bomb = "[".repeat(100_000);
    assert_eq!(verify_receipt_json(bomb.as_bytes(), &keys, &opts()).unwrap_err().kind, Kind::Malformed);
    let obj_bomb = "{\"a\":".repeat(100_000);
    assert_eq!(verify_receipt_json(obj_bomb.as_bytes(), &keys, &opts()).unwrap_err().kind, Kind::Malformed);

    // The lone surrogate in the vector file survives parsing and is reported by canonicalization.
    let lone = group("should_reject").iter().find(|v| text(v, "name") == "context_lone_surrogate").unwrap();
    let note = field(field(field(lone, "receipt"), "context"), "note");
    let Value::String(s) = note else { panic!("note is a string") };
    assert!(s.has_unpaired_surrogate());
    assert_eq!(s.raw_utf16().unwrap()[3], 0xD800);
}

// ---- wire 5 (tests/conformance/receipt-format-v5, generated by its generate.py) ----

mod wire5 {
    use std::sync::OnceLock;

    use allowly_core::error::VerificationErrorKind as Kind;
    use allowly_core::receipt::json::{self, Object};
    use allowly_core::receipt::{
        KeySet, ReceiptKind, Value, VerifyOptions, is_jws, merkle_root, sign_receipt_jws, verify_batch,
        verify_batch_json, verify_checkpoint, verify_receipt, verify_receipt_json,
    };
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::SigningKey;
    use sha2::{Digest, Sha256};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    use super::{field, text};

    pub(super) fn vectors() -> &'static Value {
        static V: OnceLock<Value> = OnceLock::new();
        V.get_or_init(|| {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/receipt-format-v5/test-vectors.json");
            json::parse(&std::fs::read(path).expect("v5 vector file")).expect("the v5 vector file parses strictly")
        })
    }

    fn group(name: &str) -> &'static [Value] {
        field(vectors(), name).as_array().unwrap()
    }

    fn keys() -> KeySet {
        KeySet::from_value(field(vectors(), "public_keys")).expect("v5 key document loads")
    }

    fn opts() -> VerifyOptions {
        VerifyOptions {
            expected_workspace_id: Some("ws_test".into()),
            now: Some(OffsetDateTime::parse(text(vectors(), "now"), &Rfc3339).unwrap()),
            ..VerifyOptions::default()
        }
    }

    /// The decoded payload (or header) of a JWS vector.
    fn decoded(receipt: &Value, member: &str) -> Value {
        json::parse(&URL_SAFE_NO_PAD.decode(text(receipt, member)).unwrap()).unwrap()
    }

    fn kind_of(code: &str) -> Kind {
        [
            Kind::Malformed,
            Kind::Schema,
            Kind::UnsupportedVersion,
            Kind::Timestamp,
            Kind::UnknownKey,
            Kind::KeyOutsideWindow,
            Kind::UntrustedKey,
            Kind::WorkspaceMismatch,
            Kind::SignatureMismatch,
            Kind::KeyDocument,
            Kind::Checkpoint,
        ]
        .into_iter()
        .find(|k| k.as_str() == code)
        .unwrap_or_else(|| panic!("unknown expected_kind {code}"))
    }

    #[test]
    fn vector_file_shape() {
        assert_eq!(text(vectors(), "spec_version"), "5");
        assert_eq!(group("should_verify").len(), 29);
        assert_eq!(group("should_reject").len(), 88);
        assert_eq!(group("checkpoint_cases").len(), 1);
        assert!(group("should_verify").iter().all(|v| is_jws(field(v, "receipt"))));
    }

    #[test]
    fn every_should_verify_vector_verifies() {
        let keys = keys();
        let mut failures = Vec::new();
        for v in group("should_verify") {
            let name = text(v, "name");
            let receipt = field(v, "receipt");
            let payload = decoded(receipt, "payload");
            match verify_receipt(receipt, &keys, &opts()) {
                Ok(ok) => {
                    assert_eq!(ok.schema_version, "5", "{name}");
                    assert_eq!(ok.receipt_id, text(&payload, "receipt_id"), "{name}");
                    assert_eq!(ok.workspace_id, "ws_test");
                    assert_eq!(ok.issued_at, text(&payload, "issued_at"));
                    assert_eq!(ok.key_id, text(&decoded(receipt, "protected"), "kid"), "{name}");
                    assert_eq!(ok.decision, text(&payload, "decision"));
                    let action = text(v, "kind") == "action";
                    assert_eq!(ok.kind, if action { ReceiptKind::Action } else { ReceiptKind::Event }, "{name}");
                    assert_eq!(ok.name, text(&payload, if action { "action" } else { "event" }), "{name}");
                    assert_eq!(ok.authorization_id.as_deref(), field(&payload, "authorization_id").as_str());
                }
                Err(e) => failures.push(format!("{name}: {:?} {}", e.kind, e.message)),
            }
        }
        assert!(failures.is_empty(), "v5 vectors that should verify failed:\n{}", failures.join("\n"));
    }

    #[test]
    fn every_should_reject_vector_is_rejected_with_its_kind_and_reason() {
        let keys = keys();
        let mut failures = Vec::new();
        for v in group("should_reject") {
            let name = text(v, "name");
            let reason = text(v, "expected_reason");
            let kind = kind_of(text(v, "expected_kind"));
            match verify_receipt(field(v, "receipt"), &keys, &opts()) {
                Ok(_) => failures.push(format!("{name}: verified, expected {kind:?} containing {reason:?}")),
                Err(e) if e.kind != kind || !e.message.contains(reason) => failures
                    .push(format!("{name}: {:?} {:?}, expected {kind:?} containing {reason:?}", e.kind, e.message)),
                Err(_) => {}
            }
        }
        assert!(failures.is_empty(), "v5 rejection vectors misbehaved:\n{}", failures.join("\n"));
    }

    fn all_receipts() -> Vec<Value> {
        group("should_verify").iter().chain(group("should_reject")).map(|v| field(v, "receipt").clone()).collect()
    }

    #[test]
    fn json_entry_point_and_batches_agree_with_single_verification() {
        let keys = keys();
        let receipts = all_receipts();
        for r in &receipts {
            let bytes = r.to_json_string();
            assert_eq!(verify_receipt_json(bytes.as_bytes(), &keys, &opts()), verify_receipt(r, &keys, &opts()));
        }
        // Mixed chunks of valid and invalid signatures, several chunks in parallel.
        let many: Vec<Value> = (0..6).flat_map(|_| receipts.iter().cloned()).collect();
        let batch = verify_batch(&many, &keys, &opts());
        for (r, b) in many.iter().zip(&batch) {
            assert_eq!(&verify_receipt(r, &keys, &opts()), b);
        }
        assert_eq!(batch.iter().filter(|r| r.is_ok()).count(), 29 * 6);
        let texts: Vec<String> = many.iter().map(Value::to_json_string).collect();
        let refs: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
        assert_eq!(verify_batch_json(&refs, &keys, &opts()), batch);
        // An all-valid wire-5 batch takes the fast path end to end.
        let valid: Vec<Value> = group("should_verify").iter().map(|v| field(v, "receipt").clone()).collect();
        let many_valid: Vec<Value> = (0..20).flat_map(|_| valid.iter().cloned()).collect();
        assert!(verify_batch(&many_valid, &keys, &opts()).iter().all(Result::is_ok));
    }

    #[test]
    fn one_batch_holds_both_wires() {
        // The v4 action vectors, re-dated into the v5 key's window and re-signed with it as wire 4.
        let v1 = seed_key("v1");
        let v4: Vec<Value> = field(super::vectors(), "should_verify")
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| text(v, "kind") == "action")
            .map(|v| {
                let mut r = field(v, "receipt").to_serde().unwrap();
                r["issued_at"] = serde_json::json!("2026-05-04T10:00:00.000Z");
                r["key_id"] = serde_json::json!("test-key/v1");
                Value::from(&allowly_core::receipt::sign_receipt(&r, &v1).unwrap())
            })
            .collect();
        let mut mixed: Vec<Value> = group("should_verify").iter().map(|v| field(v, "receipt").clone()).collect();
        for (i, r) in v4.iter().enumerate() {
            mixed.insert(i * 2, r.clone());
        }
        let results = verify_batch(&mixed, &keys(), &opts());
        let versions: Vec<&str> = results.iter().map(|r| r.as_ref().unwrap().schema_version.as_str()).collect();
        assert_eq!(versions.iter().filter(|v| **v == "4").count(), v4.len());
        assert_eq!(versions.iter().filter(|v| **v == "5").count(), 29);
    }

    #[test]
    fn oversized_envelopes_are_refused_before_decoding() {
        let mut o = Object::new();
        o.insert("protected", Value::String("A".repeat(8 * 1024 * 1024).into()));
        o.insert("payload", Value::String("AA".into()));
        o.insert("signature", Value::String("AA".into()));
        let e = verify_receipt(&Value::Object(o), &keys(), &opts()).unwrap_err();
        assert_eq!(e.kind, Kind::Schema);
        assert!(e.message.contains("size limit"), "{}", e.message);
    }

    struct Case {
        checkpoint: Value,
        members: Vec<Value>,
        previous: Value,
        root: String,
    }

    fn case() -> Case {
        let c = &group("checkpoint_cases")[0];
        Case {
            checkpoint: field(c, "checkpoint").clone(),
            members: field(c, "receipts").as_array().unwrap().to_vec(),
            previous: field(c, "previous_checkpoint").clone(),
            root: text(c, "expected_merkle_root").to_owned(),
        }
    }

    #[test]
    fn checkpoint_vector_over_jws_members() {
        let c = case();
        let keys = keys();
        assert_eq!(merkle_root(&c.members).unwrap(), c.root);
        let reversed: Vec<&Value> = c.members.iter().rev().collect();
        assert_eq!(merkle_root(&reversed).unwrap(), c.root);
        let ok = verify_checkpoint(&c.checkpoint, &c.members, Some(&c.previous), &keys, &opts()).unwrap();
        assert_eq!((ok.name.as_str(), ok.schema_version.as_str()), ("receipt.checkpoint", "5"));
        assert!(verify_checkpoint(&c.previous, &[], None, &keys, &opts()).is_ok());
    }

    fn expect_checkpoint_error(
        r: Result<allowly_core::receipt::VerifiedReceipt, super::VerificationError>,
        needle: &str,
    ) {
        let e = r.expect_err(needle);
        assert_eq!(e.kind, Kind::Checkpoint, "{}", e.message);
        assert!(e.message.contains(needle), "{:?} lacks {needle:?}", e.message);
    }

    #[test]
    fn checkpoint_members_and_links_must_be_wire_5() {
        let c = case();
        let keys = keys();
        let o = opts();
        let prev = Some(&c.previous);
        expect_checkpoint_error(verify_checkpoint(&c.checkpoint, &c.members[..1], prev, &keys, &o), "receipt_count");
        let dup = vec![c.members[0].clone(), c.members[0].clone()];
        expect_checkpoint_error(verify_checkpoint(&c.checkpoint, &dup, prev, &keys, &o), "duplicate checkpoint member");
        // A tampered member: its payload swapped for another's, signature kept.
        let mut tampered = c.members.clone();
        let mut obj = tampered[1].as_object().unwrap().clone();
        obj.insert("payload", field(&c.members[0], "payload").clone());
        tampered[1] = Value::Object(obj);
        expect_checkpoint_error(
            verify_checkpoint(&c.checkpoint, &tampered, prev, &keys, &o),
            "signature verification failed",
        );
        // A wire-4 member (or previous checkpoint) under a wire-5 checkpoint.
        let v4_member = field(&field(super::vectors(), "should_verify").as_array().unwrap()[0], "receipt").clone();
        let mixed = vec![c.members[0].clone(), v4_member.clone()];
        expect_checkpoint_error(verify_checkpoint(&c.checkpoint, &mixed, prev, &keys, &o), "wire-4 receipt");
        expect_checkpoint_error(merkle_root(&mixed).map(|_| unreachable!()), "all of one wire");
        let v4_prev = field(&field(super::vectors(), "checkpoint_cases").as_array().unwrap()[0], "checkpoint").clone();
        expect_checkpoint_error(
            verify_checkpoint(&c.checkpoint, &c.members, Some(&v4_prev), &keys, &o),
            "previous checkpoint is not a wire-5",
        );
        // The prior link must be the named checkpoint.
        expect_checkpoint_error(
            verify_checkpoint(&c.checkpoint, &c.members, Some(&c.checkpoint), &keys, &o),
            "previous_checkpoint_id mismatch",
        );
        expect_checkpoint_error(verify_checkpoint(&c.members[0], &[], None, &keys, &o), "must be a receipt.checkpoint");
    }

    /// The generator's fixed key seeds.
    fn seed_key(label: &str) -> SigningKey {
        let seed: [u8; 32] = Sha256::digest(format!("allowly receipt-format v5 test key {label}")).into();
        SigningKey::from_bytes(&seed)
    }

    #[test]
    fn signing_reproduces_the_generated_vectors() {
        let keys = keys();
        let by_kid = |kid: &str| if kid == "test-key/v2" { seed_key("v2") } else { seed_key("v1") };
        let mut reproduced = 0;
        for v in group("should_verify") {
            let name = text(v, "name");
            if matches!(
                name,
                "header_members_reordered"
                    | "payload_not_canonical_text"
                    | "payload_surrounded_by_whitespace"
                    | "context_surrogate_pair_escape"
                    | "context_minus_zero"
            ) {
                continue; // deliberately not canonical text
            }
            let receipt = field(v, "receipt");
            let kid = text(&decoded(receipt, "protected"), "kid").to_owned();
            let payload = decoded(receipt, "payload").to_serde().unwrap();
            let signed = sign_receipt_jws(&payload, &kid, &by_kid(&kid)).unwrap();
            for member in ["protected", "payload", "signature"] {
                assert_eq!(signed[member].as_str(), Some(text(receipt, member)), "{name}: {member} differs");
            }
            assert!(verify_receipt(&Value::from(&signed), &keys, &opts()).is_ok());
            reproduced += 1;
        }
        assert_eq!(reproduced, 24);
        let key = seed_key("v1");
        let e = sign_receipt_jws(&serde_json::json!([1]), "k", &key).unwrap_err();
        assert_eq!(e.kind, Kind::Schema);
        let e = sign_receipt_jws(&serde_json::json!({"a": 0.5}), "k", &key).unwrap_err();
        assert_eq!(e.kind, Kind::Malformed);
        assert_eq!(sign_receipt_jws(&serde_json::json!({}), "", &key).unwrap_err().kind, Kind::Schema);
    }

    /// Regenerating the vector file must reproduce the committed bytes. Needs python3 with `cryptography`;
    /// skipped (with the reason printed) without it.
    #[test]
    fn generator_reproduces_the_committed_file() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/receipt-format-v5");
        let probe = std::process::Command::new("python3").args(["-c", "import cryptography"]).output();
        match probe {
            Ok(out) if out.status.success() => {}
            Ok(_) => {
                eprintln!("SKIPPED generator_reproduces_the_committed_file: python3 has no `cryptography` module");
                return;
            }
            Err(e) => {
                eprintln!("SKIPPED generator_reproduces_the_committed_file: cannot run python3 ({e})");
                return;
            }
        }
        let out = std::process::Command::new("python3")
            .args([&format!("{dir}/generate.py"), "--check"])
            .output()
            .expect("run generate.py");
        assert!(
            out.status.success(),
            "generate.py --check failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
