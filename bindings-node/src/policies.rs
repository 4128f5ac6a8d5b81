//! The `allowly.policy.v1` profile as pure functions (the JS `policy` namespace): core's validator, digests and
//! evaluator. A refused definition throws `ValidationError` whose one field is the offending path. Integral numbers
//! are made integers first (`js_integers`), as JavaScript means them.

use allowly_core::{Error, policy};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;

use crate::error::IntoNapi;
use crate::model::{PolicyEval, js_integers};

fn validated(definition: Value) -> Result<policy::Definition> {
    policy::validate_definition(&js_integers(definition)).map_err(Error::from).napi()
}

/// Validates a definition; returns it unchanged when the profile accepts it.
#[napi]
pub fn validate_policy_definition(definition: Value) -> Result<Value> {
    validated(definition).map(|d| d.as_json().clone())
}

/// Lowercase hex SHA-256 of the canonical definition (`policyRef.definitionSha256`); validates first.
#[napi]
pub fn policy_definition_digest(definition: Value) -> Result<String> {
    validated(definition).map(|d| d.sha256())
}

/// The `policyEval.inputSha256` an evaluation of `action` for `context` commits to.
#[napi]
pub fn policy_input_digest(definition: Value, action: String, context: Value) -> Result<String> {
    validated(definition)?.input_sha256(&action, &js_integers(context)).map_err(Error::from).napi()
}

/// Evaluates `action` for `context` as the server would.
#[napi]
pub fn evaluate_policy(definition: Value, action: String, context: Value) -> Result<PolicyEval> {
    policy::evaluate(&validated(definition)?, &action, &js_integers(context))
        .map(Into::into)
        .map_err(Error::from)
        .napi()
}

/// `sha256:<hex>` naming this evaluator, as check responses and receipts carry it in `engineVersion`.
#[napi]
pub fn policy_engine_version() -> String {
    policy::engine_version().to_owned()
}
