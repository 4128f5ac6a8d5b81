//! Escalations and their approvers (issue 20 part 2), on SQLite and PostgreSQL: members and their credentials, an
//! authorization's `escalation_targets` with one or two levels, resolution by the named member's own credential
//! only, one receipt per step, the answer bound to the call that asked and used once, exactly one winner among
//! concurrent resolves of a level, and expiry receipted once.

#[macro_use]
mod common;

use common::{TestDb, TestServer};
use serde_json::{Value, json};

backend_tests!(
    member_credentials_are_shown_once_rotated_and_revoked,
    escalation_fields_of_an_authorization_are_validated_and_store_nothing,
    two_level_escalation_is_resolved_only_by_its_members_with_a_receipt_per_step,
    a_resolution_answers_only_the_call_that_asked_and_only_once,
    an_unresolved_escalation_expires_with_exactly_one_receipt,
    a_policy_editions_escalation_is_resolved_by_its_member_in_wire_5
);
backend_tests!(multi_thread: hundred_concurrent_resolves_of_one_level_have_exactly_one_winner);

/// Creates a member and returns its credential.
async fn member(s: &TestServer, id: &str) -> String {
    let (st, v) = s.send("POST", "/v1/setup/members", Some(&s.setup), Some(json!({"member_id": id})), None).await;
    assert_eq!(st, 201, "{v}");
    v["credential"].as_str().expect("credential").to_owned()
}

/// An authorization whose `pay` escalates to `targets`.
async fn escalating_auth(s: &TestServer, targets: Value) -> String {
    let a = s
        .authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["pay", "read"],
                           "requires_escalation_for": ["pay"], "escalation_targets": {"pay": targets}}))
        .await;
    a["authorization_id"].as_str().expect("id").to_owned()
}

async fn resolve(s: &TestServer, key: &str, esc: &str, body: Value) -> (u16, Value) {
    s.send("POST", &format!("/v1/escalations/{esc}/resolve"), Some(key), Some(body), None).await
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

async fn member_credentials_are_shown_once_rotated_and_revoked(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (st, v) = s
        .send(
            "POST",
            "/v1/setup/members",
            Some(&s.setup),
            Some(json!({"member_id": "l1", "display_name": "Lee"})),
            None,
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!((v["member_id"].as_str(), v["display_name"].as_str()), (Some("l1"), Some("Lee")));
    assert!(v["revoked_at"].is_null() && v["created_at"].is_string(), "{v}");
    let first = v["credential"].as_str().expect("credential").to_owned();
    assert!(first.starts_with("allowly_mk_") && first.len() == "allowly_mk_".len() + 32, "{first}");
    // Stored only as its hash; never listed.
    assert_eq!(
        s.count(&format!("members WHERE credential_hash = '{}'", allowly_server::util::sha256_hex(first.as_bytes())))
            .await,
        1
    );
    let (st, list) = s.send("GET", "/v1/setup/members", Some(&s.setup), None, None).await;
    assert_eq!(st, 200);
    assert_eq!(list["members"].as_array().map(Vec::len), Some(1), "{list}");
    assert!(!list.to_string().contains(&first) && list["members"][0].get("credential").is_none(), "{list}");
    // Runtime keys cannot manage members.
    let (st, v) = s.send("GET", "/v1/setup/members", Some(&s.rt), None, None).await;
    assert_eq!((st, code(&v)), (403, "insufficient_key_tier"));

    // A member credential opens only the escalation routes.
    let (st, v) = s
        .send("POST", "/v1/check", Some(&first), Some(json!({"authorization_id": "auth_x", "scopes": ["x"]})), None)
        .await;
    assert_eq!((st, code(&v)), (403, "insufficient_key_tier"), "{v}");
    let (st, v) = s.send("GET", "/v1/setup/members", Some(&first), None, None).await;
    assert_eq!((st, code(&v)), (403, "insufficient_key_tier"), "{v}");
    let (st, v) = s.send("GET", "/v1/escalations/esc_unknown", Some(&first), None, None).await;
    assert_eq!((st, code(&v)), (404, "not_found"), "{v}");

    // Bad input: a clear 422 naming the field, nothing stored; a duplicate (even of a revoked member) is a 409.
    for bad in [
        json!({"member_id": "member:l9"}),
        json!({"member_id": ""}),
        json!({"member_id": "a b"}),
        json!({"member_id": "x".repeat(129)}),
        json!({"member_id": "ok", "display_name": "n".repeat(201)}),
        json!({"display_name": "no id"}),
    ] {
        let (st, v) = s.send("POST", "/v1/setup/members", Some(&s.setup), Some(bad.clone()), None).await;
        assert_eq!((st, code(&v)), (422, "validation_error"), "{bad}: {v}");
        assert!(v["error"]["fields"][0]["field"].is_string(), "{v}");
    }
    let (st, v) = s.send("POST", "/v1/setup/members", Some(&s.setup), Some(json!({"member_id": "l1"})), None).await;
    assert_eq!((st, code(&v)), (409, "conflict"), "{v}");
    assert_eq!(s.count("members").await, 1, "refused creates stored a member");

    // Rotation: a new credential, the old one 401 at once.
    let (st, v) = s.send("POST", "/v1/setup/members/l1/credential", Some(&s.setup), None, None).await;
    assert_eq!(st, 200, "{v}");
    let second = v["credential"].as_str().expect("credential").to_owned();
    assert_ne!(first, second);
    let (st, v) = s.send("GET", "/v1/escalations/esc_unknown", Some(&first), None, None).await;
    assert_eq!((st, code(&v)), (401, "invalid_api_key"), "{v}");
    assert!(!v.to_string().contains(&first), "the credential is echoed: {v}");
    let (st, _) = s.send("GET", "/v1/escalations/esc_unknown", Some(&second), None, None).await;
    assert_eq!(st, 404);
    let (st, v) = s.send("POST", "/v1/setup/members/nobody/credential", Some(&s.setup), None, None).await;
    assert_eq!((st, code(&v)), (404, "not_found"), "{v}");

    // Revocation: 401 from now on; revoking again or rotating a revoked member is 404; its id stays taken.
    let (st, v) = s.send("DELETE", "/v1/setup/members/l1", Some(&s.setup), None, None).await;
    assert_eq!((st, v["member_id"].as_str()), (200, Some("l1")), "{v}");
    assert!(v["revoked_at"].is_string(), "{v}");
    let (st, v) = s.send("GET", "/v1/escalations/esc_unknown", Some(&second), None, None).await;
    assert_eq!((st, code(&v)), (401, "invalid_api_key"), "{v}");
    for (m, p) in [("DELETE", "/v1/setup/members/l1"), ("POST", "/v1/setup/members/l1/credential")] {
        let (st, v) = s.send(m, p, Some(&s.setup), None, None).await;
        assert_eq!((st, code(&v)), (404, "not_found"), "{m} {p}: {v}");
    }
    let (st, v) = s.send("POST", "/v1/setup/members", Some(&s.setup), Some(json!({"member_id": "l1"})), None).await;
    assert_eq!((st, code(&v)), (409, "conflict"), "{v}");
    let (_, list) = s.send("GET", "/v1/setup/members", Some(&s.setup), None, None).await;
    assert!(list["members"][0]["revoked_at"].is_string(), "{list}");
    s.stop().await;
}

async fn escalation_fields_of_an_authorization_are_validated_and_store_nothing(db: TestDb) {
    let s = TestServer::start(&db).await;
    member(&s, "l1").await;
    member(&s, "l2").await;
    member(&s, "gone").await;
    let (st, _) = s.send("DELETE", "/v1/setup/members/gone", Some(&s.setup), None, None).await;
    assert_eq!(st, 200);
    let base = |extra: Value| {
        let mut b = json!({"user_id": "u", "agent_id": "a", "scopes": ["pay", "read"]});
        b.as_object_mut().expect("object").extend(extra.as_object().cloned().unwrap_or_default());
        b
    };
    let cases = [
        (json!({"requires_escalation_for": ["pay"]}), "escalation_targets"),
        (
            json!({"requires_escalation_for": ["nope"], "escalation_targets": {"nope": "member:l1"}}),
            "requires_escalation_for",
        ),
        (json!({"escalation_targets": {"pay": "member:l1"}}), "escalation_targets"),
        (
            json!({"requires_escalation_for": ["pay"], "escalation_targets": {"pay": ["member:l1", "member:l1"]}}),
            "escalation_targets",
        ),
        (
            json!({"requires_escalation_for": ["pay"], "escalation_targets": {"pay": ["member:l1", "member:l2", "member:l1"]}}),
            "escalation_targets",
        ),
        (json!({"requires_escalation_for": ["pay"], "escalation_targets": {"pay": "l1"}}), "escalation_targets"),
        (
            json!({"requires_escalation_for": ["pay"], "escalation_targets": {"pay": "member:ghost"}}),
            "escalation_targets",
        ),
        (
            json!({"requires_escalation_for": ["pay"], "escalation_targets": {"pay": ["member:l1", "member:gone"]}}),
            "escalation_targets",
        ),
        (
            json!({"requires_escalation_for": ["pay"], "requires_confirm_for": ["pay"], "escalation_targets": {"pay": "member:l1"}}),
            "requires_escalation_for",
        ),
        (
            json!({"requires_escalation_for": ["pay"], "requires_deny_for": ["pay"], "escalation_targets": {"pay": "member:l1"}}),
            "requires_escalation_for",
        ),
        (json!({"requires_escalation_for": ["pay"], "escalation_targets": "member:l1"}), "escalation_targets"),
    ];
    let before = (s.count("authorizations").await, s.count("receipts").await);
    for (extra, field) in cases {
        let (st, v) = s.post("/v1/authorizations", base(extra.clone())).await;
        assert_eq!((st, code(&v)), (422, "validation_error"), "{extra}: {v}");
        let fields: Vec<&str> =
            v["error"]["fields"].as_array().expect("fields").iter().filter_map(|f| f["field"].as_str()).collect();
        assert!(fields.contains(&field), "{extra}: {field} not named in {v}");
    }
    assert_eq!((s.count("authorizations").await, s.count("receipts").await), before, "a refused create stored rows");
    // Accepted: one level as a string, two as a list; read back as created.
    let a = s
        .authorize(base(
            json!({"requires_escalation_for": ["pay"], "escalation_targets": {"pay": ["member:l1", "member:l2"]}}),
        ))
        .await;
    assert_eq!(a["requires_escalation_for"], json!(["pay"]), "{a}");
    assert_eq!(a["escalation_targets"], json!({"pay": ["member:l1", "member:l2"]}), "{a}");
    let (_, read) = s.get(&format!("/v1/authorizations/{}", a["authorization_id"].as_str().expect("id"))).await;
    assert_eq!(read["escalation_targets"], a["escalation_targets"], "{read}");
    // Existing clients' empty values still mean "none".
    let plain = s.authorize(base(json!({"requires_escalation_for": [], "escalation_targets": {}}))).await;
    assert_eq!((plain["requires_escalation_for"].clone(), plain["escalation_targets"].clone()), (json!([]), json!({})));
    s.stop().await;
}

async fn two_level_escalation_is_resolved_only_by_its_members_with_a_receipt_per_step(db: TestDb) {
    let s = TestServer::start(&db).await;
    let l1 = member(&s, "l1").await;
    let l2 = member(&s, "l2").await;
    let other = member(&s, "other").await;
    let auth = escalating_auth(&s, json!(["member:l1", "member:l2"])).await;
    let call = json!({"resource": "inv:1"});
    let (d, r, first) = s.decide(&auth, "pay", call.clone()).await;
    assert_eq!((d.as_str(), r.as_str()), ("escalate", "scope_requires_escalation"), "{first}");
    let esc = first["escalation_id"].as_str().expect("escalation id").to_owned();
    assert_eq!(first["escalation_to"], "member:l1");
    assert_eq!(first["escalation"]["status"], "pending");
    assert_eq!(first["escalation"]["escalation_id"], json!(esc));
    // Other scopes of the authorization are untouched.
    assert_eq!(s.decide(&auth, "read", json!({})).await.0, "allow");

    // Readers: the workspace's keys and the members it is addressed to; anyone else reads "not found".
    let (st, m) = s.send("GET", &format!("/v1/escalations/{esc}"), Some(&s.rt), None, None).await;
    assert_eq!(st, 200, "{m}");
    assert_eq!(
        (m["status"].as_str(), m["level"].as_i64(), m["levels"].as_i64()),
        (Some("pending"), Some(1), Some(2)),
        "{m}"
    );
    assert_eq!((st, s.send("GET", &format!("/v1/escalations/{esc}"), Some(&l2), None, None).await.0), (200, 200));
    let (st, v) = s.send("GET", &format!("/v1/escalations/{esc}"), Some(&other), None, None).await;
    assert_eq!((st, code(&v)), (404, "not_found"), "{v}");

    let approve = |by: &str| json!({"resolution": "approved", "resolved_by": by, "note": "looks fine"});
    // Only a member's credential resolves; only the member the current level waits on; resolved_by must be it.
    let (st, v) = resolve(&s, &s.rt, &esc, approve("member:l1")).await;
    assert_eq!((st, code(&v)), (403, "member_credential_required"), "{v}");
    let (st, v) = resolve(&s, &s.setup, &esc, approve("member:l1")).await;
    assert_eq!((st, code(&v)), (403, "member_credential_required"), "{v}");
    let (st, v) = resolve(&s, &other, &esc, approve("member:other")).await;
    assert_eq!((st, code(&v)), (404, "not_found"), "never addressed to it: {v}");
    let (st, v) = resolve(&s, &l2, &esc, approve("member:l2")).await;
    assert_eq!((st, code(&v)), (403, "escalation_wrong_member"), "level 2 before level 1: {v}");
    let (st, v) = resolve(&s, &l1, &esc, approve("member:l2")).await;
    assert_eq!((st, code(&v)), (403, "resolved_by_mismatch"), "{v}");
    let (st, v) = resolve(&s, &l1, &esc, json!({"resolution": "maybe"})).await;
    assert_eq!((st, code(&v)), (422, "validation_error"), "{v}");
    let (st, v) = resolve(&s, &l1, &esc, json!({"resolution": "approved", "note": "n".repeat(1001)})).await;
    assert_eq!((st, code(&v)), (422, "validation_error"), "{v}");
    assert_eq!(s.count("escalation_steps").await, 0, "a refused resolve stored a step");

    // Level 1 by l1 (resolved_by as the bare id is the same member).
    let (st, one) = resolve(&s, &l1, &esc, approve("l1")).await;
    assert_eq!(st, 200, "{one}");
    assert_eq!(
        (one["status"].as_str(), one["escalation_status"].as_str()),
        (Some("approved"), Some("pending")),
        "{one}"
    );
    assert_eq!((one["level"].as_i64(), one["levels"].as_i64()), (Some(1), Some(2)));
    assert_eq!((one["resolved_by"].as_str(), one["escalation_to"].as_str()), (Some("member:l1"), Some("member:l2")));
    assert!(one["resolved_at"].is_string() && one["receipt"]["receipt_id"].is_string(), "{one}");
    // A re-check while level 2 waits answers the same escalation, now asking l2: no new row.
    let rows = s.count("escalations").await;
    let (d, _, again) = s.decide(&auth, "pay", call.clone()).await;
    assert_eq!(
        (d.as_str(), again["escalation_id"].as_str(), again["escalation_to"].as_str()),
        ("escalate", Some(esc.as_str()), Some("member:l2")),
        "{again}"
    );
    assert_eq!(s.count("escalations").await, rows);
    // l1 cannot approve level 2 too.
    let (st, v) = resolve(&s, &l1, &esc, approve("member:l1")).await;
    assert_eq!((st, code(&v)), (403, "escalation_wrong_member"), "{v}");

    // Level 2 by l2, without resolved_by (the resolver is the credential's member either way), with an
    // Idempotency-Key: a retry of the same request replays the answer; the same key from another member is not its.
    let path = format!("/v1/escalations/{esc}/resolve");
    let body = json!({"resolution": "approved"});
    let (st, two) = s.send("POST", &path, Some(&l2), Some(body.clone()), Some("resolve-l2-1")).await;
    assert_eq!(st, 200, "{two}");
    let (st, replay) = s.send("POST", &path, Some(&l2), Some(body.clone()), Some("resolve-l2-1")).await;
    assert_eq!((st, &replay), (200, &two), "a retry replays the recorded resolution");
    let (st, v) = s.send("POST", &path, Some(&l1), Some(body), Some("resolve-l2-1")).await;
    assert_eq!((st, code(&v)), (409, "idempotency_conflict"), "{v}");
    assert_eq!(s.count(&format!("escalation_steps WHERE escalation_id = '{esc}'")).await, 2);
    assert_eq!((two["escalation_status"].as_str(), two["level"].as_i64()), (Some("approved"), Some(2)), "{two}");
    assert!(two["escalation_to"].is_null(), "{two}");
    let (st, v) = resolve(&s, &l2, &esc, approve("member:l2")).await;
    assert_eq!((st, code(&v)), (409, "escalation_not_pending"), "{v}");

    // The monitor: approved, both steps, authority available; final resolver l2.
    let (_, m) = s.send("GET", &format!("/v1/escalations/{esc}"), Some(&l1), None, None).await;
    assert_eq!((m["status"].as_str(), m["authority_status"].as_str()), (Some("approved"), Some("available")), "{m}");
    assert_eq!(m["resolved_by"], "member:l2");
    let steps = m["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2, "{m}");
    // One receipt per step, each an escalation.resolve naming its level and resolver, signed and verifiable.
    for (i, (step, who)) in steps.iter().zip(["member:l1", "member:l2"]).enumerate() {
        assert_eq!((step["level"].as_i64(), step["resolved_by"].as_str()), (Some(i as i64 + 1), Some(who)), "{step}");
        let rid = step["receipt_id"].as_str().expect("receipt id");
        let receipt = s.signed(rid).await;
        assert_eq!(
            (receipt["event"].as_str(), receipt["decision"].as_str(), receipt["reason"].as_str()),
            (Some("escalation.resolve"), Some("escalation_approved"), Some("escalation_approved")),
            "{receipt}"
        );
        let ctx = &receipt["context"];
        assert_eq!(
            (ctx["level"].as_i64(), ctx["levels"].as_i64(), ctx["resolved_by"].as_str()),
            (Some(i as i64 + 1), Some(2), Some(who)),
            "{receipt}"
        );
        assert_eq!(
            (ctx["escalation_id"].as_str(), ctx["check_receipt_id"].clone()),
            (Some(esc.as_str()), first["receipt"]["receipt_id"].clone())
        );
        // The note is never receipted, only its digest (level 1 sent one, level 2 none).
        assert!(!receipt.to_string().contains("looks fine"), "{receipt}");
        assert_eq!(ctx["note_sha256"].is_string(), i == 0, "{receipt}");
        s.verify(&receipt).await;
    }
    assert_eq!(m["resolution_receipt_id"], steps[1]["receipt_id"]);

    // The re-check of the same call uses the approval once; the next one asks again.
    let (d, r, used) = s.decide(&auth, "pay", call.clone()).await;
    assert_eq!((d.as_str(), r.as_str()), ("allow", "escalation_approved"), "{used}");
    let receipt = s.signed(used["receipt"]["receipt_id"].as_str().expect("receipt")).await;
    assert_eq!(receipt["context"]["escalation_id"], json!(esc), "{receipt}");
    s.verify(&receipt).await;
    let (_, m) = s.get(&format!("/v1/escalations/{esc}")).await;
    assert_eq!((m["authority_status"].as_str(), m["consumed_at"].is_string()), (Some("consumed"), true), "{m}");
    let (d, r, next) = s.decide(&auth, "pay", call).await;
    assert_eq!((d.as_str(), r.as_str()), ("escalate", "scope_requires_escalation"), "{next}");
    assert_ne!(next["escalation_id"].as_str(), Some(esc.as_str()));
    s.stop().await;
}

async fn a_resolution_answers_only_the_call_that_asked_and_only_once(db: TestDb) {
    let s = TestServer::start(&db).await;
    let boss = member(&s, "boss").await;
    // Both webhooks configured (never reachable here): what they would be sent is in the outbox.
    for path in ["/v1/webhook", "/v1/setup/resolution-webhook"] {
        let (st, v) = s.send("PUT", path, Some(&s.setup), Some(json!({"url": "http://127.0.0.1:9/hook"})), None).await;
        assert_eq!(st, 200, "{v}");
    }
    let auth = escalating_auth(&s, json!("member:boss")).await;
    let digest = "a".repeat(64);
    let call = json!({"resource": "inv:1", "session_id": "s1", "arguments_sha256": digest});
    let (_, _, asked) = s.decide(&auth, "pay", call.clone()).await;
    let esc = asked["escalation_id"].as_str().expect("escalation id").to_owned();
    let (_, _, again) = s.decide(&auth, "pay", call.clone()).await;
    assert_eq!(again["escalation_id"].as_str(), Some(esc.as_str()), "a pending re-check answers the same escalation");
    assert_eq!(s.count("escalations").await, 1);
    let (st, v) = resolve(&s, &boss, &esc, json!({"resolution": "approved", "resolved_by": "member:boss"})).await;
    assert_eq!((st, v["escalation_status"].as_str()), (200, Some("approved")), "{v}");

    // Calls with another resource, session or arguments digest are other calls: each opens its own escalation.
    for (field, value) in
        [("resource", json!("inv:2")), ("session_id", json!("s2")), ("arguments_sha256", json!("b".repeat(64)))]
    {
        let mut other = call.clone();
        other[field] = value;
        let (d, r, res) = s.decide(&auth, "pay", other).await;
        assert_eq!((d.as_str(), r.as_str()), ("escalate", "scope_requires_escalation"), "{field}: {res}");
        assert_ne!(res["escalation_id"].as_str(), Some(esc.as_str()), "{field}");
    }
    let mut without = call.clone();
    without.as_object_mut().expect("object").remove("arguments_sha256");
    assert_ne!(s.decide(&auth, "pay", without).await.2["escalation_id"].as_str(), Some(esc.as_str()));
    // The asking call takes it, once.
    let (d, r, _) = s.decide(&auth, "pay", call.clone()).await;
    assert_eq!((d.as_str(), r.as_str()), ("allow", "escalation_approved"));
    let (d, _, res) = s.decide(&auth, "pay", call.clone()).await;
    assert_eq!(d, "escalate", "an approval is used once: {res}");
    let second = res["escalation_id"].as_str().expect("new escalation").to_owned();

    // A rejection denies the re-check of its call once; the call after asks again.
    let (st, v) = resolve(&s, &boss, &second, json!({"resolution": "rejected", "resolved_by": "member:boss"})).await;
    assert_eq!(
        (st, v["status"].as_str(), v["escalation_status"].as_str()),
        (200, Some("rejected"), Some("rejected")),
        "{v}"
    );
    let receipt = s.signed(v["receipt"]["receipt_id"].as_str().expect("receipt")).await;
    assert_eq!(
        (receipt["decision"].as_str(), receipt["reason"].as_str()),
        (Some("escalation_rejected"), Some("escalation_rejected"))
    );
    s.verify(&receipt).await;
    let (_, m) = s.get(&format!("/v1/escalations/{second}")).await;
    assert_eq!((m["status"].as_str(), m["authority_status"].as_str()), (Some("rejected"), Some("none")), "{m}");
    let (d, r, _) = s.decide(&auth, "pay", call.clone()).await;
    assert_eq!((d.as_str(), r.as_str()), ("deny", "escalation_rejected"));
    let (d, r, _) = s.decide(&auth, "pay", call).await;
    assert_eq!((d.as_str(), r.as_str()), ("escalate", "scope_requires_escalation"));
    // Events: one escalation.created per escalation opened (not per re-check), and per final resolution one generic
    // escalation.resolved and one resolution-webhook escalation.resolved.
    let opened = s.count("escalations").await;
    assert_eq!(opened, 7, "the two resolved, three other calls, the one without a digest, the last ask");
    let events =
        |t: &str, channel: &str| format!("webhook_deliveries WHERE event_type = '{t}' AND channel = '{channel}'");
    assert_eq!(s.count(&events("escalation.created", "webhook")).await, opened);
    assert_eq!(s.count(&events("escalation.resolved", "webhook")).await, 2);
    assert_eq!(s.count(&events("escalation.resolved", "resolution")).await, 2);
    s.stop().await;
}

async fn hundred_concurrent_resolves_of_one_level_have_exactly_one_winner(db: TestDb) {
    let s = TestServer::start(&db).await;
    let l1 = member(&s, "l1").await;
    let l2 = member(&s, "l2").await;
    let auth = escalating_auth(&s, json!(["member:l1", "member:l2"])).await;
    let (_, _, asked) = s.decide(&auth, "pay", json!({})).await;
    let esc = asked["escalation_id"].as_str().expect("escalation id").to_owned();
    // Level 1: 100 approvals at once by its member; one wins and passes the escalation on to l2, so every other one
    // finds it waiting on another member.
    let (won, lost) = race(&s, &l1, &esc, |_| "approved").await;
    assert_eq!((won.len(), lost.len()), (1, 99));
    assert!(lost.iter().all(|v| code(v) == "escalation_wrong_member"), "{lost:?}");
    assert_eq!(won[0]["escalation_to"], "member:l2");
    // Level 2: 100 resolves at once by its member, half approving, half rejecting.
    let (won, lost) = race(&s, &l2, &esc, |i| if i % 2 == 0 { "approved" } else { "rejected" }).await;
    assert_eq!((won.len(), lost.len()), (1, 99));
    assert!(lost.iter().all(|v| code(v) == "escalation_not_pending"), "{lost:?}");
    assert_eq!(s.count(&format!("escalation_steps WHERE escalation_id = '{esc}'")).await, 2);
    let final_receipts = format!("receipts WHERE action = 'escalation.resolve' AND payload LIKE '%{esc}%'");
    assert_eq!(s.count(&final_receipts).await, 2, "one receipt per level");
    let (_, m) = s.get(&format!("/v1/escalations/{esc}")).await;
    assert_eq!(m["status"], won[0]["status"], "the monitor shows the one winner's resolution: {m}");
    s.stop().await;
}

/// 100 resolves of `esc` at once with `key`; returns the 200 bodies and the 4xx bodies.
async fn race(s: &TestServer, key: &str, esc: &str, resolution: fn(usize) -> &'static str) -> (Vec<Value>, Vec<Value>) {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..100 {
        let (http, url, key) = (s.http.clone(), format!("{}/v1/escalations/{esc}/resolve", s.base), key.to_owned());
        let resolution = resolution(i);
        set.spawn(async move {
            let r =
                http.post(url).bearer_auth(key).json(&json!({"resolution": resolution})).send().await.expect("send");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.expect("json"))
        });
    }
    let (mut won, mut lost) = (Vec::new(), Vec::new());
    while let Some(r) = set.join_next().await {
        let (status, v) = r.expect("join");
        match status {
            200 => won.push(v),
            403 | 409 => lost.push(v),
            other => panic!("unexpected {other}: {v}"),
        }
    }
    (won, lost)
}

async fn an_unresolved_escalation_expires_with_exactly_one_receipt(db: TestDb) {
    let s = TestServer::start(&db).await;
    let l1 = member(&s, "l1").await;
    let (st, _) =
        s.send("PUT", "/v1/webhook", Some(&s.setup), Some(json!({"url": "http://127.0.0.1:9/hook"})), None).await;
    assert_eq!(st, 200);
    // The confirmation timeout's clamp applies: 1 s stays 1 s only under --dev (the SQLite harness), else 60 s.
    let short = s
        .authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["pay"], "requires_escalation_for": ["pay"],
                           "escalation_targets": {"pay": "member:l1"}, "confirmation_timeout_seconds": 1}))
        .await;
    let (_, _, r) = s.decide(short["authorization_id"].as_str().expect("id"), "pay", json!({})).await;
    let at = |v: &Value| allowly_server::util::parse_ts(v.as_str().expect("timestamp")).expect("timestamp");
    // The receipt's ready estimate is the check's time plus 500 ms.
    let waits = (at(&r["escalation_expires_at"]) - at(&r["receipt"]["ready_at_estimate"])).whole_milliseconds() + 500;
    let want = if db.backend == common::Backend::Sqlite { 1000 } else { 60_000 };
    assert!((want - 500..=want).contains(&waits), "waits {waits} ms, want about {want}");
    let a = s
        .authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["pay"], "requires_escalation_for": ["pay"],
                           "escalation_targets": {"pay": "member:l1"}, "confirmation_timeout_seconds": 120}))
        .await;
    let auth = a["authorization_id"].as_str().expect("id").to_owned();
    let (_, _, asked) = s.decide(&auth, "pay", json!({})).await;
    let esc = asked["escalation_id"].as_str().expect("escalation id").to_owned();
    // The authorization's confirmation timeout is the escalation's.
    let created =
        allowly_server::util::parse_ts(asked["receipt"]["ready_at_estimate"].as_str().expect("t")).expect("ts");
    let expires = allowly_server::util::parse_ts(asked["escalation_expires_at"].as_str().expect("expiry")).expect("ts");
    let secs = (expires - created).whole_seconds();
    assert!((118..=120).contains(&secs), "expires {secs} s after the check");
    // Its time runs out (moved into the past rather than waited for).
    let moved =
        db.exec(&format!("UPDATE escalations SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = '{esc}'")).await;
    assert_eq!(moved, 1);
    let store = allowly_server::store::Store::open(&db.url).await.expect("store");
    assert_eq!(allowly_server::expiry::sweep_once(&store).await.expect("sweep"), 1);
    assert_eq!(allowly_server::expiry::sweep_once(&store).await.expect("sweep"), 0, "nothing left to expire");
    store.close().await;
    let expiries = format!("receipts WHERE action = 'escalation.resolve' AND payload LIKE '%{esc}%'");
    assert_eq!(s.count(&expiries).await, 1);
    let expired_events =
        format!("webhook_deliveries WHERE event_type = 'escalation.expired' AND payload LIKE '%{esc}%'");
    assert_eq!(s.count(&expired_events).await, 1);
    let (st, v) = resolve(&s, &l1, &esc, json!({"resolution": "approved"})).await;
    assert_eq!((st, code(&v)), (410, "escalation_expired"), "{v}");
    assert_eq!(s.count(&expiries).await, 1, "a late resolve receipts nothing more");
    let (_, m) = s.get(&format!("/v1/escalations/{esc}")).await;
    assert_eq!((m["status"].as_str(), m["authority_status"].as_str()), (Some("expired"), Some("none")), "{m}");
    let receipt = s.signed(m["resolution_receipt_id"].as_str().expect("expiry receipt")).await;
    assert_eq!(
        (receipt["event"].as_str(), receipt["decision"].as_str(), receipt["reason"].as_str()),
        (Some("escalation.resolve"), Some("escalation_rejected"), Some("escalation_expired")),
        "{receipt}"
    );
    s.verify(&receipt).await;
    // The call asks again.
    let (d, _, again) = s.decide(&auth, "pay", json!({})).await;
    assert_eq!(d, "escalate");
    assert_ne!(again["escalation_id"].as_str(), Some(esc.as_str()));
    s.stop().await;
}

async fn a_policy_editions_escalation_is_resolved_by_its_member_in_wire_5(db: TestDb) {
    let s = TestServer::start(&db).await;
    let boss = member(&s, "boss").await;
    let definition = json!({
        "policy_id": "docs", "profile": "allowly.policy.v1", "agent_id": "ag", "default_expiry_days": null,
        "actions": [{"policy": {"profile": "allowly.basic.v1", "action": "doc.read", "decision": "allow",
                                "target": null, "fields": {"n": "integer"},
                                "rules": [{"id": "big", "decision": "escalate", "target": "member:boss",
                                           "conditions": [{"field": "n", "op": "gt", "value": 9}]}]},
                     "guards": {}, "executable_operations": []}],
    });
    let (st, p) = s.send("POST", "/v1/policies", Some(&s.setup), Some(definition), None).await;
    assert_eq!(st, 201, "{p}");
    let g = s.authorize(json!({"user_id": "u", "policy_id": "docs", "policy_version": 1})).await;
    let auth = g["authorization_id"].as_str().expect("id").to_owned();
    let call = json!({"context": {"n": 10}});
    let (d, r, asked) = s.decide(&auth, "doc.read", call.clone()).await;
    assert_eq!((d.as_str(), r.as_str()), ("escalate", "policy_requires_escalation"), "{asked}");
    let esc = asked["escalation_id"].as_str().expect("escalation id").to_owned();
    // One level: the member's approval ends it.
    let (st, v) = resolve(&s, &boss, &esc, json!({"resolution": "approved", "resolved_by": "member:boss"})).await;
    assert_eq!((st, v["escalation_status"].as_str(), v["levels"].as_i64()), (200, Some("approved"), Some(1)), "{v}");
    // The step's receipt is about an edition-granted authorization: wire 5, naming the edition, and it verifies.
    let receipt = s.signed(v["receipt"]["receipt_id"].as_str().expect("receipt")).await;
    assert!(receipt["protected"].is_string() && receipt["payload"].is_string(), "not a wire-5 JWS: {receipt}");
    s.verify(&receipt).await;
    let (d, r, _) = s.decide(&auth, "doc.read", call).await;
    assert_eq!((d.as_str(), r.as_str()), ("allow", "escalation_approved"));
    s.stop().await;
}
