//! Routes of the official Allowly API (SDK 0.8.0) that this server does not implement yet.
//!
//! Each answers 501 `not_supported` naming the feature, after authentication: the official client then raises its
//! typed API error instead of parsing an empty success, and an unauthenticated caller learns nothing beyond 401.

use crate::auth::Runtime;
use crate::error::{ApiError, WireCode};

fn unsupported(feature: &str) -> ApiError {
    ApiError::new(WireCode::NotSupported, format!("{feature} are not supported by this server yet"))
}

pub async fn executions(_who: Runtime) -> ApiError {
    unsupported("executions (prepare, continue, dispatch, witness, outcome)")
}

pub async fn seal(_who: Runtime) -> ApiError {
    unsupported("SEAL records")
}

pub async fn acknowledgments(_who: Runtime) -> ApiError {
    unsupported("receipt acknowledgments")
}

pub async fn custom_executables(_who: Runtime) -> ApiError {
    unsupported("custom executables")
}
