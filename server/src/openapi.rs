//! The OpenAPI 3.1 document of every route, served at `/openapi.json` and committed as `server/openapi.json`.
//!
//! The document is generated from the router's own route table ([`crate::routes::ROUTES`]) plus the per-route
//! descriptions below; a route without a description fails generation. A test regenerates it and compares it with
//! the committed file (`ALLOWLY_UPDATE_OPENAPI=1 cargo test -p allowly-server openapi` rewrites the file), so the
//! served document, the committed one and the router cannot drift apart.

use serde_json::{Map, Value, json};

use crate::routes::ROUTES;

/// The committed document, served as is.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// Key tiers (both are bearer tokens; the tier is part of the key text).
#[derive(Clone, Copy)]
enum Auth {
    None,
    Runtime,
    Setup,
}

struct Op {
    id: &'static str,
    summary: &'static str,
    tag: &'static str,
    auth: Auth,
    /// `(schema name, required)` of a JSON body.
    body: Option<(&'static str, bool)>,
    /// Query parameters: `(name, schema)`.
    query: &'static [(&'static str, &'static str)],
    /// Success `(status, schema name or content type marker)`.
    ok: (u16, &'static str),
    /// Error statuses beyond the ones every authenticated route has.
    errors: &'static [u16],
    idempotent: bool,
}

fn describe(method: &str, path: &str) -> Option<Op> {
    use Auth::*;
    let op = |id, summary, tag, auth, body, query, ok, errors, idempotent| Op {
        id,
        summary,
        tag,
        auth,
        body,
        query,
        ok,
        errors,
        idempotent,
    };
    Some(match (method, path) {
        ("get", "/healthz") => {
            op("healthz", "Process is up", "health", None, Option::None, &[], (200, "Health"), &[], false)
        }
        ("get", "/readyz") => op(
            "readyz",
            "Database reachable and signer running",
            "health",
            None,
            Option::None,
            &[],
            (200, "Ready"),
            &[503],
            false,
        ),
        ("get", "/metrics") => {
            op("metrics", "Prometheus metrics", "health", None, Option::None, &[], (200, "text/plain"), &[], false)
        }
        ("get", "/openapi.json") => {
            op("openapi", "This document", "health", None, Option::None, &[], (200, "application/json"), &[], false)
        }
        ("post", "/v1/authorizations") => op(
            "createAuthorization",
            "Create an authorization (optionally replacing another)",
            "runtime",
            Runtime,
            Some(("AuthorizationCreate", true)),
            &[],
            (201, "Authorization"),
            &[404, 409, 422],
            true,
        ),
        ("get", "/v1/authorizations/{id}") => op(
            "getAuthorization",
            "Read an authorization",
            "runtime",
            Runtime,
            Option::None,
            &[],
            (200, "Authorization"),
            &[404],
            false,
        ),
        ("delete", "/v1/authorizations/{id}") => op(
            "revokeAuthorization",
            "Revoke an authorization (idempotent)",
            "runtime",
            Runtime,
            Some(("Revoke", false)),
            &[],
            (200, "Revocation"),
            &[404, 422],
            true,
        ),
        ("post", "/v1/check") => op(
            "check",
            "Decide allow / confirm / deny for each scope",
            "runtime",
            Runtime,
            Some(("CheckRequest", true)),
            &[("wait", "boolean")],
            (200, "CheckResponse"),
            &[422],
            true,
        ),
        ("post", "/v1/confirmations/{id}") => op(
            "resolveConfirmation",
            "Approve or reject with a single-use confirm nonce (the path parameter)",
            "runtime",
            Runtime,
            Some(("ConfirmationResolve", true)),
            &[],
            (200, "ConfirmationResolution"),
            &[404, 410, 422],
            true,
        ),
        ("get", "/v1/confirmations/{id}") => op(
            "getConfirmation",
            "Read a confirmation by id",
            "runtime",
            Runtime,
            Option::None,
            &[],
            (200, "Confirmation"),
            &[404],
            false,
        ),
        ("post", "/v1/budget-settlements") => op(
            "settleBudget",
            "Settle the actual cost of an allowed budgeted check",
            "runtime",
            Runtime,
            Some(("BudgetSettlement", true)),
            &[],
            (200, "BudgetSettlementResult"),
            &[404, 409, 422],
            true,
        ),
        ("get", "/v1/receipts/export") => op(
            "exportReceipts",
            "Signed receipts as JSON Lines, oldest first",
            "setup",
            Setup,
            Option::None,
            &[("since", "date-time"), ("until", "date-time")],
            (200, "application/x-ndjson"),
            &[422],
            false,
        ),
        ("get", "/v1/receipts/{id}") => op(
            "getReceipt",
            "A receipt envelope, optionally long-polling until signed",
            "runtime",
            Runtime,
            Option::None,
            &[("wait_ms", "integer")],
            (200, "ReceiptEnvelope"),
            &[404, 422],
            false,
        ),
        ("get", "/v1/workspaces/{id}/keys") => op(
            "getKeyDocument",
            "The workspace's public key document",
            "public",
            None,
            Option::None,
            &[],
            (200, "KeyDocument"),
            &[404],
            false,
        ),
        ("post", "/v1/signing-keys/rotate") => op(
            "rotateSigningKey",
            "Rotate the receipt signing key",
            "setup",
            Setup,
            Option::None,
            &[],
            (200, "RotatedKey"),
            &[],
            true,
        ),
        ("post", "/v1/api-keys") => op(
            "createApiKey",
            "Create an API key (its text is shown once)",
            "setup",
            Setup,
            Some(("ApiKeyCreate", true)),
            &[],
            (201, "ApiKey"),
            &[422],
            true,
        ),
        ("get", "/v1/api-keys") => op(
            "listApiKeys",
            "List API keys (prefixes only)",
            "setup",
            Setup,
            Option::None,
            &[],
            (200, "ApiKeyList"),
            &[],
            false,
        ),
        ("delete", "/v1/api-keys/{id}") => op(
            "revokeApiKey",
            "Revoke an API key",
            "setup",
            Setup,
            Option::None,
            &[],
            (200, "ApiKeyRevocation"),
            &[404, 409],
            true,
        ),
        ("put", "/v1/webhook") => op(
            "putWebhook",
            "Set the webhook endpoint (returns a new signing secret once)",
            "setup",
            Setup,
            Some(("WebhookPut", true)),
            &[],
            (200, "WebhookCreated"),
            &[422],
            false,
        ),
        ("get", "/v1/webhook") => op(
            "getWebhook",
            "Read the webhook endpoint",
            "setup",
            Setup,
            Option::None,
            &[],
            (200, "Webhook"),
            &[404],
            false,
        ),
        ("delete", "/v1/webhook") => op(
            "deleteWebhook",
            "Remove the webhook endpoint",
            "setup",
            Setup,
            Option::None,
            &[],
            (200, "Deleted"),
            &[404],
            false,
        ),
        ("get", "/v1/audit") => op(
            "audit",
            "Signed receipts matching filters, newest first",
            "setup",
            Setup,
            Option::None,
            &[
                ("user_id", "string"),
                ("agent_id", "string"),
                ("authorization_id", "string"),
                ("run_id", "string"),
                ("decision", "string"),
                ("since", "date-time"),
                ("until", "date-time"),
                ("limit", "audit-limit"),
                ("cursor", "string"),
            ],
            (200, "AuditPage"),
            &[422],
            false,
        ),
        _ => return Option::None,
    })
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error_response(status: u16) -> Value {
    let description = match status {
        400 => "Malformed JSON",
        401 => {
            "Missing or invalid API key (`invalid_api_key`), or an unverifiable agent token (`agent_token_unverifiable`)"
        }
        403 => "Runtime key on a setup route (`insufficient_key_tier`)",
        404 => "Not found (`*_not_found`)",
        405 => "Method not allowed",
        409 => "Conflict (`idempotency_conflict`, `already_settled`, …)",
        410 => "Expired (`confirmation_expired`)",
        413 => "Body over 64 KiB",
        422 => "Validation error with `fields`",
        503 => "Unavailable",
        _ => "Error",
    };
    json!({"description": description, "content": {"application/json": {"schema": reference("Error")}}})
}

fn operation(method: &str, path: &str, op: &Op) -> Value {
    let mut o = Map::new();
    o.insert("operationId".into(), json!(op.id));
    o.insert("summary".into(), json!(op.summary));
    o.insert("tags".into(), json!([op.tag]));
    let mut params = Vec::new();
    if path.contains("{id}") {
        params.push(
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "maxLength": 256}}),
        );
    }
    for (name, ty) in op.query {
        let schema = match *ty {
            "date-time" => json!({"type": "string", "format": "date-time"}),
            "integer" => json!({"type": "integer", "minimum": 0}),
            "audit-limit" => json!({"type": "integer", "minimum": 1, "maximum": 1000}),
            "boolean" => json!({"type": "boolean"}),
            _ => json!({"type": "string"}),
        };
        params.push(json!({"name": name, "in": "query", "required": false, "schema": schema}));
    }
    if op.idempotent && matches!(method, "post" | "delete") {
        params.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Replays return the first response; the same key with another body is 409.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}
        }));
    }
    if !params.is_empty() {
        o.insert("parameters".into(), Value::Array(params));
    }
    if let Some((schema, required)) = op.body {
        o.insert(
            "requestBody".into(),
            json!({"required": required, "content": {"application/json": {"schema": reference(schema)}}}),
        );
    }
    let mut responses = Map::new();
    let (status, what) = op.ok;
    let content = match what {
        "text/plain" => json!({"text/plain": {"schema": {"type": "string"}}}),
        "application/json" => json!({"application/json": {"schema": {"type": "object"}}}),
        "application/x-ndjson" => json!({"application/x-ndjson": {"schema": {"type": "string"}}}),
        name => json!({"application/json": {"schema": reference(name)}}),
    };
    responses.insert(status.to_string(), json!({"description": op.summary, "content": content}));
    let mut errors: Vec<u16> = op.errors.to_vec();
    if op.body.is_some() {
        errors.extend([400, 413]);
    }
    match op.auth {
        Auth::None => {}
        Auth::Runtime => errors.push(401),
        Auth::Setup => errors.extend([401, 403]),
    }
    errors.sort_unstable();
    errors.dedup();
    for e in errors {
        responses.insert(e.to_string(), error_response(e));
    }
    o.insert("responses".into(), Value::Object(responses));
    match op.auth {
        Auth::None => {
            o.insert("security".into(), json!([]));
        }
        Auth::Runtime => {
            o.insert("security".into(), json!([{"apiKey": []}]));
            o.insert("x-allowly-key-tier".into(), json!("runtime or setup"));
        }
        Auth::Setup => {
            o.insert("security".into(), json!([{"apiKey": []}]));
            o.insert("x-allowly-key-tier".into(), json!("setup"));
        }
    }
    Value::Object(o)
}

/// Builds the document. Panics naming the route if a route has no description (the drift test catches it).
pub fn generate() -> Value {
    let mut paths = Map::new();
    for (method, path) in ROUTES {
        let op = describe(method, path).unwrap_or_else(|| panic!("no OpenAPI description for {method} {path}"));
        let item = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        item[*method] = operation(method, path, &op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Allowly server API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "wire-v1: authorizations, checks, confirmations, budget settlements and Ed25519-signed \
                            receipts (Allowly Receipt Format wire 4), plus setup routes.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "servers": [{"url": "http://127.0.0.1:8787"}],
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http", "scheme": "bearer",
                    "description": "Runtime keys (`allowly_rt_…`) for runtime routes; setup keys (`allowly_setup_…`) \
                                    for every route."
                }
            },
            "schemas": crate::openapi_schemas::schemas()
        },
        "paths": paths
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
    }

    #[test]
    fn openapi_document_matches_router_and_committed_file() {
        let mut text = serde_json::to_string_pretty(&generate()).expect("serializes");
        text.push('\n');
        if std::env::var_os("ALLOWLY_UPDATE_OPENAPI").is_some() {
            std::fs::write(committed_path(), &text).expect("write openapi.json");
        }
        let committed = std::fs::read_to_string(committed_path()).expect("server/openapi.json exists");
        assert!(
            committed == text,
            "server/openapi.json is stale: run `ALLOWLY_UPDATE_OPENAPI=1 cargo test -p allowly-server openapi`"
        );
        assert!(DOCUMENT == committed, "the served document is the committed one (rebuild after regenerating)");
    }

    /// The bad-input sweep (tests/reliability) generates "valid" inputs from this document; each constraint below was
    /// missing, so the server rejected most of those inputs and the sweep never reached accepted requests.
    #[test]
    fn request_schemas_state_what_the_server_rejects() {
        let doc = generate();
        let schemas = &doc["components"]["schemas"];
        let one_of = json!([{"required": ["scopes"]}, {"required": ["actions"]}]);
        assert_eq!(schemas["AuthorizationCreate"]["oneOf"], one_of);
        assert_eq!(schemas["CheckRequest"]["oneOf"], one_of);
        assert_eq!(schemas["CheckRequest"]["properties"]["scopes"]["uniqueItems"], json!(true));
        assert_eq!(schemas["Revoke"]["properties"]["revoked_by"]["minLength"], json!(1));
        let audit = doc["paths"]["/v1/audit"]["get"]["parameters"].as_array().expect("audit parameters");
        let limit = audit.iter().find(|p| p["name"] == "limit").expect("limit");
        assert_eq!((limit["schema"]["minimum"].clone(), limit["schema"]["maximum"].clone()), (json!(1), json!(1000)));
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = generate();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let mut refs = Vec::new();
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|v| walk(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        walk(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r.strip_prefix("#/components/schemas/").expect("local ref");
            assert!(schemas.contains_key(name), "unresolved {r}");
        }
    }
}
