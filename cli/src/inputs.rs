//! Loading what the verify commands trust: the key document and the verification options.

use std::path::Path;

use allowly_core::receipt::{KeySet, VerifyOptions, load_keys_from_json};

use crate::TrustArgs;

/// A usage/input problem: printed, then the command exits with 2.
pub struct InputError(pub String);

pub fn load_trust(trust: &TrustArgs) -> Result<(KeySet, VerifyOptions), InputError> {
    let keys = read_file(&trust.keys)?;
    let keys = load_keys_from_json(&keys)
        .map_err(|e| InputError(format!("{}: invalid key document: {e}", trust.keys.display())))?;
    if trust.workspace_id.is_empty() {
        return Err(InputError("--workspace-id must not be empty".into()));
    }
    for f in &trust.trusted_fingerprints {
        if !is_fingerprint(f) {
            return Err(InputError(format!("--trusted-fingerprint {f:?} is not sha256:<64 lowercase hex>")));
        }
    }
    let options = VerifyOptions {
        expected_workspace_id: Some(trust.workspace_id.clone()),
        trusted_fingerprints: trust.trusted_fingerprints.clone(),
        ..VerifyOptions::default()
    };
    Ok((keys, options))
}

pub fn read_file(path: &Path) -> Result<Vec<u8>, InputError> {
    std::fs::read(path).map_err(|e| InputError(format!("{}: {e}", path.display())))
}

fn is_fingerprint(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}
