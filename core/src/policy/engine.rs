//! The evaluator's identity, as receipts and check responses carry it in `engine_version`.
//!
//! The official wire (SDK 0.8.0, Receipt Format wire 5) requires `engine_version` to be `sha256:<hex>` of an engine
//! manifest, so that a verifier can tell which evaluator produced a `policy_eval` result. Ours names this crate's
//! evaluator and the version of its semantics (docs/policy-semantics.md). The manifest changes only when evaluation
//! changes: bump [`SEMANTICS_VERSION`] then, never for a refactor, so equal `engine_version`s mean equal decisions.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::receipt::canonical;
use crate::receipt::json::Value;

/// The version of the evaluation semantics written down in docs/policy-semantics.md.
pub const SEMANTICS_VERSION: u64 = 1;

/// The engine manifest whose canonical SHA-256 is [`engine_version`].
pub fn manifest() -> serde_json::Value {
    serde_json::json!({
        "schema": "allowly-oss.engine.v1",
        "policy_profile": "allowly.policy.v1",
        "evaluator": {
            "implementation": "allowly-core",
            "profile": "allowly.basic.v1",
            "semantics_version": SEMANTICS_VERSION,
            "semantics": "docs/policy-semantics.md",
        },
    })
}

/// `sha256:<64 lowercase hex>` of the canonical manifest.
pub fn engine_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let bytes = canonical::canonicalize(&Value::from(&manifest())).expect("the engine manifest is canonical JSON");
        let mut out = String::from("sha256:");
        crate::receipt::keys::push_hex(&mut out, &Sha256::digest(&bytes));
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_version_is_a_sha256_reference() {
        let v = engine_version();
        assert!(v.starts_with("sha256:"));
        assert_eq!(v.len(), 7 + 64);
        assert!(v[7..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
