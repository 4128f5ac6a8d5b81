//! The one error of definition validation and evaluation.

use std::fmt;

use crate::error::Error;

/// A definition, action or context that the `allowly.policy.v1` profile refuses.
///
/// `path` names the offending place relative to what was passed in, so an author can go straight to it:
/// `actions[0].policy.rules[1].conditions[0].value` or `default_expiry_days` inside a definition, `$` for the
/// definition as a whole (not an object, too large), `action` for an undeclared action, and `context` or
/// `context.<field>` for the evaluation context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub path: String,
    pub message: String,
}

impl PolicyError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// A refused definition is the caller's input being wrong, so bindings raise it as their validation error, with the
/// path as the one field error.
impl From<PolicyError> for Error {
    fn from(error: PolicyError) -> Self {
        Error::invalid_input(&error.path, error.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorKind, FieldError};

    #[test]
    fn converts_to_a_local_validation_error_naming_the_path() {
        let error: Error = PolicyError::new("actions[0].policy.action", "too long").into();
        assert_eq!(error.kind(), ErrorKind::Validation);
        assert_eq!(error.status(), None);
        match error {
            Error::Validation { fields, .. } => assert_eq!(
                fields,
                vec![FieldError { field: "actions[0].policy.action".into(), message: "too long".into() }]
            ),
            other => panic!("unexpected {other:?}"),
        }
    }
}
