//! Canonical bytes and the two SHA-256 commitments of the profile: the definition digest that `policy_ref` carries
//! and the input commitment that `policy_eval.input_sha256` carries.
//!
//! Both hash core's canonical JSON (UTF-16 key order, integers only, safe range), so every language that
//! canonicalizes the same value gets the same digest as the official verifier.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::PolicyError;
use crate::receipt::canonical;
use crate::receipt::json::{MAX_SAFE_INTEGER, Value as CanonicalValue};

/// The largest canonical definition the profile accepts, in bytes.
pub const MAX_DEFINITION_BYTES: usize = 65_536;
/// The largest canonical evaluation context the profile accepts, in bytes.
pub const MAX_CONTEXT_BYTES: usize = 4_096;

/// `base.key`, or just `key` at the root (`$`), so paths read the way an author writes the document.
pub(crate) fn member(base: &str, key: &str) -> String {
    if base == "$" { key.to_owned() } else { format!("{base}.{key}") }
}

pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// The first number that canonical JSON refuses, with its path: naming the exact float beats "not canonical".
fn find_bad_number(value: &Value, path: &str) -> Option<PolicyError> {
    match value {
        Value::Number(n) => {
            let safe = n.as_i64().is_some_and(|i| i.abs() <= MAX_SAFE_INTEGER)
                || n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER as u64);
            if safe {
                None
            } else if n.is_f64() {
                Some(PolicyError::new(path, format!("{n} is not an integer; policy JSON allows integers only")))
            } else {
                Some(PolicyError::new(path, format!("integer {n} is outside the safe range ±(2^53-1)")))
            }
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| find_bad_number(v, &index(path, i))),
        Value::Object(map) => map.iter().find_map(|(k, v)| find_bad_number(v, &member(path, k))),
        _ => None,
    }
}

/// Canonical bytes of `value`, refused (at `path`) when a number is not a safe integer, the value is too deep or
/// too large for canonical JSON, or the bytes exceed `limit`.
pub(crate) fn canonical_bytes(value: &Value, path: &str, limit: usize, name: &str) -> Result<Vec<u8>, PolicyError> {
    if let Some(error) = find_bad_number(value, path) {
        return Err(error);
    }
    let bytes = canonical::canonicalize(&CanonicalValue::from(value))
        .map_err(|e| PolicyError::new(path, format!("{name} is not canonical JSON: {}", e.message)))?;
    if bytes.len() > limit {
        return Err(PolicyError::new(
            path,
            format!("{name} is {} canonical bytes; at most {limit} are allowed", bytes.len()),
        ));
    }
    Ok(bytes)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    crate::receipt::keys::push_hex(&mut out, &Sha256::digest(bytes));
    out
}

/// Lowercase hex SHA-256 of the canonical definition: what `policy_ref.definition_sha256` commits to.
///
/// It hashes whatever canonical JSON it is given, without validating it as a definition, because a verifier must be
/// able to recompute the digest of a retained definition it did not author; use
/// [`Definition::sha256`](super::Definition::sha256) for a validated one.
pub fn definition_sha256(definition: &Value) -> Result<String, PolicyError> {
    Ok(sha256_hex(&canonical_bytes(definition, "$", MAX_DEFINITION_BYTES, "definition")?))
}

/// Checks that `context` is an evaluation context the profile accepts: an object of at most
/// [`MAX_CONTEXT_BYTES`] canonical bytes with safe integers only.
pub(crate) fn check_context(context: &Value) -> Result<(), PolicyError> {
    if !context.is_object() {
        return Err(PolicyError::new("context", "context must be an object"));
    }
    canonical_bytes(context, "context", MAX_CONTEXT_BYTES, "context").map(drop)
}

/// Lowercase hex SHA-256 of canonical `{"policy": policy, "action": action, "context": context}`: what
/// `policy_eval.input_sha256` commits to, so a verifier holding the definition and the context can tell which input
/// a signed result was computed from.
///
/// `policy` is the selected action's `policy` object (not the whole definition): the commitment binds exactly what
/// the evaluator read.
pub fn input_sha256(policy: &Value, action: &str, context: &Value) -> Result<String, PolicyError> {
    check_context(context)?;
    let input = serde_json::json!({ "policy": policy, "action": action, "context": context });
    Ok(sha256_hex(&canonical_bytes(&input, "$", usize::MAX, "evaluation input")?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_refused_where_they_are() {
        let e = definition_sha256(&json!({"a": [1, {"b": 1.5}]})).unwrap_err();
        assert_eq!(e.path, "a[1].b");
        let e = definition_sha256(&json!({"a": 9007199254740992u64})).unwrap_err();
        assert_eq!(e.path, "a");
        assert!(definition_sha256(&json!({"a": -9007199254740991i64})).is_ok());
    }

    #[test]
    fn context_must_be_a_small_object() {
        assert_eq!(input_sha256(&json!({}), "a", &json!([])).unwrap_err().path, "context");
        let big = json!({ "x": "y".repeat(MAX_CONTEXT_BYTES) });
        assert_eq!(input_sha256(&json!({}), "a", &big).unwrap_err().path, "context");
        assert_eq!(input_sha256(&json!({}), "a", &json!({"n": 0.5})).unwrap_err().path, "context.n");
    }
}
