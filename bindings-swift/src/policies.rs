//! The `allowly.policy.v1` profile as pure functions for Swift and Kotlin: core's validator, digests and evaluator
//! over JSON text (the binding's way of carrying free-form JSON). A refused definition is `AllowlyError.Validation`
//! whose one field is the offending path.

use allowly_core::{Error, policy};

use crate::error::Result;
use crate::model::{PolicyEval, parse_json};

fn validated(definition_json: &str) -> Result<policy::Definition> {
    Ok(policy::validate_definition(&parse_json("definition_json", definition_json)?).map_err(Error::from)?)
}

/// Validates a definition (JSON text); returns it as JSON text when the profile accepts it.
#[uniffi::export]
pub fn validate_policy_definition(definition_json: String) -> Result<String> {
    Ok(validated(&definition_json)?.as_json().to_string())
}

/// Lowercase hex SHA-256 of the canonical definition (`policy_ref.definition_sha256`); validates first.
#[uniffi::export]
pub fn policy_definition_digest(definition_json: String) -> Result<String> {
    Ok(validated(&definition_json)?.sha256())
}

/// The `policy_eval.input_sha256` an evaluation of `action` for `context_json` commits to.
#[uniffi::export]
pub fn policy_input_digest(definition_json: String, action: String, context_json: String) -> Result<String> {
    let context = parse_json("context_json", &context_json)?;
    Ok(validated(&definition_json)?.input_sha256(&action, &context).map_err(Error::from)?)
}

/// Evaluates `action` for `context_json` as the server would.
#[uniffi::export]
pub fn evaluate_policy(definition_json: String, action: String, context_json: String) -> Result<PolicyEval> {
    let context = parse_json("context_json", &context_json)?;
    Ok(policy::evaluate(&validated(&definition_json)?, &action, &context).map_err(Error::from)?.into())
}

/// `sha256:<hex>` naming this evaluator, as check responses and receipts carry it in `engine_version`.
#[uniffi::export]
pub fn policy_engine_version() -> String {
    policy::engine_version().to_owned()
}
