//! `GET /readyz`: whether the server can decide right now (database reachable, receipt signer running).

use reqwest::Method;
use serde::Deserialize;

use super::Client;
use super::transport::Call;
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct Readiness {
    status: String,
}

impl Client {
    /// True when the server answers `{"status": "ready"}`. A server that answers it is not ready (503 with
    /// `"unavailable"`) is `false`, not an error: that answer is the information asked for. Not retried, for the same
    /// reason. Unreachable servers and other failures are errors.
    pub async fn readiness(&self) -> Result<bool> {
        let call = Call::new(Method::GET, "GET /readyz", vec!["readyz"]).max_retries(0);
        match self.transport().call::<Readiness>(call).await {
            Ok(readiness) => Ok(readiness.status == "ready"),
            Err(Error::Server { status: 503, .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}
