//! The one mapping of `allowly_core::Error` to JavaScript.
//!
//! napi can only throw plain `Error`s from Rust (and from another thread for async calls), so each core error is
//! thrown as an `Error` whose message is [`PAYLOAD_PREFIX`] + a JSON object with the variant and its fields; the JS
//! layer (`lib/errors.cjs`) rebuilds the matching subclass from it so `instanceof` works. Messages come from core's
//! `Display`, which never contains an API key, pepper or nonce.

use std::collections::HashMap;

use allowly_core::{Error, ErrorKind, VerificationError, VerificationErrorKind};
use napi_derive::napi;
use serde_json::{Value, json};

/// Marks an error thrown by this crate; `lib/errors.cjs` matches on it.
pub const PAYLOAD_PREFIX: &str = "allowly-native-error:";

/// The JSON payload of one error.
fn payload(error: &Error) -> Value {
    let mut payload = json!({
        "kind": error.kind().as_str(),
        "code": error.code(),
        "status": error.status(),
        "message": error.to_string(),
    });
    match error {
        Error::Validation { fields, .. } => payload["fields"] = json!(fields),
        Error::RateLimited { retry_after, .. } | Error::Server { retry_after, .. } => {
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

/// Core's `ErrorKind::ALL`, the kinds a payload can carry, so the JS test can prove each one has its own class.
#[napi]
pub fn error_kinds() -> Vec<String> {
    ErrorKind::ALL.iter().map(|k| k.as_str().to_owned()).collect()
}

/// The class of every kind in core's `ErrorKind::ALL` (core's `ErrorKind::class_name`), from which `lib/errors.cjs`
/// builds `CLASS_BY_KIND`; a name it has no class for becomes the base class, which the JS test rejects.
#[napi]
pub fn error_class_names() -> HashMap<String, String> {
    ErrorKind::ALL.iter().map(|k| (k.as_str().to_owned(), k.class_name().to_owned())).collect()
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
    fn every_core_kind_is_its_payload_kind() {
        assert_eq!(error_class_names().len(), ErrorKind::ALL.len());
        for kind in ErrorKind::ALL {
            assert_eq!(payload(&Error::example(kind))["kind"], kind.as_str());
        }
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
