//! The one mapping of `allowly_core::Error` to JavaScript.
//!
//! napi can only throw plain `Error`s from Rust (and from another thread for async calls), so each core error is
//! thrown as an `Error` whose message is [`PAYLOAD_PREFIX`] + a JSON object with the variant and its fields; the JS
//! layer (`lib/errors.cjs`) rebuilds the matching subclass from it so `instanceof` works. Messages come from core's
//! `Display`, which never contains an API key, pepper or nonce.

use allowly_core::{Error, VerificationError, VerificationErrorKind};
use napi_derive::napi;
use serde_json::{Value, json};

/// Marks an error thrown by this crate; `lib/errors.cjs` matches on it.
pub const PAYLOAD_PREFIX: &str = "allowly-native-error:";

/// The JS-facing kind of each core variant, which `lib/errors.cjs` maps to one class each.
fn kind(error: &Error) -> &'static str {
    match error {
        Error::Authentication { .. } => "authentication",
        Error::PermissionDenied { .. } => "permission_denied",
        Error::NotFound { .. } => "not_found",
        Error::Conflict { .. } => "conflict",
        Error::Validation { .. } => "validation",
        Error::RateLimited { .. } => "rate_limited",
        Error::Server { .. } => "server",
        Error::Timeout { .. } => "timeout",
        Error::Network { .. } => "network",
        Error::Protocol { .. } => "protocol",
        Error::Config { .. } => "config",
        Error::Verification(_) => "verification",
        // `Error` is non_exhaustive; a new variant shows up as the base class until it is mapped here.
        _ => "allowly",
    }
}

/// The JSON payload of one error.
fn payload(error: &Error) -> Value {
    let mut payload = json!({
        "kind": kind(error),
        "code": error.code(),
        "status": error.status(),
        "message": error.to_string(),
    });
    match error {
        Error::Validation { fields, .. } => payload["fields"] = json!(fields),
        Error::RateLimited { retry_after, .. } => {
            payload["retryAfter"] = json!(retry_after.map(|d| d.as_secs_f64()));
        }
        _ => {}
    }
    payload
}

/// Converts a core error into the napi error the JS layer rebuilds.
pub fn to_napi(error: Error) -> napi::Error {
    napi::Error::from_reason(format!("{PAYLOAD_PREFIX}{}", payload(&error)))
}

pub fn verification_to_napi(error: VerificationError) -> napi::Error {
    to_napi(Error::Verification(error))
}

/// `Result` conversion used by every binding call.
pub trait IntoNapi<T> {
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for Result<T, Error> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}

impl<T> IntoNapi<T> for Result<T, VerificationError> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(verification_to_napi)
    }
}

/// Every kind [`kind`] can produce, so the JS test can prove each one has its own class.
#[napi]
pub fn error_kinds() -> Vec<String> {
    let samples = [
        Error::Authentication { code: String::new(), message: String::new() },
        Error::PermissionDenied { code: String::new(), message: String::new() },
        Error::NotFound { code: String::new(), message: String::new() },
        Error::Conflict { status: 409, code: String::new(), message: String::new() },
        Error::Validation { code: String::new(), message: String::new(), fields: Vec::new() },
        Error::RateLimited { code: String::new(), message: String::new(), retry_after: None },
        Error::Server { status: 500, code: String::new(), message: String::new() },
        Error::Timeout { message: String::new() },
        Error::Network { message: String::new() },
        Error::Protocol { message: String::new() },
        Error::Config { message: String::new() },
        Error::Verification(VerificationError::new(VerificationErrorKind::Schema, "")),
    ];
    samples.iter().map(|e| kind(e).to_owned()).collect()
}

/// Every `VerificationError` code (`VerificationErrorKind::ALL`), for the same test.
#[napi]
pub fn verification_error_codes() -> Vec<String> {
    VerificationErrorKind::ALL.iter().map(|k| k.as_str().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_sample_kind_is_distinct_and_named() {
        let kinds = error_kinds();
        let unique: std::collections::BTreeSet<_> = kinds.iter().collect();
        assert_eq!(unique.len(), kinds.len());
        assert!(!kinds.iter().any(|k| k == "allowly"), "a core variant is not mapped: {kinds:?}");
    }

    #[test]
    fn payload_carries_what_the_js_classes_expose() {
        let error = Error::RateLimited {
            code: "rate_limited".into(),
            message: "slow down".into(),
            retry_after: Some(Duration::from_millis(1500)),
        };
        let p = payload(&error);
        assert_eq!(p["kind"], "rate_limited");
        assert_eq!(p["status"], 429);
        assert_eq!(p["retryAfter"], 1.5);
        let v = payload(&Error::invalid_input("scopes", "at least one scope is required"));
        assert_eq!(v["fields"][0]["field"], "scopes");
        assert!(to_napi(error).reason.starts_with(PAYLOAD_PREFIX));
    }
}
