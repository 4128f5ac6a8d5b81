//! Small shared helpers: identifiers, the exact millisecond timestamp profile (formatted by core), hashing and random
//! secrets.
//!
//! Timestamps are stored as `YYYY-MM-DDTHH:MM:SS.sssZ` strings everywhere (database, responses, receipts): the
//! profile is fixed-width, so string comparison in SQL orders instants correctly and no conversion can drift.

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A new `prefix_` + ULID identifier (`ws_`, `auth_`, `rcp_`, `cnf_`, `key_`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}

/// Formats an instant in the exact receipt profile (UTC, milliseconds, `Z`). It is core's formatter, the one the
/// verifier's profile parser is tested against, so the server cannot store or sign a timestamp the verifier refuses.
pub use allowly_core::receipt::timestamp::format_millis as fmt_ts;

/// Now, truncated to milliseconds so that what we compare is exactly what we store.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(t)
}

/// Parses any RFC 3339 instant (clients send `2026-12-31T00:00:00Z` or offsets); `None` when it is not one.
pub fn parse_ts(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(|t| t.to_offset(time::UtcOffset::UTC))
}

/// The UTC calendar day (`YYYY-MM-DD`) `max_per_day` counts against.
pub fn utc_day(t: OffsetDateTime) -> String {
    fmt_ts(t)[..10].to_string()
}

/// Lowercase hex SHA-256, used for API key, nonce and request-body hashes.
pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` uniformly random base62 characters from the OS CSPRNG (rejection sampling, no modulo bias).
pub fn random_base62(n: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut buf = [0u8; 64];
        rng.fill_bytes(&mut buf);
        for b in buf {
            // 248 = 4 * 62: bytes at or above it would bias the distribution.
            if b < 248 && out.len() < n {
                out.push(BASE62[usize::from(b % 62)] as char);
            }
        }
    }
    out
}

/// A 256-bit secret rendered as unpadded base64url (confirmation nonces, webhook secrets).
pub fn random_token() -> String {
    let mut buf = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_profile_is_exact() {
        let t = parse_ts("2026-04-21T14:32:17.4829Z").expect("valid");
        assert_eq!(fmt_ts(t), "2026-04-21T14:32:17.482Z");
        let t = parse_ts("2026-04-21T16:00:00+02:00").expect("valid");
        assert_eq!(fmt_ts(t), "2026-04-21T14:00:00.000Z");
        assert!(parse_ts("yesterday").is_none());
        assert_eq!(fmt_ts(now()).len(), 24);
    }

    #[test]
    fn base62_keys_have_the_right_shape() {
        let s = random_base62(32);
        assert_eq!(s.len(), 32);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(sha256_hex(b"").len(), 64);
    }
}
