//! The public receipt vectors (tests/conformance/receipt-format-v4 and -v5) checked by one single-threaded program:
//! the smoke test of a cross-built allowly-core (`make smoke-aarch64` runs the aarch64 build under qemu-user).
//!
//! Run: `cargo run --release -p allowly-core --features vectors-smoke --bin verify_vectors [-- CONFORMANCE_DIR]`;
//! exits 1 on any mismatch, printing each, else prints the counts. Why a program and not the test suite: Debian's
//! qemu-user 7.2 hangs as soon as a guest starts a thread, and libtest runs tests on threads. So this starts no
//! thread and no async runtime: rayon (which checkpoint verification uses) gets a one-thread global pool made of the
//! main thread. A bin behind a feature rather than an example: examples build every dev-dependency (criterion,
//! wiremock, ...), which a cross build would compile for nothing. `core/tests/vectors_smoke.rs` runs the same checks
//! natively in `cargo test`.

use std::path::{Path, PathBuf};

use allowly_core::receipt::json::{self, Value};
use allowly_core::receipt::{KeySet, ReceiptKind, VerifyOptions, merkle_root, verify_checkpoint, verify_receipt};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;

/// What one vector file held and how it went.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub verified: usize,
    pub rejected: usize,
    pub checkpoints: usize,
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, String> {
    v.as_object().and_then(|o| o.get(name)).ok_or_else(|| format!("missing {name}"))
}

fn text<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    field(v, name)?.as_str().ok_or_else(|| format!("{name} is not a string"))
}

fn group<'a>(v: &'a Value, name: &str) -> Result<&'a [Value], String> {
    field(v, name)?.as_array().ok_or_else(|| format!("{name} is not an array"))
}

/// Checks one vector file; every mismatch is pushed to `failures` (prefixed with the file's wire).
pub fn check_file(path: &Path, failures: &mut Vec<String>) -> Result<Counts, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = json::parse(&bytes).map_err(|e| format!("{}: {}", path.display(), e.message))?;
    let wire = text(&doc, "spec_version")?.to_owned();
    let keys = KeySet::from_value(field(&doc, "public_keys")?).map_err(|e| format!("key document: {}", e.message))?;
    // Wire 4's vectors are judged at a fixed instant after all of them; wire 5's file names its own.
    let now = match doc.as_object().and_then(|o| o.get("now")).and_then(Value::as_str) {
        Some(t) => OffsetDateTime::parse(t, &Rfc3339).map_err(|e| format!("now: {e}"))?,
        None => datetime!(2026-11-23 00:00 UTC),
    };
    let opts =
        VerifyOptions { expected_workspace_id: Some("ws_test".into()), now: Some(now), ..VerifyOptions::default() };
    let mut counts = Counts::default();
    let mut fail = |name: &str, what: String| failures.push(format!("wire {wire} {name}: {what}"));

    for v in group(&doc, "should_verify")? {
        let name = text(v, "name")?;
        let kind = if text(v, "kind")? == "action" { ReceiptKind::Action } else { ReceiptKind::Event };
        match verify_receipt(field(v, "receipt")?, &keys, &opts) {
            Ok(ok) if ok.schema_version == wire && ok.workspace_id == "ws_test" && ok.kind == kind => {
                counts.verified += 1
            }
            Ok(ok) => fail(name, format!("verified as {ok:?}")),
            Err(e) => fail(name, format!("{} {}", e.kind, e.message)),
        }
    }
    for v in group(&doc, "should_reject")? {
        let name = text(v, "name")?;
        let reason = text(v, "expected_reason")?;
        // Only the wire-5 file names the kind; wire 4's vectors (upstream's) carry the reason alone.
        let kind = v.as_object().and_then(|o| o.get("expected_kind")).and_then(Value::as_str);
        match verify_receipt(field(v, "receipt")?, &keys, &opts) {
            Ok(_) => fail(name, format!("verified, expected a rejection containing {reason:?}")),
            Err(e) if !e.message.contains(reason) || kind.is_some_and(|k| k != e.kind.as_str()) => {
                fail(name, format!("{} {:?}, expected {kind:?} containing {reason:?}", e.kind, e.message))
            }
            Err(_) => counts.rejected += 1,
        }
    }
    for c in group(&doc, "checkpoint_cases")? {
        let name = text(c, "name")?;
        let members = group(c, "receipts")?;
        let root = merkle_root(members).map_err(|e| e.message);
        if root.as_deref() != Ok(text(c, "expected_merkle_root")?) {
            fail(name, format!("merkle root {root:?}"));
            continue;
        }
        let checkpoint = field(c, "checkpoint")?;
        match verify_checkpoint(checkpoint, members, Some(field(c, "previous_checkpoint")?), &keys, &opts) {
            Ok(ok) if ok.name == "receipt.checkpoint" => counts.checkpoints += 1,
            Ok(ok) => fail(name, format!("verified as {ok:?}")),
            Err(e) => fail(name, format!("{} {}", e.kind, e.message)),
        }
    }
    Ok(counts)
}

/// The two vector files under `conformance`, in wire order.
pub fn vector_files(conformance: &Path) -> [PathBuf; 2] {
    [conformance.join("receipt-format-v4/test-vectors.json"), conformance.join("receipt-format-v5/test-vectors.json")]
}

#[allow(dead_code)] // core/tests/vectors_smoke.rs includes this file for check_file alone
fn main() {
    // The main thread is the pool's only worker, so `par_chunks` runs inline and no thread is ever spawned.
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build_global()
        .expect("a one-thread rayon pool on the main thread");
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance"));
    let mut failures = Vec::new();
    for path in vector_files(&dir) {
        match check_file(&path, &mut failures) {
            Ok(c) => println!(
                "{}: {} verified, {} rejected as expected, {} checkpoint(s) verified",
                path.display(),
                c.verified,
                c.rejected,
                c.checkpoints
            ),
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        eprintln!("{} mismatch(es):\n{}", failures.len(), failures.join("\n"));
        std::process::exit(1);
    }
    println!("all receipt vectors agree (target {})", std::env::consts::ARCH);
}
