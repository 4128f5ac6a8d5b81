//! Agent enrollment (setup key): `POST /v1/setup/agents/{agent_id}/keys` registers a public key generated here.
//!
//! The private key never leaves this process: [`Client::enroll_agent`] generates it, sends only the public JWK and
//! returns the [`AgentCredential`] for the caller to store (the CLI writes it to a 0600 file).

use reqwest::Method;
use serde::Serialize;

use super::Client;
use super::transport::Call;
use crate::agent_identity::{AgentCredential, AgentRegistration, PublicKeyJwk};
use crate::error::{Error, Result};
use crate::model::validate_id;

#[derive(Serialize)]
struct RegisterKey<'a> {
    public_key_jwk: &'a PublicKeyJwk,
}

impl Client {
    /// Registers `public_key_jwk` as a key of `agent_id` and returns the ids the credential records.
    pub async fn register_agent_key(&self, agent_id: &str, public_key_jwk: &PublicKeyJwk) -> Result<AgentRegistration> {
        const ROUTE: &str = "POST /v1/setup/agents/{agent_id}/keys";
        validate_id("agent_id", agent_id)?;
        let call = Call::new(Method::POST, ROUTE, vec!["v1", "setup", "agents", agent_id, "keys"])
            .json(&RegisterKey { public_key_jwk })?;
        let registration: AgentRegistration = self.transport().call(call).await?;
        if registration.agent_id != agent_id {
            return Err(Error::Protocol { message: format!("{ROUTE}: the answer is about another agent") });
        }
        Ok(registration)
    }

    /// Enrolls `agent_id`: generates an Ed25519 key locally, registers its public half and returns the credential
    /// (the file 0.8.0's `NativeAgentCredential` reads; it holds the private key).
    pub async fn enroll_agent(&self, agent_id: &str) -> Result<AgentCredential> {
        let pending = AgentCredential::generate();
        let registration = self.register_agent_key(agent_id, &pending.public_key_jwk()).await?;
        pending.complete(registration)
    }
}
