//! One decision step per `tools/call`, for both MCP eras: the only place that turns the gate's outcome into what the
//! MCP server answers (run, an error result, an elicitation to push, an input-required result, a protocol error).
//!
//! The flows:
//! - **2025-11-25** (`Legacy2025_11_25`): a confirm becomes [`Step::Elicit`]; the adapter pushes `elicitation/create`
//!   and hands the answer to [`Gate::answer_elicitation`], which records it and re-checks. A client without the
//!   elicitation capability gets an `isError` result naming the confirmation.
//! - **2026-07-28** (`Current2026_07_28`): servers may not push requests. A confirm becomes [`Step::InputRequired`]
//!   with a sealed `requestState`; the client retries the call with `inputResponses` and the state echoed, and this
//!   step opens the state, records the answer and re-checks. A client that did not declare elicitation in the
//!   request's `_meta` gets -32021; a state that is malformed, foreign, tampered, moved to another call, replayed or
//!   expired gets -32602.

use std::fmt;
use std::time::Duration;

use allowly_core::Error;
use allowly_core::caller_identity::{NO_TRUSTED_IDENTITY_HELP, TransportAuth};
use allowly_core::model::{ReceiptEnvelope, reason};
use allowly_core::policy::arguments_sha256;
use serde_json::{Map, Value, json};

use crate::gate::{CallContext, ConfirmNonce, Gate, Outcome};
use crate::request_state::{self, SealedCall};
use crate::results::{self, CONFIRM_INPUT_KEY, ElicitAnswer, NO_TRUSTED_IDENTITY, Unanswered, code};

/// The MCP protocol revision of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2025-11-25 and earlier: `initialize`, server-pushed `elicitation/create`.
    Legacy2025_11_25,
    /// 2026-07-28: per-request capabilities, `input_required` results and `requestState`.
    Current2026_07_28,
}

impl Era {
    /// The era of a negotiated (or per-request) `protocolVersion`. Versions are `YYYY-MM-DD` dates, so they compare
    /// as text; anything else is treated as the old era, whose answers never depend on a client-held state.
    pub fn of_protocol_version(version: &str) -> Era {
        let is_date = version.len() == 10
            && version.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        if is_date && version >= "2026-07-28" { Era::Current2026_07_28 } else { Era::Legacy2025_11_25 }
    }
}

/// What the client declared it can do, for this request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCapabilities {
    /// Form elicitation: the gate's question is a form.
    pub elicitation: bool,
}

impl ClientCapabilities {
    /// From a capabilities object (`initialize`'s, or the per-request one): `elicitation: {}` (the 2025-06-18
    /// meaning, form) or `elicitation: {"form": …}`. URL-only elicitation cannot carry the gate's question.
    pub fn from_capabilities(capabilities: Option<&Value>) -> Self {
        let elicitation = capabilities
            .and_then(|c| c.get("elicitation"))
            .and_then(Value::as_object)
            .is_some_and(|e| e.is_empty() || e.contains_key("form"));
        ClientCapabilities { elicitation }
    }

    /// From a 2026-07-28 request's `_meta` (`io.modelcontextprotocol/clientCapabilities`).
    pub fn from_request_meta(meta: Option<&Map<String, Value>>) -> Self {
        Self::from_capabilities(meta.and_then(|m| m.get("io.modelcontextprotocol/clientCapabilities")))
    }
}

/// A 2026-07-28 retry: what the client sends back after an [`Step::InputRequired`].
#[derive(Debug, Clone, Copy)]
pub struct Retry<'a> {
    /// The request's `inputResponses` (`None` when absent).
    pub input_responses: Option<&'a Value>,
    pub request_state: &'a str,
}

/// Everything the step needs about one `tools/call`.
#[derive(Debug, Clone, Copy)]
pub struct StepInput<'a> {
    /// The call. Its `identity` is not read: the step takes the identity from `auth` through the gate's
    /// [`IdentitySource`](allowly_core::caller_identity::IdentitySource), so no adapter can pass one from arguments.
    pub call: CallContext<'a>,
    /// What the transport authenticated.
    pub auth: TransportAuth<'a>,
    pub era: Era,
    pub capabilities: ClientCapabilities,
    pub retry: Option<Retry<'a>>,
}

impl<'a> StepInput<'a> {
    pub fn new(call: CallContext<'a>, era: Era) -> Self {
        StepInput {
            call,
            auth: TransportAuth::default(),
            era,
            capabilities: ClientCapabilities::default(),
            retry: None,
        }
    }
}

/// What the MCP server does with the call.
#[derive(Debug)]
pub enum Step {
    /// Run the tool; add `meta` to its result's `_meta` (`receipts` are the ids of every decision of this call).
    Run { receipts: Vec<String>, meta: Map<String, Value> },
    /// Do not run the tool; answer `result`, a complete `isError` CallToolResult.
    Refuse { result: Value },
    /// 2025-11-25: push `elicitation/create` with `params`, then pass the answer to [`Gate::answer_elicitation`].
    Elicit { params: Value, pending: PendingConfirmation },
    /// 2026-07-28: answer `{"resultType": "input_required", "inputRequests": …, "requestState": …}`
    /// ([`Step::input_required_result`]).
    InputRequired { input_requests: Value, request_state: String },
    /// Answer a JSON-RPC error instead of a result.
    ProtocolError { code: i32, message: String, data: Option<Value> },
}

impl Step {
    /// The result JSON of an [`Step::InputRequired`].
    pub fn input_required_result(input_requests: &Value, request_state: &str) -> Value {
        json!({"resultType": "input_required", "inputRequests": input_requests, "requestState": request_state})
    }

    fn protocol_error(code: i32, message: &str) -> Step {
        Step::ProtocolError { code, message: message.to_owned(), data: None }
    }
}

/// A 2025-11-25 confirmation waiting for the user's answer. Holds the nonce, so it stays in this process and prints
/// nothing secret.
pub struct PendingConfirmation(Box<Pending>);

struct Pending {
    bound: Bound,
    arguments: Option<Map<String, Value>>,
    run_id: Option<String>,
    nonce: ConfirmNonce,
    prompt_hint: Option<String>,
    confirmation_id: Option<String>,
    receipt_ids: Vec<String>,
}

impl fmt::Debug for PendingConfirmation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingConfirmation")
            .field("tool", &self.0.bound.tool)
            .field("scope", &self.0.bound.scope)
            .field("confirmation_id", &self.0.confirmation_id)
            .finish_non_exhaustive()
    }
}

/// Who and what a confirmation was asked for.
#[derive(Debug, Clone)]
struct Bound {
    identity: String,
    authorization_id: String,
    tool: String,
    scope: String,
}

impl Gate {
    /// Decides one `tools/call` (first call or 2026-07-28 retry). Never fails: anything that prevents a decision
    /// refuses the call.
    pub async fn step(&self, input: StepInput<'_>) -> Step {
        let call = &input.call;
        let scope = self.scope_for(call.tool_name);
        let Some(identity) = self.config().identity.resolve(&input.auth, call.arguments) else {
            tracing::info!(tool = call.tool_name, "allowly gate: no trusted identity for this call; refusing");
            let meta = results::allowly_meta("deny", NO_TRUSTED_IDENTITY, &[]);
            return Step::Refuse { result: results::refused_result(NO_TRUSTED_IDENTITY_HELP.to_owned(), meta) };
        };
        let Some(authorization_id) = self.config().resolver.authorization_for(Some(&identity)) else {
            return refuse_deny(reason::AUTHORIZATION_NOT_FOUND, &scope, &[]);
        };
        let bound = Bound { identity, authorization_id, tool: call.tool_name.to_owned(), scope };
        let identity = bound.identity.clone();
        let call = CallContext { identity: Some(&identity), ..*call };
        match input.retry {
            None => self.first_step(&input, &call, bound).await,
            Some(_) if input.era == Era::Legacy2025_11_25 => {
                Step::protocol_error(code::INVALID_PARAMS, "requestState is not part of MCP 2025-11-25")
            }
            Some(retry) => self.retry_step(&call, bound, retry).await,
        }
    }

    async fn first_step(&self, input: &StepInput<'_>, call: &CallContext<'_>, bound: Bound) -> Step {
        let request = self.check_request(call, &bound.authorization_id, &bound.scope);
        let outcome = self.decide(&request, bound.scope.clone()).await;
        let receipt_ids: Vec<String> = outcome.receipt().map(receipt_id).into_iter().collect();
        let Outcome::Confirm { prompt_hint, confirmation_id, nonce, expires_at, .. } = outcome else {
            return finished(&outcome, receipt_ids);
        };
        let reason = reason::SCOPE_REQUIRES_USER_CONFIRMATION;
        if !input.capabilities.elicitation {
            if input.era == Era::Current2026_07_28 {
                return Step::ProtocolError {
                    code: code::MISSING_REQUIRED_CLIENT_CAPABILITY,
                    message: "Missing required client capability: this tool call needs the user's confirmation \
                              (elicitation)"
                        .to_owned(),
                    data: Some(json!({"requiredCapabilities": {"elicitation": {"form": {}}}})),
                };
            }
            let text = results::unanswered_text(
                reason,
                prompt_hint.as_deref(),
                confirmation_id.as_deref(),
                Unanswered::Unsupported,
            );
            let meta = results::allowly_meta("confirm", reason, &receipt_ids);
            return Step::Refuse { result: results::refused_result(text, meta) };
        }
        let params = results::elicitation_params(&bound.tool, &bound.scope, prompt_hint.as_deref());
        match input.era {
            Era::Legacy2025_11_25 => Step::Elicit {
                params,
                pending: PendingConfirmation(Box::new(Pending {
                    bound,
                    arguments: call.arguments.cloned(),
                    run_id: call.run_id.map(str::to_owned),
                    nonce,
                    prompt_hint,
                    confirmation_id,
                    receipt_ids,
                })),
            },
            Era::Current2026_07_28 => {
                let sealed = SealedCall {
                    arguments_sha256: digest(call.arguments),
                    nonce: nonce.secret().to_owned(),
                    confirmation_id,
                    expires_at: self.state_expiry(expires_at.as_deref()),
                    receipt_ids,
                    identity: bound.identity,
                    authorization_id: bound.authorization_id,
                    tool: bound.tool,
                    scope: bound.scope,
                };
                let Some(request_state) = request_state::seal(self.state_key(), self.state_audience(), &sealed) else {
                    return refuse_deny("request_state_too_large", &sealed.scope, &sealed.receipt_ids);
                };
                Step::InputRequired { input_requests: results::confirm_input_requests(params), request_state }
            }
        }
    }

    async fn retry_step(&self, call: &CallContext<'_>, bound: Bound, retry: Retry<'_>) -> Step {
        let opened = request_state::open(self.state_key(), self.state_audience(), retry.request_state, now_unix());
        let sealed = match opened {
            Ok(sealed) => sealed,
            Err(error) => return Step::protocol_error(code::INVALID_PARAMS, error.message()),
        };
        let same_call = sealed.identity == bound.identity
            && sealed.authorization_id == bound.authorization_id
            && sealed.tool == bound.tool
            && sealed.scope == bound.scope
            && sealed.arguments_sha256 == digest(call.arguments);
        if !same_call {
            return Step::protocol_error(code::INVALID_PARAMS, "requestState belongs to another tool call");
        }
        let answer = retry.input_responses.and_then(|r| r.get(CONFIRM_INPUT_KEY)).and_then(ElicitAnswer::from_result);
        let Some(answer) = answer else {
            return Step::protocol_error(
                code::INVALID_PARAMS,
                "inputResponses has no answer to the confirmation (allowly_confirmation)",
            );
        };
        let nonce = ConfirmNonce::new(sealed.nonce.clone());
        let asked = Asked {
            nonce: &nonce,
            prompt_hint: None,
            confirmation_id: sealed.confirmation_id.as_deref(),
            receipt_ids: sealed.receipt_ids.clone(),
        };
        match self.finish(call, &bound, asked, answer).await {
            Finished::Step(step) => step,
            Finished::NonceSpent(_) => {
                Step::protocol_error(code::INVALID_PARAMS, "requestState was already used or its confirmation expired")
            }
        }
    }

    /// The second half of a 2025-11-25 confirmation: records the user's answer to [`Step::Elicit`] and re-checks.
    pub async fn answer_elicitation(&self, pending: PendingConfirmation, answer: ElicitAnswer) -> Step {
        let Pending { bound, arguments, run_id, nonce, prompt_hint, confirmation_id, receipt_ids } = *pending.0;
        let call = CallContext {
            identity: Some(&bound.identity),
            arguments: arguments.as_ref(),
            run_id: run_id.as_deref(),
            ..CallContext::new(&bound.tool)
        };
        let asked = Asked {
            nonce: &nonce,
            prompt_hint: prompt_hint.as_deref(),
            confirmation_id: confirmation_id.as_deref(),
            receipt_ids,
        };
        match self.finish(&call, &bound, asked, answer).await {
            Finished::Step(step) => step,
            Finished::NonceSpent(receipt_ids) => refuse_deny("confirmation_not_found", &bound.scope, &receipt_ids),
        }
    }

    /// Records `answer` (accept / decline) and re-checks the same call; a cancelled or failed question records
    /// nothing and leaves the confirmation pending.
    async fn finish(&self, call: &CallContext<'_>, bound: &Bound, asked: Asked<'_>, answer: ElicitAnswer) -> Finished {
        let Asked { nonce, prompt_hint, confirmation_id, mut receipt_ids } = asked;
        let approved = match answer {
            ElicitAnswer::Accept => true,
            ElicitAnswer::Decline => false,
            ElicitAnswer::Cancel | ElicitAnswer::Failed => {
                let why = if answer == ElicitAnswer::Cancel { Unanswered::Dismissed } else { Unanswered::Failed };
                let reason = reason::SCOPE_REQUIRES_USER_CONFIRMATION;
                let text = results::unanswered_text(reason, prompt_hint, confirmation_id, why);
                let meta = results::allowly_meta("confirm", reason, &receipt_ids);
                return Finished::Step(Step::Refuse { result: results::refused_result(text, meta) });
            }
        };
        match self.record_answer(nonce, approved).await {
            Ok(receipt) => receipt_ids.push(receipt_id(&receipt)),
            Err(error) if matches!(error.code(), "confirmation_not_found" | "confirmation_expired") => {
                return Finished::NonceSpent(receipt_ids);
            }
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "allowly gate: recording the user's answer failed");
                return Finished::Step(refuse_deny(error.code(), &bound.scope, &receipt_ids));
            }
        }
        let request = self.check_request(call, &bound.authorization_id, &bound.scope);
        let outcome = self.decide(&request, bound.scope.clone()).await;
        receipt_ids.extend(outcome.receipt().map(receipt_id));
        Finished::Step(finished(&outcome, receipt_ids))
    }

    fn state_expiry(&self, confirmation_expires_at: Option<&str>) -> i64 {
        state_expiry(now_unix(), self.config().request_state.ttl, confirmation_expires_at)
    }

    async fn record_answer(&self, nonce: &ConfirmNonce, approved: bool) -> Result<ReceiptEnvelope, Error> {
        Ok(self.client().approve_confirmation(nonce.secret(), approved, None).await?.receipt)
    }
}

struct Asked<'a> {
    nonce: &'a ConfirmNonce,
    prompt_hint: Option<&'a str>,
    confirmation_id: Option<&'a str>,
    receipt_ids: Vec<String>,
}

enum Finished {
    Step(Step),
    /// The server no longer knows the nonce: it was already resolved (a replay) or the confirmation expired.
    NonceSpent(Vec<String>),
}

/// The step of a settled outcome: allow runs, anything else refuses.
fn finished(outcome: &Outcome, receipt_ids: Vec<String>) -> Step {
    let meta = results::allowly_meta(outcome.decision().as_str(), outcome.reason(), &receipt_ids);
    let text = match outcome {
        Outcome::Allow { .. } => return Step::Run { receipts: receipt_ids, meta },
        Outcome::Deny { reason, scope, .. } => results::deny_text(reason, scope),
        Outcome::Confirm { .. } => results::still_pending_text(outcome.reason()),
    };
    Step::Refuse { result: results::refused_result(text, meta) }
}

fn refuse_deny(reason: &str, scope: &str, receipt_ids: &[String]) -> Step {
    let meta = results::allowly_meta("deny", reason, receipt_ids);
    Step::Refuse { result: results::refused_result(results::deny_text(reason, scope), meta) }
}

fn receipt_id(receipt: &ReceiptEnvelope) -> String {
    receipt.receipt_id().to_owned()
}

/// Absent arguments and `{}` are the same call.
pub(crate) fn digest(arguments: Option<&Map<String, Value>>) -> String {
    arguments_sha256(&Value::Object(arguments.cloned().unwrap_or_default()))
}

/// A state lives for the configured ttl, and never past its confirmation: after that the nonce cannot be answered, and
/// a state that outlived it would only turn into a confusing server error.
fn state_expiry(now: i64, ttl: Duration, confirmation_expires_at: Option<&str>) -> i64 {
    let expiry = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    match confirmation_expires_at.and_then(parse_timestamp) {
        Some(at) => expiry.min(at),
        None => expiry,
    }
}

pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn parse_timestamp(text: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(at.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_never_outlives_its_confirmation() {
        // 2026-04-21T14:32:17Z
        let confirmation_end = 1_776_781_937;
        let ttl = Duration::from_secs(600);
        let at = Some("2026-04-21T14:32:17.482Z");
        assert_eq!(state_expiry(confirmation_end - 60, ttl, at), confirmation_end);
        assert_eq!(state_expiry(confirmation_end - 6000, ttl, at), confirmation_end - 5400);
        assert_eq!(state_expiry(100, ttl, None), 700);
        assert_eq!(state_expiry(100, ttl, Some("not a time")), 700);
    }
}
