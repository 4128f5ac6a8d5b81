//! The shared webhook vectors (`tests/conformance/webhooks/vectors.json`, also read by the Python, Node and Kotlin
//! tests): every case accepted or refused with its error code.

use std::time::Duration;

use allowly_core::webhook::{MemorySeenIds, WebhookVerifyOptions, verify_webhook_with};
use serde_json::Value;

#[test]
fn every_shared_webhook_vector() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/webhooks/vectors.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("json");
    let secret = doc["secret"].as_str().unwrap();
    let ws = doc["workspace_id"].as_str().unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let body = case["body"].as_str().unwrap().as_bytes();
        let headers: Vec<(String, String)> = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h[0].as_str().unwrap().to_owned(), h[1].as_str().unwrap().to_owned()))
            .collect();
        let store = MemorySeenIds::default();
        let opts = WebhookVerifyOptions {
            tolerance: Duration::from_secs(doc["tolerance_seconds"].as_u64().unwrap()),
            now: Some(case["now"].as_i64().unwrap()),
            seen: Some(&store),
        };
        let verify = || verify_webhook_with(body, headers.clone(), secret, ws, &opts);
        if case["deliver_twice"] == true {
            verify().unwrap_or_else(|e| panic!("{name}: the first delivery must pass: {e}"));
        }
        match (case["expect"].as_str().unwrap(), verify()) {
            ("accept", Ok(event)) => {
                let parsed: Value = serde_json::from_slice(body).unwrap();
                assert_eq!(event.id, parsed["id"], "{name}");
                assert_eq!(event.event_type, parsed["type"], "{name}");
                assert_eq!(event.data, parsed["data"], "{name}");
                assert_eq!(event.workspace_id, ws, "{name}");
            }
            ("reject", Err(e)) => {
                assert_eq!(e.code(), case["error"].as_str().unwrap(), "{name}: {e}");
                assert!(!e.to_string().contains(&secret[6..]), "{name}: the secret never appears in errors");
            }
            (want, got) => panic!("{name}: expected {want}, got {got:?}"),
        }
    }
}

/// The committed vectors and scenario are what `generate.py` writes (standard-library Python, so no skip beyond a
/// machine without python3).
#[test]
fn the_generator_reproduces_the_committed_files() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/webhooks/generate.py");
    let out = match std::process::Command::new("python3").args([script, "--check"]).output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("SKIPPED the_generator_reproduces_the_committed_files: cannot run python3 ({e})");
            return;
        }
    };
    assert!(
        out.status.success(),
        "generate.py --check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
