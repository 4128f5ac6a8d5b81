//! The demo policy edition `allowly serve --dev` publishes, so the official 0.8.0 SDK (which creates authorizations
//! from an edition only) works against a fresh dev server with no setup step. The ready file names it as
//! `"policy": {"policy_id", "policy_version"}`.
//!
//! It grants the walkthrough's email actions to its agent: reading is allowed, sending asks the agent's owner, and
//! sending to more than 50 recipients goes to a named member.

use allowly_core::policy;
use allowly_core::receipt::{canonical, json::Value as CanonValue};
use serde_json::{Value, json};

use crate::store::policies::{self as editions, EditionRef, EditionRow};
use crate::store::{Store, StoreError};
use crate::util;

pub const POLICY_ID: &str = "walkthrough";

pub fn definition() -> Value {
    json!({
        "profile": "allowly.policy.v1",
        "agent_id": "my-email-agent",
        "default_expiry_days": 90,
        "actions": [
            {"policy": {"profile": "allowly.basic.v1", "action": "email.read", "decision": "allow", "target": null,
                        "fields": {}, "rules": []},
             "guards": {}, "executable_operations": []},
            {"policy": {"profile": "allowly.basic.v1", "action": "email.send", "decision": "confirm",
                        "target": "agent_owner", "fields": {"recipient_count": "integer"},
                        "rules": [{"id": "bulk-send", "decision": "escalate", "target": "member:compliance",
                                   "conditions": [{"field": "recipient_count", "op": "gt", "value": 50}]}]},
             "guards": {}, "executable_operations": []}
        ]
    })
}

/// The newest edition of the demo policy, publishing edition 1 on first start (a restart reuses it).
pub async fn ensure(store: &Store, workspace_id: &str) -> Result<EditionRef, StoreError> {
    let mut tx = store.begin().await?;
    if let Some(row) = editions::latest(&mut tx, workspace_id, POLICY_ID).await? {
        tx.rollback().await?;
        return Ok(row.reference);
    }
    let def = policy::validate_definition(&definition()).expect("the demo definition is valid");
    let bytes = canonical::canonicalize(&CanonValue::from(def.as_json())).expect("the demo definition is canonical");
    let row = EditionRow {
        reference: EditionRef { definition_sha256: def.sha256(), policy_id: POLICY_ID.to_owned(), policy_version: 1 },
        definition: String::from_utf8(bytes).expect("canonical JSON is UTF-8"),
        agent_id: def.agent_id().to_owned(),
        description: Some("Demo edition of allowly serve --dev: the walkthrough's email actions".to_owned()),
        created_by: "allowly serve --dev".to_owned(),
        created_at: util::fmt_ts(util::now()),
        archived_at: None,
        confirmation_timeout: None,
    };
    editions::insert(&mut tx, workspace_id, &row).await?;
    tx.commit().await?;
    Ok(row.reference)
}
