//! The admin client: the setup-key routes of wire-v1 (API keys, members, the webhook endpoint, signing-key rotation, audit
//! queries and the receipt export). Policy editions, also a setup key's calls, live in `client/policies.rs`.
//!
//! These are methods of the same [`Client`](super::Client): a client built with a setup key calls them; with a
//! runtime key the server answers 403 `insufficient_key_tier`, which arrives as `Error::PermissionDenied`. Nothing is
//! checked locally about the key's tier, so the server stays the one authority on what a key may do.

mod api_keys;
mod audit;
mod members;
mod signing_keys;
mod webhook;

pub use audit::AuditPages;
