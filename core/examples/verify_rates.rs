//! P2 of `make bench`: our Rust verifier against bare ed25519-dalek on the same receipts, as one JSON document.
//!
//! Run: `cargo run --release --example verify_rates -p allowly-core -- receipts.jsonl keys.json [runs]`.
//! The inputs are the server-signed export `bench/gen_receipts.py` writes, so the floor verifies exactly the canonical
//! bytes and signatures our verifier checks. Criterion (`make bench-core`) gives confidence intervals on a synthetic
//! set; this example exists because the orchestrator needs plain numbers from the real set.

use std::time::Instant;

use allowly_core::receipt::canonical::payload_bytes_into;
use allowly_core::receipt::{
    Value, VerifyOptions, json, load_keys_from_json, verify_batch_json, verify_receipt, verify_receipt_json,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

fn rate(n: usize, f: impl FnOnce() -> usize) -> f64 {
    let started = Instant::now();
    let done = f();
    assert_eq!(done, n, "every receipt must verify");
    n as f64 / started.elapsed().as_secs_f64()
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 { s[m] } else { (s[m - 1] + s[m]) / 2.0 }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: verify_rates RECEIPTS.jsonl KEYS.json [RUNS]");
        std::process::exit(2);
    }
    let runs: usize = args.get(3).map(|r| r.parse().expect("RUNS is a number")).unwrap_or(5);
    let text = std::fs::read(&args[1]).expect("read receipts");
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let keys = load_keys_from_json(&std::fs::read(&args[2]).expect("read keys")).expect("key document");
    let opts = VerifyOptions {
        expected_workspace_id: Some(keys.workspace_id.clone()),
        trusted_fingerprints: keys.fingerprints(),
        ..VerifyOptions::default()
    };
    let n = lines.len();
    let values: Vec<Value> = lines.iter().map(|l| json::parse(l).expect("strict JSON")).collect();
    // The floor's inputs: each receipt's signed bytes (wire 4: the canonical payload; wire 5: `protected.payload`),
    // its signature and the key it names (wire 5: the header's kid).
    let raw: Vec<(Vec<u8>, Signature, VerifyingKey)> = values
        .iter()
        .map(|v| {
            let o = v.as_object().expect("receipt object");
            let b64 = |name: &str| o.get(name).and_then(Value::as_str).expect("JWS member");
            if allowly_core::receipt::is_jws(v) {
                let msg = format!("{}.{}", b64("protected"), b64("payload")).into_bytes();
                let sig: [u8; 64] = URL_SAFE_NO_PAD.decode(b64("signature")).expect("b64").try_into().expect("64");
                let header = json::parse(&URL_SAFE_NO_PAD.decode(b64("protected")).expect("b64")).expect("header");
                let kid = header.as_object().and_then(|h| h.get("kid")).and_then(Value::as_str).expect("kid");
                return (msg, Signature::from_bytes(&sig), keys.get(kid).expect("known key").public_key);
            }
            let mut msg = Vec::new();
            payload_bytes_into(o, &mut msg).expect("canonical bytes");
            let sig = o.get("signature").and_then(Value::as_str).expect("signature");
            let sig: [u8; 64] = URL_SAFE_NO_PAD.decode(sig).expect("base64url").try_into().expect("64 bytes");
            let key_id = o.get("key_id").and_then(Value::as_str).expect("key_id");
            (msg, Signature::from_bytes(&sig), keys.get(key_id).expect("known key").public_key)
        })
        .collect();
    let avg_payload = raw.iter().map(|(m, _, _)| m.len()).sum::<usize>() / n;

    let dalek = || raw.iter().filter(|(m, s, k)| k.verify(m, s).is_ok()).count();
    let single_json = || lines.iter().filter(|l| verify_receipt_json(l, &keys, &opts).is_ok()).count();
    let single_parsed = || values.iter().filter(|v| verify_receipt(v, &keys, &opts).is_ok()).count();
    let batch_all = || verify_batch_json(&lines, &keys, &opts).iter().filter(|r| r.is_ok()).count();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("one-thread pool");
    let batch_one = || one.install(batch_all);

    // Warm-up, and proof that every receipt verifies on every path.
    for f in [&dalek as &dyn Fn() -> usize, &single_json, &single_parsed, &batch_all, &batch_one] {
        assert_eq!(f(), n, "every receipt must verify");
    }
    let (mut d, mut sj, mut sp, mut ba, mut bo) = (vec![], vec![], vec![], vec![], vec![]);
    // Interleaved, so load from other processes hits every path alike.
    for _ in 0..runs {
        d.push(rate(n, dalek));
        sj.push(rate(n, single_json));
        sp.push(rate(n, single_parsed));
        ba.push(rate(n, batch_all));
        bo.push(rate(n, batch_one));
    }
    // Bare dalek batches of several sizes on one thread: what chunk size `verify_batch` should hand to dalek.
    let by_size: serde_json::Map<String, serde_json::Value> = [16usize, 32, 64, 128, 256]
        .iter()
        .map(|&size| {
            let batch = || {
                raw.chunks(size)
                    .map(|c| {
                        let m: Vec<&[u8]> = c.iter().map(|(m, _, _)| m.as_slice()).collect();
                        let s: Vec<Signature> = c.iter().map(|(_, s, _)| *s).collect();
                        let k: Vec<VerifyingKey> = c.iter().map(|(_, _, k)| *k).collect();
                        if ed25519_dalek::verify_batch(&m, &s, &k).is_ok() { c.len() } else { 0 }
                    })
                    .sum::<usize>()
            };
            let r: Vec<f64> = (0..runs).map(|_| rate(n, batch)).collect();
            (size.to_string(), serde_json::json!({"median": median(&r), "runs": r}))
        })
        .collect();
    let out = serde_json::json!({
        "dalek_batch_one_thread_per_s_by_chunk": by_size,
        "batch_chunk": allowly_core::receipt::batch::chunk_size(n),
        "receipts": n,
        "avg_canonical_payload_bytes": avg_payload,
        "rayon_threads": rayon::current_num_threads(),
        "dalek_verify_per_s": {"median": median(&d), "runs": d},
        "single_json_per_s": {"median": median(&sj), "runs": sj},
        "single_parsed_per_s": {"median": median(&sp), "runs": sp},
        "batch_all_cores_per_s": {"median": median(&ba), "runs": ba},
        "batch_one_thread_per_s": {"median": median(&bo), "runs": bo},
    });
    println!("{out}");
}
