//! The document agrees with the router, the committed file and the Rust types of the bodies.

use std::collections::BTreeSet;

use allowly_core::model;
use serde_json::{Value, json};

use super::operation::SchemaOf;
use super::*;
use crate::routes::ROUTES;
use crate::wire::*;

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn openapi_document_matches_committed_file() {
    let mut text = serde_json::to_string_pretty(&generate()).expect("serializes");
    text.push('\n');
    if std::env::var_os("ALLOWLY_UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path(), &text).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(committed_path()).expect("server/openapi.json exists");
    assert!(
        committed == text,
        "server/openapi.json is stale: run `ALLOWLY_UPDATE_OPENAPI=1 cargo test -p allowly-server --lib openapi`"
    );
    assert!(DOCUMENT == committed, "the served document is the committed one (rebuild after regenerating)");
}

/// Every routed `(method, path)` is an operation of the document and every operation is routed.
#[test]
fn document_and_router_list_the_same_operations() {
    let doc = generate();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| item.as_object().expect("path item").keys().map(|m| (m.clone(), path.clone())))
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(routed.len(), ROUTES.len(), "a route is declared twice");
    assert_eq!(documented, routed);
}

/// `(method, path, request body, success status, success body)`.
type HandlerTypes = (&'static str, &'static str, Option<SchemaOf>, u16, Option<SchemaOf>);

/// What each handler reads and answers, stated independently of the route table. A route table entry naming another
/// type, or a type whose schema is not the one in the document, fails here; `tests/openapi_bodies.rs` validates the
/// live server's answers against the same schemas.
fn handler_types() -> Vec<HandlerTypes> {
    vec![
        ("get", "/healthz", None, 200, Some(SchemaOf::of::<Health>())),
        ("get", "/readyz", None, 200, Some(SchemaOf::of::<Readiness>())),
        ("get", "/metrics", None, 200, None),
        ("get", "/openapi.json", None, 200, None),
        (
            "post",
            "/v1/authorizations",
            Some(SchemaOf::of::<AuthorizationCreate>()),
            201,
            Some(SchemaOf::of::<crate::routes::edition_grants::AuthorizationCreated>()),
        ),
        ("get", "/v1/authorizations/{id}", None, 200, Some(SchemaOf::of::<AuthorizationBody>())),
        (
            "delete",
            "/v1/authorizations/{id}",
            Some(SchemaOf::of::<model::RevokeRequest>()),
            200,
            Some(SchemaOf::of::<Revocation>()),
        ),
        ("post", "/v1/check", Some(SchemaOf::of::<model::CheckRequest>()), 200, Some(SchemaOf::of::<CheckBody>())),
        (
            "post",
            "/v1/confirmations/{id}",
            Some(SchemaOf::of::<model::ApproveConfirmationRequest>()),
            200,
            Some(SchemaOf::of::<ConfirmationResolution>()),
        ),
        ("get", "/v1/confirmations/{id}", None, 200, Some(SchemaOf::of::<Confirmation>())),
        ("get", "/v1/confirmations/{id}/status", None, 200, Some(SchemaOf::of::<ConfirmationMonitor>())),
        ("post", "/v1/policies", Some(SchemaOf::of::<PolicyCreate>()), 201, Some(SchemaOf::of::<PolicyBody>())),
        ("get", "/v1/policies", None, 200, Some(SchemaOf::of::<PolicyList>())),
        ("get", "/v1/policies/{id}", None, 200, Some(SchemaOf::of::<PolicyBody>())),
        ("delete", "/v1/policies/{id}", None, 204, None),
        (
            "post",
            "/v1/setup/policies/preview",
            Some(SchemaOf::of::<PolicyPreviewRequest>()),
            200,
            Some(SchemaOf::of::<PolicyPreview>()),
        ),
        (
            "post",
            "/v1/setup/policies/publish",
            Some(SchemaOf::of::<PolicyCreate>()),
            201,
            Some(SchemaOf::of::<PolicyPublished>()),
        ),
        (
            "post",
            "/v1/budget-settlements",
            Some(SchemaOf::of::<model::SettlementRequest>()),
            200,
            Some(SchemaOf::of::<Settlement>()),
        ),
        ("get", "/v1/receipts/export", None, 200, None),
        ("get", "/v1/receipts/{id}", None, 200, Some(SchemaOf::of::<ReceiptEnvelope>())),
        ("get", "/v1/workspaces/{id}/keys", None, 200, Some(SchemaOf::of::<KeyDocument>())),
        ("post", "/v1/signing-keys/rotate", None, 200, Some(SchemaOf::of::<KeyRotation>())),
        ("post", "/v1/api-keys", Some(SchemaOf::of::<ApiKeyCreate>()), 201, Some(SchemaOf::of::<ApiKeyRecord>())),
        ("get", "/v1/api-keys", None, 200, Some(SchemaOf::of::<ApiKeyList>())),
        ("delete", "/v1/api-keys/{id}", None, 200, Some(SchemaOf::of::<ApiKeyRevocation>())),
        ("put", "/v1/webhook", Some(SchemaOf::of::<WebhookPut>()), 200, Some(SchemaOf::of::<WebhookCreated>())),
        ("get", "/v1/webhook", None, 200, Some(SchemaOf::of::<WebhookEndpoint>())),
        ("delete", "/v1/webhook", None, 200, Some(SchemaOf::of::<WebhookDeleted>())),
        ("post", "/v1/execute", None, 501, None),
        ("get", "/v1/executions/{id}", None, 501, None),
        ("post", "/v1/executions/{id}/{step}", None, 501, None),
        ("post", "/v1/seal", None, 501, None),
        ("post", "/v1/receipts/{id}/acknowledgments", None, 501, None),
        ("get", "/v1/receipts/{id}/acknowledgments/{ack}", None, 501, None),
        ("post", "/v1/setup/custom-executables", None, 501, None),
        ("get", "/v1/escalations/{id}", None, 200, Some(SchemaOf::of::<EscalationMonitor>())),
        (
            "post",
            "/v1/escalations/{id}/resolve",
            Some(SchemaOf::of::<model::ResolveEscalationRequest>()),
            200,
            Some(SchemaOf::of::<EscalationResolveAnswer>()),
        ),
        (
            "post",
            "/v1/setup/members",
            Some(SchemaOf::of::<model::CreateMemberRequest>()),
            201,
            Some(SchemaOf::of::<MemberCreated>()),
        ),
        ("get", "/v1/setup/members", None, 200, Some(SchemaOf::of::<MemberList>())),
        ("post", "/v1/setup/members/{id}/credential", None, 200, Some(SchemaOf::of::<MemberCreated>())),
        ("delete", "/v1/setup/members/{id}", None, 200, Some(SchemaOf::of::<MemberRevocation>())),
        ("get", "/v1/setup/resolution-webhook", None, 200, Some(SchemaOf::of::<ResolutionWebhookConfig>())),
        (
            "put",
            "/v1/setup/resolution-webhook",
            Some(SchemaOf::of::<ResolutionWebhookPut>()),
            200,
            Some(SchemaOf::of::<ResolutionWebhookSecret>()),
        ),
        ("post", "/v1/setup/resolution-webhook/rotate", None, 200, Some(SchemaOf::of::<ResolutionWebhookSecret>())),
        (
            "get",
            "/v1/setup/resolution-webhook/deliveries",
            None,
            200,
            Some(SchemaOf::of::<ResolutionWebhookDeliveries>()),
        ),
        ("delete", "/v1/setup/resolution-webhook", None, 200, Some(SchemaOf::of::<ResolutionWebhookConfig>())),
        (
            "post",
            "/v1/setup/agents/{id}/keys",
            Some(SchemaOf::of::<AgentKeyRegister>()),
            201,
            Some(SchemaOf::of::<AgentKeyRegistered>()),
        ),
        ("get", "/v1/setup/agents", None, 200, Some(SchemaOf::of::<AgentKeyList>())),
        ("delete", "/v1/setup/agent-keys/{id}", None, 200, Some(SchemaOf::of::<AgentKeyRecord>())),
        ("get", "/v1/setup/agent-identity", None, 200, Some(SchemaOf::of::<AgentIdentitySettings>())),
        (
            "put",
            "/v1/setup/agent-identity",
            Some(SchemaOf::of::<AgentIdentityPut>()),
            200,
            Some(SchemaOf::of::<AgentIdentitySettings>()),
        ),
        ("get", "/v1/audit", None, 200, Some(SchemaOf::of::<AuditPage>())),
    ]
}

/// The component a `$ref` names, after checking the reference points at `ty`'s name.
fn component<'d>(doc: &'d Value, schema_ref: &Value, ty: &SchemaOf, what: &str) -> &'d Value {
    let name = (ty.name)();
    assert_eq!(schema_ref, &reference(&name), "{what}: the document names another type than {name}");
    &doc["components"]["schemas"][name.as_ref()]
}

/// Drops what the generator adds to request schemas (`additionalProperties: false`), recursively.
fn without_closing(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, v)| !(k.as_str() == "additionalProperties" && **v == Value::Bool(false)))
                .map(|(k, v)| (k.clone(), without_closing(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_closing).collect()),
        other => other.clone(),
    }
}

#[test]
fn every_body_schema_is_derived_from_the_handlers_type() {
    let doc = generate();
    let table = handler_types();
    assert_eq!(table.len(), ROUTES.len(), "the table above lists every route once");
    for (method, path, request, status, success) in table {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let what = format!("{method} {path}");
        match request {
            Some(ty) => {
                let schema_ref = &op["requestBody"]["content"]["application/json"]["schema"];
                let documented = component(&doc, schema_ref, &ty, &format!("{what} request"));
                let derived = serde_json::to_value((ty.schema)()).expect("schema");
                assert_eq!(without_closing(documented), derived, "{what}: request schema is not the type's");
                // A request of several shapes (`oneOf`) is closed in each of them.
                let shapes: Vec<&Value> = match documented["oneOf"].as_array() {
                    Some(variants) => variants
                        .iter()
                        .map(|v| {
                            let name = v["$ref"].as_str().and_then(|r| r.rsplit('/').next()).expect("a $ref variant");
                            &doc["components"]["schemas"][name]
                        })
                        .collect(),
                    None => vec![documented],
                };
                for shape in shapes {
                    assert_eq!(shape["additionalProperties"], json!(false), "{what}: request schema is closed");
                }
            }
            None => assert!(op.get("requestBody").is_none(), "{what} documents a body it does not read"),
        }
        let ok = &op["responses"][status.to_string()];
        assert!(ok.is_object(), "{what}: no {status} response");
        if status == 501 {
            let successes = op["responses"].as_object().expect("responses").keys().filter(|s| s.starts_with('2'));
            assert_eq!(successes.count(), 0, "{what}: an unsupported route documents no success");
            continue;
        }
        let successes = op["responses"].as_object().expect("responses").keys().filter(|s| s.starts_with('2')).count();
        assert_eq!(successes, 1, "{what}: one success status");
        match success {
            Some(ty) => {
                let schema_ref = &ok["content"]["application/json"]["schema"];
                let documented = component(&doc, schema_ref, &ty, &format!("{what} response"));
                let derived = serde_json::to_value((ty.schema)()).expect("schema");
                assert_eq!(documented, &derived, "{what}: success schema is not the type's");
            }
            None if status == 204 => assert!(ok.get("content").is_none(), "{what}: a 204 has no body"),
            None => {
                let content = ok["content"].as_object().expect("content");
                assert!(!content.contains_key("application/json") || path == "/openapi.json", "{what}: not JSON");
            }
        }
    }
}

/// The bad-input sweep (tests/reliability) generates "valid" inputs from this document; without these constraints
/// the server rejected most of those inputs and the sweep never reached accepted requests.
#[test]
fn request_schemas_state_what_the_server_rejects() {
    let doc = generate();
    let schemas = &doc["components"]["schemas"];
    let create = &schemas["CreateAuthorizationRequest"];
    assert_eq!(create["additionalProperties"], json!(false));
    assert_eq!(create["properties"]["scopes"]["minItems"], json!(1));
    assert_eq!(create["properties"]["user_id"]["minLength"], json!(1));
    let required: Vec<&str> =
        create["required"].as_array().expect("required").iter().filter_map(Value::as_str).collect();
    assert_eq!(required, ["user_id", "agent_id", "scopes"]);
    let check = &schemas["CheckRequest"];
    assert_eq!(check["properties"]["scopes"]["uniqueItems"], json!(true));
    assert_eq!(check["properties"]["scopes"]["maxItems"], json!(32));
    assert!(check["properties"].get("wait").is_none(), "`wait` is a query parameter, not a body member");
    assert_eq!(schemas["RevokeRequest"]["properties"]["revoked_by"]["minLength"], json!(1));
    assert_eq!(schemas["ScopeConstraints"]["additionalProperties"], json!(false));
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
