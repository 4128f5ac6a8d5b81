//! The served OpenAPI document describes what the running server answers: every operation with a JSON success body
//! is driven to a 2xx, and each body is validated against the schema the document names for that operation and
//! status (the schemas are derived from the handlers' types; this proves the route table names the right types).
//! Error answers met on the way are validated against the documented error schema.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::{TestDb, TestServer};
use serde_json::{Value, json};

backend_tests!(every_success_body_matches_its_documented_schema);

/// A small JSON Schema (2020-12 subset) validator: the keywords the generated document uses. Returns the first
/// violation as `path: problem`.
fn validate(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let Some(s) = schema.as_object() else { return Ok(()) };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/components/schemas/").ok_or_else(|| format!("{at}: non-local $ref {r}"))?;
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            return Err(format!("{at}: unresolved {r}"));
        }
        validate(doc, target, v, at)?;
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !types.iter().any(|t| *t == actual || (*t == "number" && actual == "integer")) {
            return Err(format!("{at}: {actual} where the schema says {t}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            return Err(format!("{at}: {v} is not one of {}", Value::Array(e.clone())));
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            return Err(format!("{at}: {v} is not {c}"));
        }
    }
    if let Some(alts) = s.get("oneOf").and_then(Value::as_array) {
        let matching = alts.iter().filter(|alt| validate(doc, alt, v, at).is_ok()).count();
        if matching != 1 {
            return Err(format!("{at}: {matching} alternatives of oneOf match {v}"));
        }
    }
    if let Value::Object(members) = v {
        let props = s.get("properties").and_then(Value::as_object);
        for name in s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !members.contains_key(name) {
                return Err(format!("{at}: required member {name} missing"));
            }
        }
        for (name, member) in members {
            let path = format!("{at}.{name}");
            match props.and_then(|p| p.get(name)) {
                Some(p) => validate(doc, p, member, &path)?,
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => return Err(format!("{path}: not a documented member")),
                    Some(extra) => validate(doc, extra, member, &path)?,
                    // A struct's schema lists every member it serializes: an undocumented one is a drift.
                    None if props.is_some() => return Err(format!("{path}: not a documented member")),
                    None => {}
                },
            }
        }
    }
    if let Value::Array(items) = v {
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
            if items.len() as u64 > max {
                return Err(format!("{at}: more than {max} items"));
            }
        }
        if let Some(item) = s.get("items") {
            for (i, x) in items.iter().enumerate() {
                validate(doc, item, x, &format!("{at}[{i}]"))?;
            }
        }
    }
    Ok(())
}

struct Checker<'a> {
    s: &'a TestServer,
    doc: Value,
    validated: BTreeSet<(String, String)>,
    /// An `Idempotency-Key` for the next call only.
    idem: Option<String>,
}

impl Checker<'_> {
    /// Sends a request to `template` (with `{id}` replaced by `id`) and validates the answer against the schema the
    /// document gives for its status. Returns the status and body.
    async fn call(
        &mut self,
        method: &str,
        template: &str,
        id: &str,
        query: &str,
        key: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let path = format!("{}{query}", template.replace("{id}", id));
        let idem = self.idem.take();
        let (st, v) = self.s.send(&method.to_uppercase(), &path, Some(key), body, idem.as_deref()).await;
        let op = &self.doc["paths"][template][method];
        assert!(op.is_object(), "{method} {template} is not documented");
        let response = &op["responses"][st.to_string()];
        assert!(response.is_object(), "{method} {template} answered {st}, which is not documented: {v}");
        let schema = &response["content"]["application/json"]["schema"];
        if let Err(e) = validate(&self.doc, schema, &v, "body") {
            panic!("{method} {template} ({st}) does not match its documented schema: {e}\n{v}");
        }
        if (200..300).contains(&st) {
            self.validated.insert((method.to_string(), template.to_string()));
        }
        (st, v)
    }
}

async fn every_success_body_matches_its_documented_schema(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (st, doc) = s.send("GET", "/openapi.json", None, None, None).await;
    assert_eq!(st, 200);
    let (rt, setup, ws) = (s.rt.clone(), s.setup.clone(), s.ws.clone());
    let mut c = Checker { s: &s, doc, validated: BTreeSet::new(), idem: None };

    c.call("get", "/healthz", "", "", &rt, None).await;
    c.call("get", "/readyz", "", "", &rt, None).await;

    // Authorizations: plain, confirm, a condition, a budget; one created under the old name `actions`.
    let grants = json!(["read", "mail", {"name": "send", "constraints": {"deny_when": [{"field": "amount", "op": "gt", "value": 100}]}}]);
    let body = json!({"user_id": "u", "agent_id": "a", "scopes": grants, "requires_confirm_for": ["mail"], "metadata": {"k": 1}});
    let (st, a) = c.call("post", "/v1/authorizations", "", "", &rt, Some(body)).await;
    assert_eq!(st, 201, "{a}");
    let auth = a["authorization_id"].as_str().expect("id").to_string();
    let body = json!({"user_id": "u", "agent_id": "a", "actions": ["pay"], "budget_limit_micros": 100});
    let (st, b) = c.call("post", "/v1/authorizations", "", "", &rt, Some(body)).await;
    assert_eq!(st, 201, "{b}");
    let budgeted = b["authorization_id"].as_str().expect("id").to_string();
    c.call("get", "/v1/authorizations/{id}", &auth, "", &rt, None).await;
    c.call("get", "/v1/authorizations/{id}", &budgeted, "", &rt, None).await;
    let (st, _) = c.call("get", "/v1/authorizations/{id}", "auth_unknown", "", &rt, None).await;
    assert_eq!(st, 404);

    // Checks: allow, confirm, a matched condition, a budget, and signed receipts with `wait`.
    let body = json!({"authorization_id": auth, "scopes": ["read", "mail"]});
    let (_, v) = c.call("post", "/v1/check", "", "", &rt, Some(body)).await;
    let nonce = v["results"]["mail"]["confirm_nonce"].as_str().expect("nonce").to_string();
    let confirmation = v["results"]["mail"]["confirmation_id"].as_str().expect("confirmation id").to_string();
    let body = json!({"authorization_id": auth, "scopes": ["send"], "context": {"amount": 500}});
    let (_, v) = c.call("post", "/v1/check", "", "?wait=true", &rt, Some(body)).await;
    assert_eq!(v["results"]["send"]["decision"], "deny", "{v}");
    assert_eq!(v["results"]["send"]["receipt"]["status"], "signed", "{v}");
    let body = json!({"authorization_id": budgeted, "actions": ["pay"], "estimated_cost_micros": 10});
    let (_, v) = c.call("post", "/v1/check", "", "", &rt, Some(body)).await;
    assert_eq!(v["results"]["pay"]["decision"], "allow", "{v}");
    let check_receipt = v["results"]["pay"]["receipt"]["receipt_id"].as_str().expect("receipt id").to_string();
    let (st, _) = c.call("post", "/v1/check", "", "", &rt, Some(json!({"authorization_id": auth}))).await;
    assert_eq!(st, 422);

    // Confirmations, before and after the answer.
    c.call("get", "/v1/confirmations/{id}", &confirmation, "", &rt, None).await;
    c.call("get", "/v1/confirmations/{id}/status", &confirmation, "", &rt, None).await;
    let (st, v) = c.call("post", "/v1/confirmations/{id}", &nonce, "", &rt, Some(json!({"approved": true}))).await;
    assert_eq!(st, 200, "{v}");
    c.call("get", "/v1/confirmations/{id}", &confirmation, "", &rt, None).await;

    // Settlement, then its receipt pending and signed.
    let body = json!({"check_receipt_id": check_receipt, "actual_cost_micros": 5});
    let (st, v) = c.call("post", "/v1/budget-settlements", "", "", &rt, Some(body)).await;
    assert_eq!(st, 200, "{v}");
    c.call("get", "/v1/receipts/{id}", &check_receipt, "", &rt, None).await;
    let (_, v) = c.call("get", "/v1/receipts/{id}", &check_receipt, "?wait_ms=5000", &rt, None).await;
    assert_eq!(v["status"], "signed", "{v}");

    // Keys and the setup routes.
    c.call("get", "/v1/workspaces/{id}/keys", &ws, "", &rt, None).await;
    let (st, v) = c.call("post", "/v1/signing-keys/rotate", "", "", &setup, None).await;
    assert_eq!(st, 200, "{v}");
    let (_, v) = c.call("get", "/v1/workspaces/{id}/keys", &ws, "", &rt, None).await;
    assert!(v["keys"].as_array().is_some_and(|k| k.iter().any(|k| k["active_until"].is_string())), "{v}");
    let (st, _) = c.call("get", "/v1/api-keys", "", "", &rt, None).await;
    assert_eq!(st, 403);
    let body = json!({"tier": "runtime", "name": "schema check"});
    let (st, key) = c.call("post", "/v1/api-keys", "", "", &setup, Some(body)).await;
    assert_eq!(st, 201, "{key}");
    c.call("get", "/v1/api-keys", "", "", &setup, None).await;
    c.call("delete", "/v1/api-keys/{id}", key["id"].as_str().expect("id"), "", &setup, None).await;
    let (st, _) = c.call("get", "/v1/webhook", "", "", &setup, None).await;
    assert_eq!(st, 404);
    c.call("put", "/v1/webhook", "", "", &setup, Some(json!({"url": "http://127.0.0.1:9/hook"}))).await;
    c.call("get", "/v1/webhook", "", "", &setup, None).await;
    c.call("delete", "/v1/webhook", "", "", &setup, None).await;
    let hook = "/v1/setup/resolution-webhook";
    c.call("get", hook, "", "", &setup, None).await;
    let (st, v) = c.call("put", hook, "", "", &setup, Some(json!({"url": "http://127.0.0.1:9/hook"}))).await;
    assert_eq!(st, 200, "{v}");
    c.call("post", "/v1/setup/resolution-webhook/rotate", "", "", &setup, None).await;
    c.call("get", "/v1/setup/resolution-webhook/deliveries", "", "", &setup, None).await;
    c.call("delete", hook, "", "", &setup, None).await;
    let (_, v) = c.call("get", "/v1/audit", "", "?limit=2", &setup, None).await;
    assert!(v["next_cursor"].is_string(), "{v}");

    // Agent identity: register a public key, list, revoke, and the workspace setting.
    let jwk = allowly_core::agent_identity::AgentCredential::generate().public_key_jwk();
    let body = json!({"public_key_jwk": {"kty": jwk.kty, "crv": jwk.crv, "x": jwk.x}});
    let (st, reg) = c.call("post", "/v1/setup/agents/{id}/keys", "schema-agent", "", &setup, Some(body)).await;
    assert_eq!(st, 201, "{reg}");
    c.call("get", "/v1/setup/agents", "", "", &setup, None).await;
    c.call("delete", "/v1/setup/agent-keys/{id}", reg["key_id"].as_str().expect("key_id"), "", &setup, None).await;
    c.call("put", "/v1/setup/agent-identity", "", "", &setup, Some(json!({"require_agent_tokens": false}))).await;
    c.call("get", "/v1/setup/agent-identity", "", "", &setup, None).await;

    // Policy editions, and an authorization granted from one (its own create body).
    let definition = json!({
        "profile": "allowly.policy.v1", "agent_id": "ag", "default_expiry_days": null,
        "actions": [{"policy": {"profile": "allowly.basic.v1", "action": "doc.read", "decision": "allow",
                                "target": null, "fields": {"n": "integer"},
                                "rules": [{"id": "big", "decision": "escalate", "target": "member:boss",
                                           "conditions": [{"field": "n", "op": "gt", "value": 9}]}]},
                     "guards": {}, "executable_operations": []}],
    });
    let mut create = definition.clone();
    create["policy_id"] = json!("docs");
    let (st, p) = c.call("post", "/v1/policies", "", "", &setup, Some(create.clone())).await;
    assert_eq!(st, 201, "{p}");
    c.call("get", "/v1/policies", "", "?limit=5", &rt, None).await;
    c.call("get", "/v1/policies/{id}", "docs", "", &rt, None).await;
    let preview = json!({"definition": definition, "action": "doc.read", "context": {"n": 10}});
    c.call("post", "/v1/setup/policies/preview", "", "", &rt, Some(preview)).await;
    create["previous_policy_ref"] = p["policy_ref"].clone();
    c.idem = Some("publish-1".into());
    let (st, v) = c.call("post", "/v1/setup/policies/publish", "", "", &setup, Some(create)).await;
    assert_eq!(st, 201, "{v}");
    let grant = json!({"user_id": "u", "policy_id": "docs", "policy_version": 2});
    let (st, g) = c.call("post", "/v1/authorizations", "", "", &rt, Some(grant)).await;
    assert_eq!(st, 201, "{g}");
    let body = json!({"authorization_id": g["authorization_id"], "actions": ["doc.read"], "context": {"n": 10}});
    let (_, v) = c.call("post", "/v1/check", "", "", &rt, Some(body)).await;
    assert_eq!(v["results"]["doc.read"]["decision"], "escalate", "{v}");
    let esc = v["results"]["doc.read"]["escalation_id"].as_str().expect("esc").to_string();
    c.call("get", "/v1/escalations/{id}", &esc, "", &rt, None).await;

    // Members, and a two-level escalation of a scope-based authorization resolved by them.
    let mut credentials = Vec::new();
    for id in ["schema-l1", "schema-l2"] {
        let (st, m) = c.call("post", "/v1/setup/members", "", "", &setup, Some(json!({"member_id": id}))).await;
        assert_eq!(st, 201, "{m}");
        credentials.push(m["credential"].as_str().expect("credential").to_string());
    }
    let (st, _) = c.call("post", "/v1/setup/members", "", "", &setup, Some(json!({"member_id": "schema-l1"}))).await;
    assert_eq!(st, 409);
    c.call("get", "/v1/setup/members", "", "", &setup, None).await;
    let body = json!({"user_id": "u", "agent_id": "a", "scopes": ["wire"], "requires_escalation_for": ["wire"],
                      "escalation_targets": {"wire": ["member:schema-l1", "member:schema-l2"]}});
    let (st, e) = c.call("post", "/v1/authorizations", "", "", &rt, Some(body)).await;
    assert_eq!(st, 201, "{e}");
    let body = json!({"authorization_id": e["authorization_id"], "scopes": ["wire"]});
    let (_, v) = c.call("post", "/v1/check", "", "", &rt, Some(body)).await;
    let esc = v["results"]["wire"]["escalation_id"].as_str().expect("esc").to_string();
    let resolve = |by: &str| json!({"resolution": "approved", "resolved_by": by, "note": "ok"});
    let (st, _) =
        c.call("post", "/v1/escalations/{id}/resolve", &esc, "", &rt, Some(resolve("member:schema-l1"))).await;
    assert_eq!(st, 403);
    let (st, v) = c
        .call("post", "/v1/escalations/{id}/resolve", &esc, "", &credentials[0], Some(resolve("member:schema-l1")))
        .await;
    assert_eq!(st, 200, "{v}");
    c.call("get", "/v1/escalations/{id}", &esc, "", &credentials[1], None).await;
    let (st, v) = c
        .call("post", "/v1/escalations/{id}/resolve", &esc, "", &credentials[1], Some(resolve("member:schema-l2")))
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = c
        .call("post", "/v1/escalations/{id}/resolve", &esc, "", &credentials[1], Some(resolve("member:schema-l2")))
        .await;
    assert_eq!(st, 409);
    c.call("get", "/v1/escalations/{id}", &esc, "", &rt, None).await;
    c.call("post", "/v1/setup/members/{id}/credential", "schema-l1", "", &setup, None).await;
    c.call("delete", "/v1/setup/members/{id}", "schema-l1", "", &setup, None).await;
    let (st, _) = c.call("delete", "/v1/setup/members/{id}", "schema-l1", "", &setup, None).await;
    assert_eq!(st, 404);
    let (st, _) = s.send("DELETE", "/v1/policies/docs", Some(&setup), None, None).await;
    assert_eq!(st, 204);

    // Revocation last: it also revokes the answered confirmation's authorization.
    let (st, v) =
        c.call("delete", "/v1/authorizations/{id}", &auth, "", &rt, Some(json!({"revoked_by": "user"}))).await;
    assert_eq!(st, 200, "{v}");
    c.call("get", "/v1/authorizations/{id}", &auth, "", &rt, None).await;

    // Every operation whose success body is one of our JSON types was validated above.
    let doc = c.doc.clone();
    let mut json_ops = BTreeSet::new();
    let mut unsupported = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let responses = op["responses"].as_object().expect("responses");
            let Some((_, ok)) = responses.iter().find(|(st, _)| st.starts_with('2') && *st != "204") else {
                if responses.contains_key("204") {
                    unsupported += 1; // no body to validate
                    continue;
                }
                assert!(responses.contains_key("501"), "{method} {path}: no success and not unsupported");
                unsupported += 1;
                continue;
            };
            if ok["content"]["application/json"]["schema"]["$ref"].is_string() {
                json_ops.insert((method.clone(), path.clone()));
            }
        }
    }
    assert_eq!(
        json_ops.len(),
        allowly_server::routes::ROUTES.len() - 3 - unsupported,
        "all but metrics, openapi.json, export, the 204 and the 501 routes"
    );
    assert_eq!(c.validated, json_ops, "operations validated vs. operations with a JSON success body");
    s.stop().await;
}
