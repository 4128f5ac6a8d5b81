//! The single-threaded smoke program of the cross builds (src/bin/verify_vectors.rs, run under qemu-user by
//! `make smoke-aarch64`) run natively here, so a change that breaks it fails `cargo test` on every machine, not only
//! on the one that cross-builds. Its counts are the vector files' own (receipt_conformance.rs checks them too).

#[path = "../src/bin/verify_vectors.rs"]
mod verify_vectors;

use std::path::Path;

use verify_vectors::{Counts, check_file, vector_files};

#[test]
fn the_smoke_program_agrees_with_every_public_receipt_vector() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let mut failures = Vec::new();
    let [v4, v5] = vector_files(&dir);
    let v4 = check_file(&v4, &mut failures).unwrap();
    let v5 = check_file(&v5, &mut failures).unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(v4, Counts { verified: 22, rejected: 39, checkpoints: 1 });
    assert_eq!(v5, Counts { verified: 29, rejected: 88, checkpoints: 1 });
}

#[test]
fn the_smoke_program_reports_a_vector_that_disagrees() {
    // A should_verify vector whose signature is broken must be reported, not counted.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let [v4, _] = vector_files(&dir);
    // Edited as text: the file holds lone surrogates that serde_json would not read back.
    let text = std::fs::read_to_string(&v4).unwrap();
    let doc = allowly_core::receipt::json::parse(text.as_bytes()).unwrap();
    let first = &doc.as_object().unwrap().get("should_verify").unwrap().as_array().unwrap()[0];
    let receipt = first.as_object().unwrap().get("receipt").unwrap().as_object().unwrap();
    let sig = receipt.get("signature").unwrap().as_str().unwrap();
    let lead = if sig.starts_with('A') { "B" } else { "A" };
    let flipped = format!("{lead}{}", &sig[1..]);
    // Other vectors reuse this signature; the first occurrence is this vector's (should_verify comes first).
    let text = text.replacen(sig, &flipped, 1);
    let tmp = std::env::temp_dir().join(format!("allowly-vectors-smoke-{}.json", std::process::id()));
    std::fs::write(&tmp, text).unwrap();
    let mut failures = Vec::new();
    let counts = check_file(&tmp, &mut failures);
    std::fs::remove_file(&tmp).unwrap();
    assert_eq!(counts.unwrap().verified, 21);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].starts_with("wire 4 "), "{}", failures[0]);
}
