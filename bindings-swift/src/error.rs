//! The one mapping of `allowly_core::Error` to a UniFFI error enum (`AllowlyError` in Swift, `AllowlyException` in
//! Kotlin), variant for variant. `detail` is core's `Display`, which never contains an API key, pepper or nonce.
//! (The field is not called `message`: Kotlin exceptions already have one, built by UniFFI from the fields.)

use allowly_core::{Error, VerificationError};

use crate::model::{FieldError, VerificationErrorKind};

/// The stable snake_case code of a verification kind (`signature_mismatch`, …), as in every other language.
#[uniffi::export]
pub fn verification_error_code(kind: VerificationErrorKind) -> String {
    allowly_core::VerificationErrorKind::from(kind).as_str().to_owned()
}

/// Core's `VerificationErrorKind::ALL` as codes, so the foreign tests can prove every kind is mapped.
#[uniffi::export]
pub fn core_verification_error_codes() -> Vec<String> {
    allowly_core::VerificationErrorKind::ALL.iter().map(|k| k.as_str().to_owned()).collect()
}

/// Core's `ErrorKind::ALL` as names. Each variant of [`AllowlyError`] is named after one (`RateLimited` is
/// `rate_limited`), so the foreign layers and tests derive a kind from the variant instead of spelling it.
#[uniffi::export]
pub fn core_error_kinds() -> Vec<String> {
    allowly_core::ErrorKind::ALL.iter().map(|k| k.as_str().to_owned()).collect()
}

/// Every core error, as a UniFFI error. `code` is core's stable machine code (the server's `error.code` for HTTP
/// errors); `status` the HTTP status where there was one.
#[derive(Debug, Clone, thiserror::Error, uniffi::Error)]
pub enum AllowlyError {
    /// 401: the API key is missing, malformed or unknown.
    #[error("{detail}")]
    Authentication { code: String, detail: String, status: Option<u16> },
    /// 403: the key is valid but may not do this.
    #[error("{detail}")]
    PermissionDenied { code: String, detail: String, status: Option<u16> },
    /// 404: the authorization, confirmation or receipt does not exist (or a nonce was already used).
    #[error("{detail}")]
    NotFound { code: String, detail: String, status: Option<u16> },
    /// 409 / 410: the state forbids this call (idempotency conflict, already settled, confirmation expired).
    #[error("{detail}")]
    Conflict { status: u16, code: String, detail: String },
    /// 400/413/422 or rejected locally (then `status` is null): `fields` says where.
    #[error("{detail}")]
    Validation { code: String, detail: String, fields: Vec<FieldError>, status: Option<u16> },
    /// 429: retry after `retry_after_ms` when the server said.
    #[error("{detail}")]
    RateLimited { code: String, detail: String, retry_after_ms: Option<u64>, status: Option<u16> },
    /// 5xx after retries (never from `check`, which falls back instead); `retry_after_ms` when the server said (a 503
    /// `overloaded` is a server shedding load before any work).
    #[error("{detail}")]
    Server { status: u16, code: String, detail: String, retry_after_ms: Option<u64> },
    /// The call, or a wait such as `wait_for_confirmation`, ran out of time.
    #[error("{detail}")]
    Timeout { code: String, detail: String },
    /// The server could not be reached.
    #[error("{detail}")]
    Network { code: String, detail: String },
    /// The server answered something that is not wire-v1.
    #[error("{detail}")]
    Protocol { code: String, detail: String },
    /// The client or the call was configured wrongly (plain HTTP without `allow_insecure_http`, empty key, …).
    #[error("{detail}")]
    Config { code: String, detail: String },
    /// A receipt or key document did not verify; `code` is the kind's stable code.
    #[error("{detail}")]
    Verification { kind: VerificationErrorKind, code: String, detail: String },
    /// A webhook delivery did not verify (`verify_webhook`); `code` is `webhook_<kind>` (`webhook_replay`, …).
    #[error("{detail}")]
    Webhook { code: String, detail: String },
}

/// What a Swift/Kotlin callback threw that was not an `AllowlyError` (the agent token supplier): a fixed message,
/// since the exception's text may carry a secret.
impl From<uniffi::UnexpectedUniFFICallbackError> for AllowlyError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        AllowlyError::Config { code: "invalid_config".into(), detail: "a Swift/Kotlin callback threw".into() }
    }
}

impl From<Error> for AllowlyError {
    fn from(error: Error) -> Self {
        let detail = error.to_string();
        let code = error.code().to_owned();
        // The HTTP status comes from core's one rule (`Error::status`), never re-derived in Swift or Kotlin.
        let status = error.status();
        match error {
            Error::Authentication { .. } => Self::Authentication { code, detail, status },
            Error::PermissionDenied { .. } => Self::PermissionDenied { code, detail, status },
            Error::NotFound { .. } => Self::NotFound { code, detail, status },
            Error::Conflict { status, .. } => Self::Conflict { status, code, detail },
            Error::Validation { fields, .. } => {
                Self::Validation { code, detail, fields: fields.into_iter().map(Into::into).collect(), status }
            }
            Error::RateLimited { retry_after, .. } => Self::RateLimited {
                code,
                detail,
                retry_after_ms: retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                status,
            },
            Error::Server { status, retry_after, .. } => Self::Server {
                status,
                code,
                detail,
                retry_after_ms: retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            },
            Error::Timeout { .. } => Self::Timeout { code, detail },
            Error::Network { .. } => Self::Network { code, detail },
            Error::Protocol { .. } => Self::Protocol { code, detail },
            Error::Config { .. } => Self::Config { code, detail },
            Error::Verification(v) => match VerificationErrorKind::try_from(v.kind).ok() {
                Some(kind) => Self::Verification { kind, code, detail },
                None => Self::Protocol { code, detail },
            },
            Error::Webhook(_) => Self::Webhook { code, detail },
            // `Error` is non_exhaustive; a variant added later surfaces as Protocol until it is mapped here (the
            // kind test below fails meanwhile).
            _ => Self::Protocol { code, detail },
        }
    }
}

impl From<VerificationError> for AllowlyError {
    fn from(error: VerificationError) -> Self {
        Error::Verification(error).into()
    }
}

/// Local validation error (bad JSON text in a `*_json` field), built by core so it reads like every other.
pub(crate) fn invalid_input(field: &str, message: impl Into<String>) -> AllowlyError {
    Error::invalid_input(field, message).into()
}

pub type Result<T, E = AllowlyError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_verification_kind_is_mapped_and_round_trips() {
        for kind in allowly_core::VerificationErrorKind::ALL {
            let mapped = VerificationErrorKind::try_from(kind).expect("mapped");
            assert_eq!(allowly_core::VerificationErrorKind::from(mapped), kind);
        }
    }

    /// The variant's name in snake_case, which the foreign layers read as core's kind.
    fn variant_kind(error: &AllowlyError) -> String {
        let debug = format!("{error:?}");
        let name = debug.split([' ', '{', '(']).next().unwrap_or_default();
        let mut out = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    /// Fails when a kind is added to core and not given a variant named after it.
    #[test]
    fn every_core_kind_has_a_variant_named_after_it_carrying_its_code() {
        assert_eq!(core_error_kinds().len(), allowly_core::ErrorKind::ALL.len());
        for kind in allowly_core::ErrorKind::ALL {
            let core = Error::example(kind);
            let mapped = AllowlyError::from(core.clone());
            assert_eq!(variant_kind(&mapped), kind.as_str(), "{mapped:?}");
            assert!(format!("{mapped:?}").contains(&format!("code: {:?}", core.code())), "{mapped:?}");
        }
    }

    #[test]
    fn details_carry_codes_but_no_secrets() {
        let e: AllowlyError = allowly_core::identifiers::from_email("a@b.c", "").unwrap_err().into();
        match e {
            AllowlyError::Validation { code, detail, fields, status } => {
                assert_eq!(code, "invalid_input");
                assert_eq!(status, None, "rejected locally, so no HTTP status");
                assert!(!detail.contains("a@b.c"));
                assert_eq!(fields[0].field, "pepper");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
