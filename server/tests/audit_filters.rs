//! `GET /v1/audit` filters beyond the basics of `setup.rs`: by action (a check's scope or an event's name), by
//! agent, by time range, combined with each other and with the cursor; and the migration's backfill of `action` for
//! receipts written before the column existed.

#[macro_use]
mod common;

use common::{TestDb, TestServer};
use serde_json::{Value, json};

backend_tests!(audit_filters_by_action_agent_and_time, audit_action_backfill_reads_the_payload);

/// The receipt ids of one audit page, newest first.
async fn page(s: &TestServer, query: &str) -> (Vec<String>, Option<String>) {
    let (st, v) = s.send("GET", &format!("/v1/audit?{query}"), Some(&s.setup), None, None).await;
    assert_eq!(st, 200, "{query}: {v}");
    let ids = v["data"].as_array().unwrap().iter().map(|r| r["receipt_id"].as_str().unwrap().to_string()).collect();
    (ids, v["next_cursor"].as_str().map(str::to_string))
}

/// Every receipt id a query returns, walking the cursor with `limit=1`.
async fn walk(s: &TestServer, query: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("{query}&limit=1&cursor={c}"),
            None => format!("{query}&limit=1"),
        };
        let (ids, next) = page(s, &q).await;
        assert!(ids.len() <= 1, "{q}: {ids:?}");
        all.extend(ids);
        match next {
            Some(c) => cursor = Some(c),
            None => return all,
        }
    }
}

async fn audit_filters_by_action_agent_and_time(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u-1", "agent_id": "bot-a", "scopes": ["mail.send", "mail.read"]})).await;
    let b = s.authorize(json!({"user_id": "u-2", "agent_id": "bot-b", "scopes": ["mail.send"]})).await;
    let (auth_a, auth_b) = (a["authorization_id"].as_str().unwrap(), b["authorization_id"].as_str().unwrap());
    let mut receipts = vec![a["receipt"]["receipt_id"].clone(), b["receipt"]["receipt_id"].clone()];
    let mut sends = Vec::new();
    for (auth, scope) in [(auth_a, "mail.send"), (auth_a, "mail.read"), (auth_b, "mail.send"), (auth_b, "mail.read")] {
        let (_, _, r) = s.decide(auth, scope, json!({})).await;
        if scope == "mail.send" {
            sends.push(r["receipt"]["receipt_id"].as_str().unwrap().to_string());
        }
        receipts.push(r["receipt"]["receipt_id"].clone());
    }
    let mut issued = Vec::new();
    for id in &receipts {
        let signed: Value = s.signed(id.as_str().unwrap()).await;
        issued.push(signed["issued_at"].as_str().unwrap().to_string());
    }

    // A check's scope: both agents' sends, newest first, and nothing else.
    let (ids, _) = page(&s, "action=mail.send").await;
    assert_eq!(ids, [sends[1].clone(), sends[0].clone()]);
    // An event receipt's name is its action.
    let (ids, _) = page(&s, "action=authorization.create").await;
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&receipts[0].as_str().unwrap().to_string()));
    // Combined with agent and decision: bot-b's read was not granted.
    let (ids, _) = page(&s, "action=mail.read&agent_id=bot-b&decision=deny").await;
    assert_eq!(ids, [receipts[5].as_str().unwrap()]);
    let (ids, _) = page(&s, "action=mail.read&agent_id=bot-b&decision=allow").await;
    assert!(ids.is_empty(), "{ids:?}");
    let (ids, _) = page(&s, "action=mail.send&user_id=u-1").await;
    assert_eq!(ids, [sends[0].clone()]);
    // An action nobody used matches nothing (no prefix or pattern matching).
    let (ids, _) = page(&s, "action=mail").await;
    assert!(ids.is_empty(), "{ids:?}");

    // Time range: [since, until) over issued_at, with a percent-encoded offset.
    let (ids, _) = page(&s, &format!("since={}", issued[2])).await;
    assert!(ids.len() >= 4 && ids.iter().all(|id| *id != receipts[0].as_str().unwrap()), "{ids:?}");
    let (ids, _) = page(&s, &format!("until={}", issued[2])).await;
    assert!(ids.iter().all(|id| *id != receipts[2].as_str().unwrap()), "{ids:?}");
    let (ids, _) = page(&s, "since=2999-01-01T00:00:00%2B00:00").await;
    assert!(ids.is_empty());

    // The cursor walks a filtered query one receipt at a time, exactly once each.
    assert_eq!(walk(&s, "action=mail.send").await, [sends[1].clone(), sends[0].clone()]);
    let all = walk(&s, "agent_id=bot-a").await;
    assert_eq!(all.len(), 3, "{all:?}");
    s.stop().await;
}

async fn audit_action_backfill_reads_the_payload(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u-1", "agent_id": "bot", "scopes": ["files.read"]})).await;
    let auth = a["authorization_id"].as_str().unwrap();
    let (_, _, r) = s.decide(auth, "files.read", json!({})).await;
    let check = r["receipt"]["receipt_id"].as_str().unwrap().to_string();
    s.signed(&check).await;
    s.signed(a["receipt"]["receipt_id"].as_str().unwrap()).await;

    // Rows as a server before the migration wrote them, then the migration's own backfill statement.
    assert_eq!(db.exec("UPDATE receipts SET action = NULL").await, 2);
    let (ids, _) = page(&s, "action=files.read").await;
    assert!(ids.is_empty());
    let migration = match db.backend {
        common::Backend::Sqlite => include_str!("../migrations/sqlite/0007_audit_action.sql"),
        common::Backend::Postgres => include_str!("../migrations/postgres/0007_audit_action.sql"),
    };
    let backfill = migration.lines().find(|l| l.starts_with("UPDATE receipts")).expect("the backfill statement");
    assert_eq!(db.exec(backfill.trim_end_matches(';')).await, 2);
    let (ids, _) = page(&s, "action=files.read").await;
    assert_eq!(ids, [check]);
    let (ids, _) = page(&s, "action=authorization.create").await;
    assert_eq!(ids, [a["receipt"]["receipt_id"].as_str().unwrap()]);
    s.stop().await;
}
