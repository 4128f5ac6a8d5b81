//! Receipt verification throughput against the floor of bare Ed25519 verification.
//!
//! Run: `cargo bench -p allowly-core --bench verify -- --warm-up-time 1 --measurement-time 3`.
//! Per-receipt groups cycle through 1000 realistic signed receipts (mixed action and event receipts with nested
//! contexts); the batch groups verify all 1000 per iteration.

use std::hint::black_box;

use allowly_core::receipt::canonical::payload_bytes_into;
use allowly_core::receipt::{
    KeySet, PublicKeyEntry, Value, VerifyOptions, sign_receipt, verify_batch, verify_receipt, verify_receipt_json,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, SigningKey, Verifier, VerifyingKey};
use rand::rngs::OsRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use time::macros::datetime;

const N: usize = 1000;

fn receipt(i: usize, rng: &mut impl Rng) -> serde_json::Value {
    let issued_at = format!(
        "2026-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + i % 10,
        1 + i % 28,
        i % 24,
        i % 60,
        (i * 7) % 60,
        i % 1000
    );
    let mut r = json!({
        "schema_version": "4",
        "receipt_id": format!("rcp_01HXZ2B3QW4N5M6P7R8S9T{i:04}"),
        "workspace_id": "ws_01HXA1B2C3D4E5F6G7H8J9K0L1",
        "issued_at": issued_at,
        "user_id": format!("emp_{}", rng.gen_range(1000..9999)),
        "agent_id": "referral_outreach",
        "resource": format!("edge:emp_{i}:conn_9f2a"),
        "authorization_id": format!("auth_01HXZ2A0K1L2M3N4P5Q6R7{i:04}"),
        "engine_version": "2026-04-17.1",
        "alg": "Ed25519",
        "key_id": "projects/allowly-prod/locations/global/keyRings/allowly-signing/cryptoKeys/ws_01HXA1/cryptoKeyVersions/3",
    });
    let o = r.as_object_mut().unwrap();
    match i % 5 {
        0..=2 => {
            o.insert("action".into(), json!("outreach.send"));
            o.insert("decision".into(), json!(["allow", "deny", "confirm", "escalate"][i % 4]));
            o.insert("reason".into(), json!("authorization_granted_action_active"));
            o.insert(
                "context".into(),
                json!({
                    "initiated_by": "agent", "origin": "chat", "session_id": format!("sess_{i}"),
                    "recipient": {"domain": "example.com", "count": rng.gen_range(1..50), "tags": ["referral", "q3"]},
                    "transcript_completeness": rng.gen_range(0..100),
                }),
            );
            if i % 5 == 2 {
                o.insert(
                    "policy_eval".into(),
                    json!({"matched_condition": {"field": "transcript_completeness", "op": "lt", "value": 100}, "field_value": 82}),
                );
            }
        }
        3 => {
            o.insert("event".into(), json!("authorization.create"));
            o.insert("decision".into(), json!("authorization_granted"));
            o.insert("reason".into(), json!("authorization_creation_reported_by_client"));
            o.insert("resource".into(), serde_json::Value::Null);
            o.insert(
                "context".into(),
                json!({
                    "actions": ["contact.enrich", {"name": "hiring.publish_feedback", "constraints": {"confirm_when": [{"field": "transcript_completeness", "lt": 100}]}}],
                    "requires_confirm_for": ["outreach.send"], "expires_at": "2026-12-31T00:00:00Z", "source": "csv_upload_v2",
                }),
            );
        }
        _ => {
            o.insert("event".into(), json!("budget.settle"));
            o.insert("decision".into(), json!("budget_settled"));
            o.insert("reason".into(), json!("actual_cost_reported"));
            o.insert(
                "context".into(),
                json!({"check_receipt_id": format!("rcp_check_{i}"), "estimated_cost_micros": rng.gen_range(1..1_000_000), "actual_cost_micros": rng.gen_range(1..1_000_000), "currency": "USD"}),
            );
        }
    }
    r
}

struct Fixture {
    keys: KeySet,
    opts: VerifyOptions,
    values: Vec<Value>,
    json: Vec<Vec<u8>>,
    raw: Vec<(Vec<u8>, Signature)>,
    verifying_key: VerifyingKey,
}

fn fixture() -> Fixture {
    let signing = SigningKey::generate(&mut OsRng);
    let key_id =
        "projects/allowly-prod/locations/global/keyRings/allowly-signing/cryptoKeys/ws_01HXA1/cryptoKeyVersions/3";
    let keys = KeySet::from_entries(
        "ws_01HXA1B2C3D4E5F6G7H8J9K0L1",
        vec![PublicKeyEntry::new(key_id, signing.verifying_key(), "2026-01-01T00:00:00.000Z", None).unwrap()],
    )
    .unwrap();
    let opts = VerifyOptions {
        expected_workspace_id: Some(keys.workspace_id.clone()),
        trusted_fingerprints: keys.fingerprints(),
        now: Some(datetime!(2026-11-23 00:00 UTC)),
        ..VerifyOptions::default()
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let signed: Vec<serde_json::Value> =
        (0..N).map(|i| sign_receipt(&receipt(i, &mut rng), &signing).unwrap()).collect();
    let values: Vec<Value> = signed.iter().map(Value::from).collect();
    let json: Vec<Vec<u8>> = signed.iter().map(|s| serde_json::to_vec(s).unwrap()).collect();
    let raw = values
        .iter()
        .map(|v| {
            let o = v.as_object().unwrap();
            let mut msg = Vec::new();
            payload_bytes_into(o, &mut msg).unwrap();
            let sig = o.get("signature").and_then(Value::as_str).unwrap();
            let sig: [u8; 64] = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig)
                .unwrap()
                .try_into()
                .unwrap();
            (msg, Signature::from_bytes(&sig))
        })
        .collect();
    for v in &values {
        verify_receipt(v, &keys, &opts).expect("fixture receipts verify");
    }
    Fixture { keys, opts, values, json, raw, verifying_key: signing.verifying_key() }
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    let avg_len = f.raw.iter().map(|(m, _)| m.len()).sum::<usize>() / N;
    eprintln!("{N} receipts, average canonical payload {avg_len} bytes");

    let mut g = c.benchmark_group("canonicalize");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    let mut buf = Vec::with_capacity(1024);
    g.bench_function("payload_bytes", |b| {
        b.iter(|| {
            buf.clear();
            payload_bytes_into(f.values[i % N].as_object().unwrap(), &mut buf).unwrap();
            i += 1;
            black_box(buf.len())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ed25519_dalek_raw");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("verify", |b| {
        b.iter(|| {
            let (msg, sig) = &f.raw[i % N];
            i += 1;
            f.verifying_key.verify(black_box(msg), sig).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("verify_single");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("verify_receipt", |b| {
        b.iter(|| {
            let r = verify_receipt(black_box(&f.values[i % N]), &f.keys, &f.opts).unwrap();
            i += 1;
            r
        })
    });
    g.finish();

    let mut g = c.benchmark_group("verify_json");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let r = verify_receipt_json(black_box(&f.json[i % N]), &f.keys, &f.opts).unwrap();
            i += 1;
            r
        })
    });
    g.finish();

    let mut g = c.benchmark_group("verify_batch");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    g.bench_function("all_cores", |b| b.iter(|| verify_batch(black_box(&f.values), &f.keys, &f.opts)));
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    g.bench_function("one_thread", |b| b.iter(|| one.install(|| verify_batch(black_box(&f.values), &f.keys, &f.opts))));
    g.finish();
}

criterion_group!(verify, benches);
criterion_main!(verify);
