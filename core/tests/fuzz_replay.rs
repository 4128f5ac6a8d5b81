//! Replays the receipt-side fuzz targets over the committed seeds (`fuzz/seeds/<target>/`, written by
//! `scripts/fuzz_seeds.py`) and every crash reproducer (`fuzz/regressions/<target>/`), so what the fuzzer found once
//! fails `cargo test` again without nightly or libFuzzer. The checks are the targets' own (`allowly_core::fuzzing`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use allowly_core::fuzzing::{self, Fixture};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `(path, bytes)` of every seed and reproducer of `target`; the seed folder must not be empty, or the test would pass
/// on a checkout without seeds.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for kind in ["seeds", "regressions"] {
        let dir = root().join("fuzz").join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            assert_ne!(kind, "seeds", "missing {}", dir.display());
            continue;
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.expect("dir entry").path()).filter(|p| p.is_file()).collect();
        files.sort();
        assert!(kind != "seeds" || !files.is_empty(), "no seeds in {}", dir.display());
        out.extend(files.into_iter().map(|p| {
            let bytes = std::fs::read(&p).expect("readable input");
            (p, bytes)
        }));
    }
    out
}

fn replay(target: &str, body: impl Fn(&[u8])) {
    let failed: Vec<String> = inputs(target)
        .into_iter()
        .filter_map(|(path, bytes)| {
            catch_unwind(AssertUnwindSafe(|| body(&bytes))).err().map(|_| path.display().to_string())
        })
        .collect();
    assert!(failed.is_empty(), "{target} fails on {failed:#?}");
}

fn fixture() -> &'static Fixture {
    Fixture::cached(|| {
        std::fs::read(root().join("tests/conformance/receipt-format-v4/test-vectors.json")).expect("vectors")
    })
}

#[test]
fn json_canonical() {
    replay("json_canonical", fuzzing::json_canonical);
}

#[test]
fn verify_bytes() {
    replay("verify_bytes", |d| fuzzing::verify_bytes(fixture(), d));
}

#[test]
fn verify_mutate() {
    replay("verify_mutate", |d| fuzzing::verify_mutate(fixture(), d));
}

#[test]
fn key_document() {
    replay("key_document", fuzzing::key_document);
}

/// The properties are not vacuous: a genuine receipt with one signature bit flipped, and one with a field edited, are
/// rejected by every path (the target would panic if any path accepted them), and the forgery check itself fires on
/// a receipt the fixture does not know.
#[test]
fn mutations_are_rejected_and_forgeries_detected() {
    let fx = fixture();
    for i in 0..fx.valid.len() as u8 {
        fuzzing::verify_mutate(fx, &[i, 2, 7, 0]);
        fuzzing::verify_mutate(fx, &[i, 0, 4, 22, 0]);
    }
    let opts = fuzzing::options();
    let mut edited = fx.valid[0].clone();
    if let allowly_core::receipt::Value::Object(o) = &mut edited {
        o.insert("user_id", allowly_core::receipt::Value::String("someone-else".into()));
    }
    assert!(allowly_core::receipt::verify_receipt(&edited, &fx.keys, &opts).is_err());
}
