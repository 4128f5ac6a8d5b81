//! The bodies of the receipt-side fuzz targets (`fuzz/`), kept here so that `cargo test` replays the same checks over
//! the committed seeds and crash reproducers on stable Rust (`core/tests/fuzz_replay.rs`), without libFuzzer.
//!
//! Each function panics when a property fails; a panic is what libFuzzer records as a crash. Not a stable API.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use crate::error::VerificationError;
use crate::receipt::json::{self, JsonString, Number, Object, Value};
use crate::receipt::{
    KeySet, VerifiedReceipt, VerifyOptions, canonical, verify_batch, verify_batch_json, verify_receipt,
};

/// The public vectors as the targets need them: the key document and the receipts that must verify.
pub struct Fixture {
    pub keys: KeySet,
    /// Every `should_verify` receipt, parsed strictly.
    pub valid: Vec<Value>,
    /// `(canonical payload, signature)` of every valid receipt: the only pairs a verifier may accept.
    signed: Vec<(Vec<u8>, String)>,
}

impl Fixture {
    /// Reads `test-vectors.json` (tests/conformance/receipt-format-v4). Panics on a malformed vector file, which is
    /// a broken checkout rather than a finding.
    pub fn from_vectors(bytes: &[u8]) -> Fixture {
        let doc = json::parse(bytes).expect("vector file parses");
        let top = doc.as_object().expect("vector file is an object");
        let keys = KeySet::from_value(top.get("public_keys").expect("public_keys")).expect("vector keys load");
        let valid: Vec<Value> = top
            .get("should_verify")
            .and_then(Value::as_array)
            .expect("should_verify")
            .iter()
            .map(|case| case.as_object().and_then(|c| c.get("receipt")).expect("case has a receipt").clone())
            .collect();
        let signed = valid.iter().map(signed_pair).collect::<Option<Vec<_>>>().expect("valid receipts are signed");
        let fx = Fixture { keys, valid, signed };
        for r in &fx.valid {
            verify_receipt(r, &fx.keys, &options()).expect("every should_verify vector verifies");
        }
        fx
    }

    /// A fixture loaded once per process from a path (the fuzz targets and the replay tests share this).
    pub fn cached(load: impl FnOnce() -> Vec<u8>) -> &'static Fixture {
        static FX: OnceLock<Fixture> = OnceLock::new();
        FX.get_or_init(|| Fixture::from_vectors(&load()))
    }
}

/// The options the conformance tests use: workspace pinned, a fixed clock (so a run never depends on the date).
pub fn options() -> VerifyOptions {
    VerifyOptions {
        expected_workspace_id: Some("ws_test".into()),
        now: Some(OffsetDateTime::from_unix_timestamp(1_795_392_000).expect("2026-11-23 is a valid instant")),
        ..VerifyOptions::default()
    }
}

fn signed_pair(receipt: &Value) -> Option<(Vec<u8>, String)> {
    let obj = receipt.as_object()?;
    let payload = canonical::payload_bytes(obj).ok()?;
    Some((payload, obj.get("signature")?.as_str()?.to_owned()))
}

/// Target `json_canonical`: the strict parser never panics; what it accepts is written back losslessly (re-parses
/// to the same value), and canonical bytes re-parse and re-canonicalize to the same bytes.
pub fn json_canonical(data: &[u8]) {
    let Ok(value) = json::parse(data) else { return };
    let text = value.to_json_string();
    let reparsed = json::parse(text.as_bytes()).unwrap_or_else(|e| panic!("lossless text does not re-parse: {e:?}"));
    assert_eq!(reparsed, value, "lossless writer changed the value");
    let validated = canonical::validate(&value);
    match canonical::canonicalize(&value) {
        Ok(bytes) => {
            assert!(validated.is_ok(), "canonicalize accepted what validate refused");
            let again = json::parse(&bytes).unwrap_or_else(|e| panic!("canonical bytes do not re-parse: {e:?}"));
            let bytes2 = canonical::canonicalize(&again).expect("canonical bytes re-canonicalize");
            assert_eq!(bytes, bytes2, "canonicalization is not idempotent");
            // Canonical bytes are plain JSON any library reads: a general-purpose parser must agree they are JSON.
            assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(), "canonical bytes are not JSON");
        }
        Err(e) => assert_eq!(validated.err(), Some(e), "validate and canonicalize disagree"),
    }
}

/// Single and batch verdicts compared: the same receipt must get the same answer from both paths.
fn same_verdict(
    single: &Result<VerifiedReceipt, VerificationError>,
    batch: &Result<VerifiedReceipt, VerificationError>,
) {
    match (single, batch) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "single and batch verified different contents"),
        (Err(a), Err(b)) => assert_eq!(a.kind, b.kind, "single and batch rejected for different reasons"),
        _ => panic!("single verification says {single:?} but batch says {batch:?}"),
    }
}

/// What may verify: only a receipt whose signed payload and signature are those of a genuine vector (the fuzzer holds
/// no private key, so anything else verifying would be a forgery).
fn assert_not_forged(fx: &Fixture, receipt: &Value, verdict: &Result<VerifiedReceipt, VerificationError>) {
    if verdict.is_ok() {
        let pair = signed_pair(receipt).expect("a verified receipt has a payload and a signature");
        assert!(fx.signed.contains(&pair), "a receipt no key holder signed was accepted: {}", receipt.to_json_string());
    }
}

/// Target `verify_bytes`: arbitrary bytes as a receipt against the vectors' key document. No panic; single and batch
/// verification agree (the batch holds a genuine receipt too, so the batch equation really runs); nothing unsigned
/// verifies.
pub fn verify_bytes(fx: &Fixture, data: &[u8]) {
    let opts = options();
    let parsed = json::parse(data);
    let single = match &parsed {
        Ok(v) => verify_receipt(v, &fx.keys, &opts),
        Err(e) => Err(e.clone()),
    };
    let genuine = fx.valid[data.len() % fx.valid.len()].to_json_string();
    let batch = verify_batch_json(&[data, genuine.as_bytes()], &fx.keys, &opts);
    same_verdict(&single, &batch[0]);
    assert!(batch[1].is_ok(), "a genuine receipt failed in a batch beside {data:?}: {:?}", batch[1]);
    if let Ok(v) = &parsed {
        assert_not_forged(fx, v, &single);
    }
}

/// Target `verify_mutate`: a genuine receipt (chosen by the first byte) edited by the ops the remaining bytes encode
/// (see `apply_op`). The edited receipt is verified alone, in a batch with the genuine ones, and after a lossless
/// write and re-parse; every path must agree, an unedited receipt must verify and nothing edited may verify unless
/// its signed payload and signature are still a genuine pair.
pub fn verify_mutate(fx: &Fixture, data: &[u8]) {
    let Some((&pick, mut ops)) = data.split_first() else { return };
    let base = &fx.valid[pick as usize % fx.valid.len()];
    let mut receipt = base.clone();
    while !ops.is_empty() {
        ops = apply_op(&mut receipt, ops);
    }
    let opts = options();
    let single = verify_receipt(&receipt, &fx.keys, &opts);
    if receipt == *base {
        assert!(single.is_ok(), "an unedited genuine receipt failed: {single:?}");
    }
    assert_not_forged(fx, &receipt, &single);

    // Two genuine neighbours: enough for the batch equation to run, few enough to keep executions fast.
    let n = fx.valid.len();
    let mut batch_in: Vec<Value> = (1..=2).map(|k| fx.valid[(pick as usize + k) % n].clone()).collect();
    let at = pick as usize % (batch_in.len() + 1);
    batch_in.insert(at, receipt.clone());
    let batch = verify_batch(&batch_in, &fx.keys, &opts);
    same_verdict(&single, &batch[at]);
    for (i, r) in batch.iter().enumerate() {
        assert!(i == at || r.is_ok(), "genuine receipt {i} failed in a batch with an edited one: {r:?}");
    }

    let text = receipt.to_json_string();
    let from_text = json::parse(text.as_bytes()).and_then(|v| verify_receipt(&v, &fx.keys, &opts));
    same_verdict(&single, &from_text);
}

/// Top-level members a mutation picks from: the format's own (one list, in `receipt::schema`) plus names it does
/// not know, which a strict verifier must reject.
const UNKNOWN_NAMES: [&str; 2] = ["extra", "__proto__"];

fn member_name(i: usize) -> &'static str {
    let known = crate::receipt::schema::FIELDS;
    let i = i % (known.len() + UNKNOWN_NAMES.len());
    known.get(i).copied().unwrap_or_else(|| UNKNOWN_NAMES[i - known.len()])
}

/// Values a mutation writes: each is something the format treats specially.
fn palette(i: u8, rest: &[u8]) -> Value {
    let text = String::from_utf8_lossy(rest).into_owned();
    match i % 24 {
        0 => Value::Null,
        1 => Value::Bool(i & 0x80 != 0),
        2 => Value::Number(Number::Int(i64::from(i))),
        3 => Value::Number(Number::Int(json::MAX_SAFE_INTEGER)),
        4 => Value::Number(Number::UnsafeInteger("9007199254740992".into())),
        5 => Value::Number(Number::NonInteger("1.0".into())),
        6 => Value::Number(Number::NonInteger("1e2".into())),
        7 => Value::String(JsonString::new(text)),
        8 => Value::String(JsonString::from_utf16(&[0xD800])),
        9 => Value::String(JsonString::new("")),
        10 => Value::Array(vec![]),
        11 => Value::Object(Object::new()),
        12 => Value::String("4".into()),
        13 => Value::String("Ed25519".into()),
        14 => Value::String("test-key/v1".into()),
        15 => Value::String("test-key/v2".into()),
        16 => Value::String("2026-04-21T14:32:17.482Z".into()),
        17 => Value::String("2026-04-21T14:32:17Z".into()),
        18 => Value::String("2099-01-01T00:00:00.000Z".into()),
        19 => Value::String("ws_other".into()),
        20 => Value::String("receipt.checkpoint".into()),
        21 => Value::String("allow".into()),
        22 => Value::String("deny".into()),
        _ => {
            let mut o = Object::new();
            o.insert(JsonString::new(text), Value::Number(Number::Int(1)));
            Value::Object(o)
        }
    }
}

/// Applies one edit encoded at the front of `ops` and returns the unread rest. Opcodes: set a top-level member to a
/// palette value, remove one, flip one bit of the signature (kept canonical base64url), edit one byte of a string
/// member, set or remove a `context` member, or move a member to the front (order must not matter).
fn apply_op<'a>(receipt: &mut Value, ops: &'a [u8]) -> &'a [u8] {
    let Value::Object(obj) = receipt else {
        return &[];
    };
    let (op, rest) = (ops[0], &ops[1..]);
    let arg = |i: usize| rest.get(i).copied().unwrap_or(0);
    let name = member_name(arg(0) as usize);
    match op % 7 {
        0 => {
            let len = (arg(2) % 8) as usize;
            let text = rest.get(3..3 + len).unwrap_or_default();
            obj.insert(name, palette(arg(1), text));
            rest.get(3 + len..).unwrap_or_default()
        }
        1 => {
            obj.remove(name);
            rest.get(1..).unwrap_or_default()
        }
        2 => {
            let bit = u16::from_le_bytes([arg(0), arg(1)]) as usize % 512;
            if let Some(sig) = obj.get("signature").and_then(Value::as_str) {
                if let Ok(mut raw) = URL_SAFE_NO_PAD.decode(sig) {
                    if let Some(b) = raw.get_mut(bit / 8) {
                        *b ^= 1 << (bit % 8);
                    }
                    obj.insert("signature", Value::String(URL_SAFE_NO_PAD.encode(raw).into()));
                }
            }
            rest.get(2..).unwrap_or_default()
        }
        3 => {
            if let Some(s) = obj.get(name).and_then(Value::as_str) {
                let mut bytes = s.as_bytes().to_vec();
                if !bytes.is_empty() {
                    let at = arg(1) as usize % bytes.len();
                    bytes[at] = arg(2);
                }
                let edited = String::from_utf8_lossy(&bytes).into_owned();
                obj.insert(name, Value::String(edited.into()));
            }
            rest.get(3..).unwrap_or_default()
        }
        4 | 5 => {
            let key = String::from_utf8_lossy(&[b'a' + arg(0) % 4]).into_owned();
            if let Some(Value::Object(ctx)) = obj.get("context").cloned() {
                let mut ctx = ctx;
                if op % 7 == 4 {
                    ctx.insert(key, palette(arg(1), &[]));
                } else {
                    ctx.remove(&key);
                }
                obj.insert("context", Value::Object(ctx));
            }
            rest.get(2..).unwrap_or_default()
        }
        _ => {
            if let Some(v) = obj.remove(name) {
                let mut front = Object::new();
                front.insert(name, v);
                for (k, v) in obj.members() {
                    front.insert(k.clone(), v.clone());
                }
                *obj = front;
            }
            rest.get(1..).unwrap_or_default()
        }
    }
}

/// Target `key_document`: the loader never panics; a loaded document written back (`to_json`) loads to the same set,
/// and every fingerprint is `sha256:` + 64 lowercase hex digits.
pub fn key_document(data: &[u8]) {
    let Ok(keys) = crate::receipt::load_keys_from_json(data) else { return };
    let text = keys.to_json().to_string();
    let again = crate::receipt::load_keys_from_json(text.as_bytes())
        .unwrap_or_else(|e| panic!("a loaded key document does not reload from its own JSON: {e:?}"));
    assert_eq!(again, keys, "key document changed on a round trip");
    for fp in keys.fingerprints() {
        let hex = fp.strip_prefix("sha256:").expect("fingerprint prefix");
        assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{fp}");
    }
}
