//! Whose authorization a tool call runs under: the caller's identity, taken only from a source the server trusts.
//!
//! An MCP tool call carries arguments written by a model. If the acting user were read from them (`user_id`), a
//! prompt-injected model could name anyone and run under their authorization. So the identity comes from the
//! transport's authentication (an OAuth token the MCP server validated, a client certificate) or from a callback the
//! server writes; reading it from an argument is an explicit opt-in for single-user servers, where the model can only
//! name the one user there is. When no trusted source yields an identity the call is refused with
//! [`NO_TRUSTED_IDENTITY_HELP`] — never a silent deny, never a fallback to the arguments.
//!
//! Every binding uses this one resolver so the default is the same in every language.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

/// What the transport authenticated for this request. Everything here comes from the MCP server's own auth layer,
/// never from the model.
#[derive(Debug, Clone, Copy, Default)]
pub struct TransportAuth<'a> {
    /// The authenticated principal (an access token's subject, a certificate's name); `None` on stdio or an
    /// unauthenticated HTTP transport.
    pub principal: Option<&'a str>,
    /// Further claims of the transport's credential (token claims), for an [`IdentitySource::Callback`] to map.
    pub claims: Option<&'a Map<String, Value>>,
    /// The MCP session, when the transport has one.
    pub session_id: Option<&'a str>,
}

/// A server-side function from the transport's auth to the caller's identity; `None` = no identity for this call.
pub type IdentityCallback = Arc<dyn Fn(&TransportAuth<'_>) -> Option<String> + Send + Sync>;

/// Where the caller's identity comes from. The default is [`IdentitySource::Transport`].
#[derive(Clone, Default)]
pub enum IdentitySource {
    /// The transport's authenticated principal ([`TransportAuth::principal`]).
    #[default]
    Transport,
    /// A server-side callback (e.g. a session table, or a claim of the token other than its subject).
    Callback(IdentityCallback),
    /// One fixed identity for every call: a single-user process such as a stdio server or `allowly mcp proxy`, whose
    /// user is whoever started it.
    Process(String),
    /// **Single-user only.** The string value of the top-level tool argument `argument`. The model writes the
    /// arguments, so on a server with several users any caller could name another; use this only where every caller
    /// is the same person and the argument merely names them.
    FromArguments { argument: String },
}

impl IdentitySource {
    /// Reads the identity from the tool argument `argument` (opt-in, single-user servers only: see the variant).
    pub fn identity_from_arguments(argument: impl Into<String>) -> Self {
        IdentitySource::FromArguments { argument: argument.into() }
    }

    pub fn callback(f: impl Fn(&TransportAuth<'_>) -> Option<String> + Send + Sync + 'static) -> Self {
        IdentitySource::Callback(Arc::new(f))
    }

    /// The caller's identity, or `None` when this source yields none (the call must then be refused with
    /// [`NO_TRUSTED_IDENTITY_HELP`]). Empty strings count as none: an empty identity names nobody.
    pub fn resolve(&self, auth: &TransportAuth<'_>, arguments: Option<&Map<String, Value>>) -> Option<String> {
        let identity = match self {
            IdentitySource::Transport => auth.principal.map(str::to_owned),
            IdentitySource::Callback(f) => f(auth),
            IdentitySource::Process(identity) => Some(identity.clone()),
            IdentitySource::FromArguments { argument } => {
                arguments.and_then(|a| a.get(argument)).and_then(Value::as_str).map(str::to_owned)
            }
        };
        identity.filter(|id| !id.is_empty())
    }
}

impl fmt::Debug for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentitySource::Transport => f.write_str("Transport"),
            IdentitySource::Callback(_) => f.write_str("Callback(..)"),
            IdentitySource::Process(identity) => f.debug_tuple("Process").field(identity).finish(),
            IdentitySource::FromArguments { argument } => {
                f.debug_struct("FromArguments").field("argument", argument).finish()
            }
        }
    }
}

/// The refusal text of a call with no trusted identity: what the server operator must do about it.
pub const NO_TRUSTED_IDENTITY_HELP: &str = "denied by Allowly: no trusted caller identity for this call, so no \
authorization can be chosen. The MCP server must say who the user is: give the gate an identity callback \
(server-side, e.g. from your session or the validated OAuth token), or serve over an authenticating transport whose \
principal is the user. Tool arguments are never used as the identity unless the server opts in \
(identity_from_arguments, single-user servers only).";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_default_reads_the_transport_and_never_the_arguments() {
        let arguments = args(json!({"user_id": "mallory"}));
        let source = IdentitySource::default();
        assert_eq!(source.resolve(&TransportAuth::default(), Some(&arguments)), None);
        let auth = TransportAuth { principal: Some("alice"), ..Default::default() };
        assert_eq!(source.resolve(&auth, Some(&arguments)).as_deref(), Some("alice"));
    }

    #[test]
    fn arguments_are_read_only_when_opted_in_and_only_as_strings() {
        let source = IdentitySource::identity_from_arguments("user_id");
        let named = args(json!({"user_id": "bob"}));
        assert_eq!(source.resolve(&TransportAuth::default(), Some(&named)).as_deref(), Some("bob"));
        for bad in [json!({"user_id": 7}), json!({"user_id": ""}), json!({"other": "bob"})] {
            assert_eq!(source.resolve(&TransportAuth::default(), Some(&args(bad))), None);
        }
    }

    #[test]
    fn a_callback_maps_the_transport_and_an_empty_answer_is_none() {
        let source = IdentitySource::callback(|auth| auth.session_id.map(|s| format!("user-of-{s}")));
        let auth = TransportAuth { session_id: Some("s1"), ..Default::default() };
        assert_eq!(source.resolve(&auth, None).as_deref(), Some("user-of-s1"));
        assert_eq!(source.resolve(&TransportAuth::default(), None), None);
        assert_eq!(IdentitySource::callback(|_| Some(String::new())).resolve(&auth, None), None);
        assert_eq!(format!("{source:?}"), "Callback(..)");
    }
}
