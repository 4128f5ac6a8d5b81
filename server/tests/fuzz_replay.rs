//! Replays the `server_body` fuzz target over the committed seeds (`fuzz/seeds/server_body/`, the request bodies of
//! tests/scenarios, written by `scripts/fuzz_seeds.py`) and every crash reproducer (`fuzz/regressions/server_body/`),
//! so a regression fails `cargo test` without nightly. The checks are the target's own (`allowly_server::fuzzing`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use allowly_server::fuzzing::{self, Route};

fn inputs(kind: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz").join(kind).join("server_body");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert_ne!(kind, "seeds", "missing {}", dir.display());
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.expect("dir entry").path()).filter(|p| p.is_file()).collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read(p).expect("readable input"))).collect()
}

fn replay(kind: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let all = inputs(kind);
    let failed: Vec<String> = all
        .iter()
        .filter(|(_, bytes)| catch_unwind(AssertUnwindSafe(|| fuzzing::server_body(bytes))).is_err())
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "server_body fails on {failed:#?}");
    all
}

/// Every route is seeded, and the scenario bodies that the live server accepts are accepted by its parsers too.
#[test]
fn seeds() {
    let seeds = replay("seeds");
    for route in Route::ALL {
        let mine: Vec<&[u8]> =
            seeds.iter().filter(|(_, b)| b.first() == Some(&route.selector())).map(|(_, b)| &b[1..]).collect();
        assert!(!mine.is_empty(), "no seed reaches {route:?}");
        assert!(mine.iter().any(|b| fuzzing::parse_body(route, b).is_ok()), "no seed of {route:?} is accepted");
    }
}

#[test]
fn regressions() {
    replay("regressions");
}

/// The envelope check is not vacuous: typical bad bodies are rejected, each with the status wire-v1 names.
#[test]
fn bad_bodies_get_client_errors() {
    let cases: [(Route, &[u8], u16); 5] = [
        (Route::Check, b"{", 400),
        (Route::Check, b"[]", 422),
        (Route::Settle, br#"{"check_receipt_id":"rcp_1","actual_cost_micros":-1}"#, 422),
        (Route::ResolveConfirmation, br#"{"approved":"yes"}"#, 422),
        (Route::CreateAuthorization, br#"{"user_id":"u","agent_id":"a","scopes":["x"],"zzz":1}"#, 422),
    ];
    for (route, body, status) in cases {
        let err = fuzzing::parse_body(route, body).expect_err("must be rejected");
        fuzzing::assert_envelope(&err);
        assert_eq!(err.status.as_u16(), status, "{route:?} {}", String::from_utf8_lossy(body));
    }
}

/// Found by `server_body`: an unknown member's name was echoed in full in the 422 (field and message). Request keys
/// are echoed at most 64 characters, as `FieldError::new` promises, however the error is built.
#[test]
fn unknown_field_names_are_echoed_bounded() {
    let key = "k".repeat(300);
    for (route, body) in [
        (Route::Settle, format!(r#"{{"check_receipt_id":"rcp_1","actual_cost_micros":1,"{key}":1}}"#)),
        (
            Route::CreateAuthorization,
            format!(r#"{{"user_id":"u","agent_id":"a","scopes":[{{"name":"x","{key}":1}}]}}"#),
        ),
    ] {
        let err = fuzzing::parse_body(route, body.as_bytes()).expect_err("unknown member");
        fuzzing::assert_envelope(&err);
        assert!(err.fields.iter().all(|f| f.field.chars().count() <= fuzzing::MAX_ECHOED_FIELD), "{:?}", err.fields);
        assert!(!err.message.contains(&key[..65]), "message echoes the whole name");
    }
}
