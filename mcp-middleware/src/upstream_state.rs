//! A proxy's wrap of the `requestState` of the server behind it (2026-07-28).
//!
//! When the gate allowed a call and the upstream server then answers `input_required` itself (its own elicitation),
//! the client must see one opaque state, and the retry must reach the upstream server with its own state and without
//! a second decision: the gate's approval was single use, so checking again would ask the user twice. So the
//! upstream state is sealed inside one of ours — same key and audience as the gate's confirmation states, a label of
//! its own — bound like them to the identity, authorization, tool, scope and arguments digest of the call, with an
//! expiry; and each wrapped state opens once (this gate remembers the ids it opened until they expire), so a
//! replayed retry cannot run the upstream tool again without a decision.

use std::collections::HashMap;
use std::sync::Mutex;

use allowly_core::caller_identity::TransportAuth;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::gate::{CallContext, Gate};
use crate::request_state::{self, Sealing, StateError};
use crate::results::{CONFIRM_INPUT_KEY, code};
use crate::step::{Era, Step, StepInput, digest, now_unix};

/// Longest wrapped state: the upstream server's own state plus ours.
pub const MAX_UPSTREAM_STATE_CHARS: usize = 65_536;

const SEALING: Sealing = Sealing::new(2, b"allowly-mcp/upstream-state/v1\0", MAX_UPSTREAM_STATE_CHARS);

#[derive(Serialize, Deserialize)]
struct SealedUpstream {
    /// Random; what single use is enforced on.
    id: String,
    identity: String,
    authorization_id: String,
    tool: String,
    scope: String,
    arguments_sha256: String,
    expires_at: i64,
    /// `None` when the upstream server gave no state of its own.
    upstream_state: Option<String>,
    /// The `_meta` of the gate's decision (decision, reason, receipt ids: no secrets), for the final result.
    meta: Map<String, Value>,
}

/// What a 2026-07-28 retry resumes, read before [`Gate::step`].
#[derive(Debug)]
pub enum UpstreamResume {
    /// No retry, or its `requestState` is not one [`Gate::wrap_upstream_state`] minted: decide with [`Gate::step`].
    NotWrapped,
    /// The call was decided in an earlier round: send it to the upstream server with `request_state` (its own) and
    /// `input_responses` (the client's, less any answer to the gate's own question, which is never the tool's to
    /// read), and add `meta` to its final result's `_meta`.
    Resume { request_state: Option<String>, input_responses: Option<Value>, meta: Map<String, Value> },
    /// A wrapped state that is tampered, foreign, expired, moved to another call or replayed: answer this step
    /// (a JSON-RPC -32602).
    Refuse(Step),
}

/// Ids of wrapped states already opened, with their expiry.
#[derive(Debug, Default)]
pub(crate) struct SpentStates(Mutex<HashMap<String, i64>>);

impl SpentStates {
    /// `false` when `id` was already spent. Forgets ids past their expiry, which could not open anyway.
    fn spend(&self, id: &str, expires_at: i64, now: i64) -> bool {
        let mut spent = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        spent.retain(|_, expiry| *expiry > now);
        spent.insert(id.to_owned(), expires_at).is_none()
    }
}

/// Who and what a call is, as the state binds it.
struct Binding {
    identity: String,
    authorization_id: String,
    scope: String,
    arguments_sha256: String,
}

impl Gate {
    fn binding(&self, auth: &TransportAuth<'_>, call: &CallContext<'_>) -> Option<Binding> {
        let identity = self.config().identity.resolve(auth, call.arguments)?;
        let authorization_id = self.config().resolver.authorization_for(Some(&identity))?;
        Some(Binding {
            identity,
            authorization_id,
            scope: self.scope_for(call.tool_name),
            arguments_sha256: digest(call.arguments),
        })
    }

    /// Seals `upstream_state` (the `requestState` the upstream server answered in its `input_required`, if any) for the call of `input`,
    /// which [`Gate::step`] let run with `meta`. The result is the `requestState` to give the client. `None` when the
    /// call has no trusted identity or authorization, or the upstream state is too large to carry.
    pub fn wrap_upstream_state(
        &self,
        input: &StepInput<'_>,
        upstream_state: Option<&str>,
        meta: &Map<String, Value>,
    ) -> Option<String> {
        let binding = self.binding(&input.auth, &input.call)?;
        let mut id = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let ttl = i64::try_from(self.config().request_state.ttl.as_secs()).unwrap_or(i64::MAX);
        let sealed = SealedUpstream {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            identity: binding.identity,
            authorization_id: binding.authorization_id,
            tool: input.call.tool_name.to_owned(),
            scope: binding.scope,
            arguments_sha256: binding.arguments_sha256,
            expires_at: now_unix().saturating_add(ttl),
            upstream_state: upstream_state.map(str::to_owned),
            meta: meta.clone(),
        };
        request_state::seal_as(self.state_key(), SEALING, self.state_audience(), &sealed)
    }

    /// Reads the retry of `input` first: a state of [`Gate::wrap_upstream_state`] resumes the upstream call once,
    /// anything else is left to [`Gate::step`]. Only a 2026-07-28 call can carry one: on 2025-11-25 a framework's
    /// own retry runs inside the approved call, and the step refuses any `requestState`.
    pub fn open_upstream_state(&self, input: &StepInput<'_>) -> UpstreamResume {
        if input.era != Era::Current2026_07_28 {
            return UpstreamResume::NotWrapped;
        }
        let Some(retry) = input.retry else { return UpstreamResume::NotWrapped };
        if request_state::version_of(retry.request_state, MAX_UPSTREAM_STATE_CHARS) != Some(SEALING.version) {
            return UpstreamResume::NotWrapped;
        }
        let refuse = |message: &str| {
            UpstreamResume::Refuse(Step::ProtocolError {
                code: code::INVALID_PARAMS,
                message: message.to_owned(),
                data: None,
            })
        };
        let sealed: SealedUpstream =
            match request_state::open_as(self.state_key(), SEALING, self.state_audience(), retry.request_state) {
                Ok(sealed) => sealed,
                Err(error) => return refuse(error.message()),
            };
        let now = now_unix();
        if now >= sealed.expires_at {
            return refuse(StateError::Expired.message());
        }
        let same_call = self.binding(&input.auth, &input.call).is_some_and(|b| {
            b.identity == sealed.identity
                && b.authorization_id == sealed.authorization_id
                && b.scope == sealed.scope
                && b.arguments_sha256 == sealed.arguments_sha256
        }) && sealed.tool == input.call.tool_name;
        if !same_call {
            return refuse("requestState belongs to another tool call");
        }
        if !self.spent_upstream_states().spend(&sealed.id, sealed.expires_at, now) {
            return refuse("requestState was already used");
        }
        let mut input_responses = retry.input_responses.cloned();
        if let Some(Value::Object(responses)) = input_responses.as_mut() {
            responses.remove(CONFIRM_INPUT_KEY);
        }
        UpstreamResume::Resume { request_state: sealed.upstream_state, input_responses, meta: sealed.meta }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_spent_once_and_forgotten_after_its_expiry() {
        let spent = SpentStates::default();
        assert!(spent.spend("a", 100, 10));
        assert!(!spent.spend("a", 100, 50));
        assert!(spent.spend("b", 200, 150), "a is forgotten now");
        assert_eq!(spent.0.lock().unwrap().len(), 1);
    }
}
