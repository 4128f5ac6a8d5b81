//! The `allowly.policy.v1` profile as pure functions (`allowly.policies`): core's validator, digests and evaluator,
//! with a refused definition raised as `ValidationError` whose one field is the offending path.

use allowly_core::Error;
use allowly_core::policy;
use pyo3::prelude::*;

use crate::convert::{to_json, to_py};
use crate::errors::to_py_err;
use crate::models::PyPolicyEval;

fn json(py: Python<'_>, obj: &Bound<'_, PyAny>, field: &str) -> PyResult<serde_json::Value> {
    to_json(obj, field).map_err(|e| to_py_err(py, e))
}

fn validated(py: Python<'_>, definition: &Bound<'_, PyAny>) -> PyResult<policy::Definition> {
    let value = json(py, definition, "definition")?;
    policy::validate_definition(&value).map_err(|e| to_py_err(py, Error::from(e)))
}

/// Validates a definition and returns it as validated (a dict equal to the input).
#[pyfunction]
fn validate_policy_definition(py: Python<'_>, definition: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let definition = validated(py, definition)?;
    Ok(to_py(py, definition.as_json())?.unbind())
}

/// Lowercase hex SHA-256 of the canonical definition (`policy_ref.definition_sha256`). Validates first, so a digest
/// is only ever given for a definition the server would accept.
#[pyfunction]
fn definition_digest(py: Python<'_>, definition: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(validated(py, definition)?.sha256())
}

/// The `policy_eval.input_sha256` an evaluation of `action` for `context` commits to.
#[pyfunction]
fn policy_input_digest(
    py: Python<'_>,
    definition: &Bound<'_, PyAny>,
    action: &str,
    context: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let definition = validated(py, definition)?;
    let context = json(py, context, "context")?;
    definition.input_sha256(action, &context).map_err(|e| to_py_err(py, Error::from(e)))
}

/// Evaluates `action` for `context` locally, as the server would, and returns the `policy_eval` record.
#[pyfunction]
fn evaluate_policy(
    py: Python<'_>,
    definition: &Bound<'_, PyAny>,
    action: &str,
    context: &Bound<'_, PyAny>,
) -> PyResult<PyPolicyEval> {
    let definition = validated(py, definition)?;
    let context = json(py, context, "context")?;
    policy::evaluate(&definition, action, &context).map(PyPolicyEval::from).map_err(|e| to_py_err(py, Error::from(e)))
}

/// `sha256:<hex>` naming this evaluator, as check responses and receipts carry it in `engine_version`.
#[pyfunction]
fn engine_version() -> &'static str {
    policy::engine_version()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(validate_policy_definition, m)?)?;
    m.add_function(wrap_pyfunction!(definition_digest, m)?)?;
    m.add_function(wrap_pyfunction!(policy_input_digest, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_policy, m)?)?;
    m.add_function(wrap_pyfunction!(engine_version, m)?)?;
    Ok(())
}
