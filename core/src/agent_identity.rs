//! Agent identity: the enrolled agent's credential file, the short-lived tokens it signs, and their verification.
//!
//! The credential is the file the official 0.8.0 SDK reads as `NativeAgentCredential` (`version` 1, `provider`
//! "allowly", workspace / agent / binding / key ids and an Ed25519 private JWK). Its key is generated on the agent's
//! machine ([`AgentCredential::generate`]); only the public JWK is registered with the server, which never sees the
//! private half. A token is a compact EdDSA JWT (`{"alg":"EdDSA","typ":"JWT","kid"}`, claims `iss`
//! "allowly-agent", `aud` = workspace id, `sub` = agent id, `bid` = binding id, `iat`/`nbf` = now, `exp` = now +
//! 60 s) sent as `X-Allowly-Agent-Token`. The byte layout (compact JSON in this member order) is the one 0.8.0
//! produces, so a token minted here and one minted by 0.8.0 from the same credential are interchangeable.
//!
//! The parsing and signature rules ([`decode_token`], [`DecodedToken::verify`]) live here too, so the server checks
//! exactly the format the clients produce.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// The request header that carries an agent token.
pub const AGENT_TOKEN_HEADER: &str = "X-Allowly-Agent-Token";
/// `iss` of every agent token.
pub const TOKEN_ISSUER: &str = "allowly-agent";
/// Seconds from `iat` to `exp` of a token minted here (as 0.8.0 mints them).
pub const TOKEN_LIFETIME_SECS: i64 = 60;

const INVALID: &str = "invalid Allowly agent credential";

fn invalid(detail: &str) -> Error {
    Error::Config { message: format!("{INVALID}: {detail}") }
}

/// Canonical unpadded base64url only: the same value must have one spelling (0.8.0 refuses any other).
fn decode_b64(value: &str) -> Option<Vec<u8>> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let bytes = B64.decode(value).ok()?;
    (B64.encode(&bytes) == value).then_some(bytes)
}

fn key_bytes(value: &str) -> Option<[u8; 32]> {
    decode_b64(value)?.try_into().ok()
}

/// An Ed25519 public key as a JWK (`{"kty":"OKP","crv":"Ed25519","x"}`): what enrollment registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyJwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
}

impl PublicKeyJwk {
    /// The verifying key, if this is a well-formed Ed25519 JWK with a canonical 32-byte `x`.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return None;
        }
        VerifyingKey::from_bytes(&key_bytes(&self.x)?).ok()
    }

    fn of(key: &VerifyingKey) -> Self {
        PublicKeyJwk { kty: "OKP".into(), crv: "Ed25519".into(), x: B64.encode(key.as_bytes()) }
    }
}

/// What the server answers when a public key is registered: the ids the credential file records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRegistration {
    pub workspace_id: String,
    pub agent_id: String,
    pub binding_id: String,
    pub key_id: String,
}

/// An enrolled agent's credential: ids plus the Ed25519 private key. `Debug` never shows the key.
#[derive(Clone)]
pub struct AgentCredential {
    pub workspace_id: String,
    pub agent_id: String,
    pub binding_id: String,
    pub key_id: String,
    key: SigningKey,
}

impl fmt::Debug for AgentCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentCredential")
            .field("workspace_id", &self.workspace_id)
            .field("agent_id", &self.agent_id)
            .field("binding_id", &self.binding_id)
            .field("key_id", &self.key_id)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

/// A freshly generated key whose public half is about to be registered (enrollment's first step).
pub struct PendingEnrollment {
    key: SigningKey,
}

impl fmt::Debug for PendingEnrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingEnrollment").field("public_key", &self.public_key_jwk()).finish()
    }
}

impl PendingEnrollment {
    /// The public JWK to register; the private key stays in this value.
    pub fn public_key_jwk(&self) -> PublicKeyJwk {
        PublicKeyJwk::of(&self.key.verifying_key())
    }

    /// The credential, once the server has answered with the registration's ids.
    pub fn complete(self, registration: AgentRegistration) -> Result<AgentCredential> {
        let AgentRegistration { workspace_id, agent_id, binding_id, key_id } = registration;
        for (name, value) in
            [("workspace_id", &workspace_id), ("agent_id", &agent_id), ("binding_id", &binding_id), ("key_id", &key_id)]
        {
            if value.is_empty() {
                return Err(Error::Protocol { message: format!("agent registration: empty {name}") });
            }
        }
        Ok(AgentCredential { workspace_id, agent_id, binding_id, key_id, key: self.key })
    }
}

impl AgentCredential {
    /// Generates an Ed25519 key on this machine (the OS random source) for a new enrollment.
    pub fn generate() -> PendingEnrollment {
        PendingEnrollment { key: SigningKey::generate(&mut rand::rngs::OsRng) }
    }

    /// Reads the credential file format, with 0.8.0's rules: version 1, provider "allowly", non-empty string ids,
    /// an OKP/Ed25519 JWK whose `d` and `x` are canonical base64url of 32 bytes and whose `x` is `d`'s public key.
    /// Errors never quote the file.
    pub fn from_json(text: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(text).map_err(|_| invalid("not a JSON object"))?;
        let o = v.as_object().ok_or_else(|| invalid("not a JSON object"))?;
        if o.get("version") != Some(&Value::from(1)) || o.get("provider") != Some(&Value::from("allowly")) {
            return Err(invalid("version must be 1 and provider \"allowly\""));
        }
        let id = |name: &str| match o.get(name).and_then(Value::as_str) {
            Some(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(invalid(&format!("{name} must be a non-empty string"))),
        };
        let (workspace_id, agent_id, binding_id, key_id) =
            (id("workspace_id")?, id("agent_id")?, id("binding_id")?, id("key_id")?);
        let jwk = o.get("private_key_jwk").and_then(Value::as_object).ok_or_else(|| invalid("no private_key_jwk"))?;
        if jwk.get("kty") != Some(&Value::from("OKP")) || jwk.get("crv") != Some(&Value::from("Ed25519")) {
            return Err(invalid("private_key_jwk must be an OKP Ed25519 key"));
        }
        let part = |name: &str| jwk.get(name).and_then(Value::as_str).and_then(key_bytes);
        let (d, x) = (part("d"), part("x"));
        let (Some(d), Some(x)) = (d, x) else {
            return Err(invalid("private_key_jwk d and x must be base64url of 32 bytes"));
        };
        let key = SigningKey::from_bytes(&d);
        if key.verifying_key().as_bytes() != &x {
            return Err(invalid("private_key_jwk x is not the public key of d"));
        }
        Ok(AgentCredential { workspace_id, agent_id, binding_id, key_id, key })
    }

    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let text = std::fs::read_to_string(path.as_ref())
            .map_err(|e| Error::Config { message: format!("cannot read the agent credential file: {e}") })?;
        Self::from_json(&text)
    }

    /// The credential file's text (contains the private key: write it with owner-only permissions).
    pub fn to_json(&self) -> String {
        let doc = serde_json::json!({
            "version": 1,
            "provider": "allowly",
            "workspace_id": self.workspace_id,
            "agent_id": self.agent_id,
            "binding_id": self.binding_id,
            "key_id": self.key_id,
            "private_key_jwk": {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": B64.encode(self.key.verifying_key().as_bytes()),
                "d": B64.encode(self.key.to_bytes()),
            },
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    pub fn public_key_jwk(&self) -> PublicKeyJwk {
        PublicKeyJwk::of(&self.key.verifying_key())
    }

    /// A fresh token valid for [`TOKEN_LIFETIME_SECS`] from now.
    pub fn token(&self) -> String {
        self.token_at(unix_now())
    }

    /// The token issued at `now` (seconds since the epoch): `iat` = `nbf` = now, `exp` = now + 60.
    pub fn token_at(&self, now: i64) -> String {
        self.token_with(now, now + TOKEN_LIFETIME_SECS, &self.workspace_id, &self.agent_id)
    }

    /// A token with chosen claims, for tests of the verifier (expired, wrong audience, another agent).
    #[doc(hidden)]
    pub fn token_with(&self, iat: i64, exp: i64, audience: &str, agent_id: &str) -> String {
        // Member order and compact separators as 0.8.0 writes them.
        let header = format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":{}}}"#, Value::from(self.key_id.as_str()));
        let claims = format!(
            r#"{{"iss":"{TOKEN_ISSUER}","aud":{},"sub":{},"bid":{},"iat":{iat},"nbf":{iat},"exp":{exp}}}"#,
            Value::from(audience),
            Value::from(agent_id),
            Value::from(self.binding_id.as_str()),
        );
        let signing_input = format!("{}.{}", B64.encode(header), B64.encode(claims));
        let signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(signature.to_bytes()))
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Why a token was refused. Each is a different wire code on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a compact EdDSA JWT of the agent-token shape (segments, base64url, JSON, header, claim types, issuer).
    Malformed,
    /// `aud` is not the workspace the request authenticates to.
    WrongAudience,
    /// The signature does not verify with the registered key, or the key is not bound to the claimed agent.
    BadSignature,
    /// Outside its validity window (`nbf` … `exp`, with the allowed clock skew), or valid for too long.
    Expired,
}

/// The claims of a decoded (not yet verified) token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub bid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

#[derive(Deserialize)]
struct TokenHeader {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    kid: String,
}

/// A token split and parsed; [`DecodedToken::verify`] checks it against the registered key.
#[derive(Debug, Clone)]
pub struct DecodedToken {
    /// The header's `kid`: the registered key to verify with.
    pub key_id: String,
    pub claims: TokenClaims,
    signing_input: String,
    signature: [u8; 64],
}

/// The longest `exp - iat` accepted: a leaked token must stop working soon.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 300;
/// Clock skew tolerated between the agent's machine and the server.
pub const CLOCK_SKEW_SECS: i64 = 30;

/// Splits and parses a token. Nothing about it is trusted yet.
pub fn decode_token(token: &str) -> std::result::Result<DecodedToken, TokenError> {
    if token.len() > 4096 {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let header: TokenHeader =
        serde_json::from_slice(&decode_b64(h).ok_or(TokenError::Malformed)?).map_err(|_| TokenError::Malformed)?;
    let claims: TokenClaims =
        serde_json::from_slice(&decode_b64(c).ok_or(TokenError::Malformed)?).map_err(|_| TokenError::Malformed)?;
    let signature: [u8; 64] = decode_b64(s).and_then(|b| b.try_into().ok()).ok_or(TokenError::Malformed)?;
    if header.alg != "EdDSA" || header.typ.as_deref().is_some_and(|t| t != "JWT") || header.kid.is_empty() {
        return Err(TokenError::Malformed);
    }
    if claims.iss != TOKEN_ISSUER {
        return Err(TokenError::Malformed);
    }
    Ok(DecodedToken { key_id: header.kid, claims, signing_input: format!("{h}.{c}"), signature })
}

impl DecodedToken {
    /// Checks the token against what the server registered for `key_id`: the audience (the workspace the request
    /// authenticated to), the signature with that key, that the key is bound to the claimed agent and binding, and
    /// the validity window at `now`. The first failing rule decides the error.
    pub fn verify(
        &self,
        workspace_id: &str,
        key: &PublicKeyJwk,
        agent_id: &str,
        binding_id: &str,
        now: i64,
    ) -> std::result::Result<(), TokenError> {
        if self.claims.aud != workspace_id {
            return Err(TokenError::WrongAudience);
        }
        let key = key.verifying_key().ok_or(TokenError::BadSignature)?;
        key.verify(self.signing_input.as_bytes(), &Signature::from_bytes(&self.signature))
            .map_err(|_| TokenError::BadSignature)?;
        if self.claims.sub != agent_id || self.claims.bid != binding_id {
            return Err(TokenError::BadSignature);
        }
        let c = &self.claims;
        let window_ok = c.nbf <= now + CLOCK_SKEW_SECS && now < c.exp + CLOCK_SKEW_SECS;
        if !window_ok || c.exp <= c.iat || c.exp - c.iat > MAX_TOKEN_LIFETIME_SECS {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> AgentCredential {
        AgentCredential::generate()
            .complete(AgentRegistration {
                workspace_id: "ws_1".into(),
                agent_id: "agent-1".into(),
                binding_id: "bind_1".into(),
                key_id: "akey_1".into(),
            })
            .expect("complete")
    }

    #[test]
    fn the_credential_file_round_trips_and_hides_its_key_from_debug() {
        let c = credential();
        let back = AgentCredential::from_json(&c.to_json()).expect("reads its own file");
        assert_eq!(back.public_key_jwk(), c.public_key_jwk());
        assert_eq!((back.workspace_id.as_str(), back.key_id.as_str()), ("ws_1", "akey_1"));
        let d = B64.encode(c.key.to_bytes());
        assert!(!format!("{c:?}").contains(&d));
    }

    #[test]
    fn bad_credential_files_are_refused_without_quoting_them() {
        let good: Value = serde_json::from_str(&credential().to_json()).expect("json");
        let other = credential();
        type Edit = Box<dyn Fn(&mut Value)>;
        let edits: Vec<Edit> = vec![
            Box::new(|v| v["version"] = 2.into()),
            Box::new(|v| v["provider"] = "auth0".into()),
            Box::new(|v| v["agent_id"] = "".into()),
            Box::new(|v| v["private_key_jwk"]["crv"] = "X25519".into()),
            Box::new(|v| {
                let d = v["private_key_jwk"]["d"].as_str().unwrap_or_default().to_owned();
                v["private_key_jwk"]["d"] = format!("{d}!").into()
            }),
            Box::new(move |v| v["private_key_jwk"]["x"] = other.public_key_jwk().x.into()),
        ];
        for edit in edits {
            let mut v = good.clone();
            edit(&mut v);
            let err = AgentCredential::from_json(&v.to_string()).expect_err("refused");
            assert!(err.to_string().contains(INVALID), "{err}");
            assert!(!err.to_string().contains(good["private_key_jwk"]["d"].as_str().unwrap_or("-")), "{err}");
        }
    }

    #[test]
    fn a_minted_token_has_the_official_shape_and_verifies() {
        let c = credential();
        let token = c.token_at(1_000_000);
        let mut parts = token.split('.');
        let header = B64.decode(parts.next().unwrap_or_default()).expect("b64");
        assert_eq!(header, br#"{"alg":"EdDSA","typ":"JWT","kid":"akey_1"}"#);
        let claims = B64.decode(parts.next().unwrap_or_default()).expect("b64");
        assert_eq!(
            String::from_utf8(claims).expect("utf8"),
            r#"{"iss":"allowly-agent","aud":"ws_1","sub":"agent-1","bid":"bind_1","iat":1000000,"nbf":1000000,"exp":1000060}"#
        );
        let d = decode_token(&token).expect("decodes");
        assert_eq!(d.key_id, "akey_1");
        assert_eq!(d.verify("ws_1", &c.public_key_jwk(), "agent-1", "bind_1", 1_000_010), Ok(()));
    }

    #[test]
    fn each_broken_rule_has_its_own_error() {
        let c = credential();
        let key = c.public_key_jwk();
        let now = 1_000_000;
        let check = |t: &str| decode_token(t).and_then(|d| d.verify("ws_1", &key, "agent-1", "bind_1", now));
        assert_eq!(check("a.b"), Err(TokenError::Malformed));
        assert_eq!(check("not-a-token"), Err(TokenError::Malformed));
        assert_eq!(check(&c.token_with(now, now + 60, "ws_other", "agent-1")), Err(TokenError::WrongAudience));
        assert_eq!(check(&c.token_with(now - 600, now - 540, "ws_1", "agent-1")), Err(TokenError::Expired));
        assert_eq!(check(&c.token_with(now + 600, now + 660, "ws_1", "agent-1")), Err(TokenError::Expired));
        assert_eq!(check(&c.token_with(now, now + 3600, "ws_1", "agent-1")), Err(TokenError::Expired));
        assert_eq!(check(&c.token_with(now, now + 60, "ws_1", "agent-2")), Err(TokenError::BadSignature));
        let other = credential();
        let forged = other.token_at(now);
        assert_eq!(check(&forged), Err(TokenError::BadSignature));
        // A tampered claim breaks the signature.
        let token = c.token_at(now);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let claims = String::from_utf8(B64.decode(&parts[1]).expect("b64")).expect("utf8");
        parts[1] = B64.encode(claims.replace("\"exp\":1000060", "\"exp\":1000061"));
        assert_eq!(check(&parts.join(".")), Err(TokenError::BadSignature));
        assert_eq!(check(&token), Ok(()));
    }
}
