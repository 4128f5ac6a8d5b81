//! The OpenAPI 3.1 document of every route, served at `/openapi.json` and committed as `server/openapi.json`.
//!
//! The route table (`crate::routes`) declares each route's operation next to its handler ([`operation::Op`]: id,
//! summary, tag, key tier, statuses, and the Rust types of its request and success bodies). Every schema in
//! `components/schemas` is derived from those types (`utoipa::ToSchema` on `crate::wire` and on allowly-core's request
//! models, the core feature `openapi`), so the document describes what the handlers actually read and answer. A test
//! regenerates the document and compares it with the committed file (`ALLOWLY_UPDATE_OPENAPI=1 cargo test -p
//! allowly-server --lib openapi` rewrites the file), so the served document, the committed one, the router and the
//! types cannot drift apart.

pub mod operation;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::error::Envelope;
use crate::routes::operations;
use operation::{Auth, Components, Op, Query, SchemaOf, Success};

/// The committed document, served as is.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error_response(status: u16) -> Value {
    let description = match status {
        400 => "Malformed JSON",
        401 => {
            "Missing or invalid API key (`invalid_api_key`), or a refused agent token (`agent_token_unverifiable`, \
             `agent_token_malformed`, `agent_token_wrong_audience`, `agent_token_invalid_signature`, \
             `agent_token_expired`, `agent_token_agent_mismatch`, `agent_token_required`)"
        }
        403 => "Runtime key on a setup route (`insufficient_key_tier`)",
        404 => "Not found (`*_not_found`)",
        405 => "Method not allowed",
        409 => "Conflict (`idempotency_conflict`, `already_settled`, …)",
        410 => "Expired (`confirmation_expired`)",
        413 => "Body over 64 KiB",
        422 => "Validation error with `fields`",
        429 => "Over the API key's or the authorization's request rate (`rate_limited`, with `Retry-After`)",
        501 => "Not supported by this server yet (`not_supported`)",
        503 => "Unavailable",
        _ => "Error",
    };
    json!({"description": description, "content": {"application/json": {"schema": reference(&Envelope::name())}}})
}

fn query_schema(q: Query) -> Value {
    match q {
        Query::String => json!({"type": "string"}),
        Query::DateTime => json!({"type": "string", "format": "date-time"}),
        Query::Count => json!({"type": "integer", "minimum": 0}),
        Query::Range(min, max) => json!({"type": "integer", "minimum": min, "maximum": max}),
        Query::Boolean => json!({"type": "boolean"}),
    }
}

fn operation(method: &str, path: &str, op: &Op) -> Value {
    let mut o = Map::new();
    o.insert("operationId".into(), json!(op.id));
    o.insert("summary".into(), json!(op.summary));
    o.insert("tags".into(), json!([op.tag]));
    let mut params = Vec::new();
    for name in path.split('/').filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}')) {
        params.push(
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "maxLength": 256}}),
        );
    }
    for (name, q) in op.query {
        params.push(json!({"name": name, "in": "query", "required": false, "schema": query_schema(*q)}));
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
    if let Some((body, required)) = &op.body {
        o.insert(
            "requestBody".into(),
            json!({"required": required, "content": {"application/json": {"schema": reference(&(body.name)())}}}),
        );
    }
    let mut responses = Map::new();
    let content = match op.success {
        Success::Json(body) => Some(json!({"application/json": {"schema": reference(&(body.name)())}})),
        Success::Other { media_type, json_type } => Some(json!({media_type: {"schema": {"type": json_type}}})),
        Success::None | Success::NoContent => None,
    };
    if let Some(content) = content {
        responses.insert(op.status.to_string(), json!({"description": op.summary, "content": content}));
    } else if matches!(op.success, Success::NoContent) {
        responses.insert(op.status.to_string(), json!({"description": op.summary}));
    }
    let mut errors: Vec<u16> = op.errors.to_vec();
    if op.body.is_some() {
        errors.extend([400, 413]);
    }
    match op.auth {
        Auth::Public => {}
        // Every authenticated request passes the API key's rate limit.
        Auth::Runtime | Auth::RuntimeOrMember => errors.extend([401, 429]),
        Auth::Setup | Auth::Member => errors.extend([401, 403, 429]),
    }
    errors.sort_unstable();
    errors.dedup();
    for e in errors {
        responses.insert(e.to_string(), error_response(e));
    }
    o.insert("responses".into(), Value::Object(responses));
    match op.auth {
        Auth::Public => {
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
        Auth::RuntimeOrMember => {
            o.insert("security".into(), json!([{"apiKey": []}]));
            o.insert("x-allowly-key-tier".into(), json!("runtime, setup or member"));
        }
        Auth::Member => {
            o.insert("security".into(), json!([{"apiKey": []}]));
            o.insert("x-allowly-key-tier".into(), json!("member"));
        }
    }
    Value::Object(o)
}

/// `components/schemas`: the schema of every body type the operations name, and of every type those reference.
/// Panics if two different schemas claim one name (two types with the same name; the drift test catches it).
fn schemas(ops: &[(&str, &str, Op)]) -> Map<String, Value> {
    let mut collected: Components = Vec::new();
    SchemaOf::of::<Envelope>().collect(&mut collected);
    for (_, _, op) in ops {
        if let Some((body, _)) = &op.body {
            body.collect(&mut collected);
        }
        if let Success::Json(body) = &op.success {
            body.collect(&mut collected);
        }
    }
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for (name, schema) in collected {
        let schema = serde_json::to_value(schema).expect("a schema serializes");
        if let Some(seen) = out.get(&name) {
            assert!(*seen == schema, "two different schemas are named {name}: rename one of the types");
            continue;
        }
        out.insert(name, schema);
    }
    let mut out: Map<String, Value> = out.into_iter().collect();
    for (_, _, op) in ops {
        if let Some((body, _)) = &op.body {
            close_request_objects(&(body.name)(), &mut out);
        }
    }
    out
}

/// Request objects are closed (`additionalProperties: false`) because the server rejects a request member it does
/// not know with a 422 naming it (`parse::Fields`), whatever the type's serde attributes would accept. Applied to
/// the request body's schema and every object schema it reaches, inline or through `$ref`.
fn close_request_objects(name: &str, schemas: &mut Map<String, Value>) {
    fn close(v: &mut Value, refs: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    refs.extend(r.strip_prefix("#/components/schemas/").map(str::to_string));
                }
                if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                    m.insert("additionalProperties".into(), Value::Bool(false));
                }
                m.values_mut().for_each(|v| close(v, refs));
            }
            Value::Array(a) => a.iter_mut().for_each(|v| close(v, refs)),
            _ => {}
        }
    }
    let mut pending = vec![name.to_string()];
    let mut done = Vec::new();
    while let Some(name) = pending.pop() {
        if done.contains(&name) {
            continue;
        }
        if let Some(schema) = schemas.get_mut(&name) {
            close(schema, &mut pending);
        }
        done.push(name);
    }
}

/// Builds the document from the route table's operations.
pub fn generate() -> Value {
    let ops = operations();
    let mut paths = Map::new();
    for (method, path, op) in &ops {
        let item = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        item[*method] = operation(method, path, op);
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
                                    for every route; member credentials (`allowly_mk_…`) only for reading and \
                                    resolving the escalations addressed to their member."
                }
            },
            "schemas": schemas(&ops)
        },
        "paths": paths
    })
}
