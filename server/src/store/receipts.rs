//! The receipts table: the durable signing queue and the source of receipt envelopes.
//!
//! A receipt row is inserted in the same transaction as the decision or event it records, with its full payload
//! except `alg`, `key_id` and `signature`: `pending`, for the signer to add them, or — a SQLite check's receipts —
//! already `signed` (see `routes::check`). So a receipt id returned to a client is never lost: if the process dies
//! before signing, the row is still pending on restart and gets signed then.

use allowly_core::model::Reason;
use serde_json::{Map, Value, json};
use sqlx::{Any, AnyConnection, Row as _};

use super::policies::EditionRef;
use super::writer::insert_rows;
use super::{Dialect, Insert, Tx, Val, Writer};
use crate::util;
use crate::wire::{PolicyEvalBody, ReceiptEnvelope};

/// Receipt format wire version of receipts about scope-based authorizations (and unknown ones).
pub const SCHEMA_VERSION: &str = "4";
/// Receipt format wire version of receipts about authorizations granted from a policy edition: the signer turns
/// these into the flattened JWS (`protected`, `payload`, `signature`).
pub const SCHEMA_VERSION_JWS: &str = "5";

/// Everything a receipt says, before signing.
#[derive(Debug, Clone)]
pub struct Draft {
    pub receipt_id: String,
    pub workspace_id: String,
    pub issued_at: String,
    pub user_id: String,
    pub agent_id: String,
    /// What the receipt records; its decision and reason follow from it.
    pub kind: Kind,
    pub resource: Option<String>,
    pub context: Map<String, Value>,
    pub authorization_id: Option<String>,
    pub engine_version: String,
    pub policy_eval: Option<PolicyEvalBody>,
    /// The edition of a policy-granted authorization: the receipt is wire 5 and carries it as `policy_ref`.
    pub policy_ref: Option<EditionRef>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    /// A check's decision on one scope; the decision is the reason's own.
    Action {
        scope: String,
        reason: Reason,
    },
    Event(Event),
}

/// The event receipts this server issues. The receipt format pairs each event with its decisions (core's verifier
/// refuses any other pairing), so the event, decision and reason of each are declared here once, together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    AuthorizationCreated,
    AuthorizationRevoked,
    BudgetSettled,
    ConfirmationApproved,
    ConfirmationRejected,
    /// A pending confirmation nobody answered in time. The receipt format has no event of its own for it (the
    /// official verifiers refuse unknown events), so it is the resolution the timeout made: rejected, with its own
    /// reason.
    ConfirmationExpired,
    /// One level of an escalation approved by its member (a further level may still wait).
    EscalationApproved,
    /// One level of an escalation rejected by its member: the escalation ends.
    EscalationRejected,
    /// A pending escalation nobody resolved in time: the resolution the timeout made, like a confirmation's expiry.
    EscalationExpired,
}

/// The reason of an escalation's expiry receipt: the same word the 410 of a late resolve carries.
pub const ESCALATION_EXPIRED_REASON: &str = "escalation_expired";

/// The reason of a confirmation's expiry receipt: the same word the 410 of a late answer carries.
pub const EXPIRED_REASON: &str = "confirmation_expired";

impl Event {
    /// The receipt's `event`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::AuthorizationCreated => "authorization.create",
            Self::AuthorizationRevoked => "authorization.revoke",
            Self::BudgetSettled => "budget.settle",
            Self::ConfirmationApproved | Self::ConfirmationRejected | Self::ConfirmationExpired => {
                "confirmation.resolve"
            }
            Self::EscalationApproved | Self::EscalationRejected | Self::EscalationExpired => "escalation.resolve",
        }
    }

    pub const fn decision(self) -> &'static str {
        match self {
            Self::AuthorizationCreated => "authorization_granted",
            Self::AuthorizationRevoked => "authorization_revoked",
            Self::BudgetSettled => "budget_settled",
            Self::ConfirmationApproved => "confirmation_approved",
            Self::ConfirmationRejected | Self::ConfirmationExpired => "confirmation_rejected",
            // The receipt format pairs `escalation.resolve` with these two decisions only (core's verifier refuses
            // `allow` / `deny` on an event receipt).
            Self::EscalationApproved => "escalation_approved",
            Self::EscalationRejected | Self::EscalationExpired => "escalation_rejected",
        }
    }

    pub const fn reason(self) -> &'static str {
        match self {
            Self::AuthorizationCreated => "authorization_creation_reported_by_client",
            Self::AuthorizationRevoked => "authorization_revocation_reported_by_client",
            Self::BudgetSettled => "budget_settlement_reported_by_client",
            Self::ConfirmationApproved => "user_approved",
            // The same word a later check's deny gives (`user_rejected`), spelled once.
            Self::ConfirmationRejected => Reason::UserRejected.as_str(),
            Self::ConfirmationExpired => EXPIRED_REASON,
            Self::EscalationApproved => "escalation_approved",
            Self::EscalationRejected => "escalation_rejected",
            Self::EscalationExpired => ESCALATION_EXPIRED_REASON,
        }
    }
}

impl Draft {
    /// The receipt's `decision` (also a column, for the audit filters).
    pub fn decision(&self) -> &'static str {
        match &self.kind {
            Kind::Action { reason, .. } => reason.decision().as_str(),
            Kind::Event(e) => e.decision(),
        }
    }

    pub fn reason(&self) -> &'static str {
        match &self.kind {
            Kind::Action { reason, .. } => reason.as_str(),
            Kind::Event(e) => e.reason(),
        }
    }

    /// What `GET /v1/audit?action=` matches: the scope a check decided, or the event's name.
    pub fn audit_action(&self) -> &str {
        match &self.kind {
            Kind::Action { scope, .. } => scope,
            Kind::Event(e) => e.name(),
        }
    }

    /// The payload: wire 4 without `alg`, `key_id` and `signature` (the signer adds them), or the complete wire-5
    /// JWS payload with `policy_ref` (the signer wraps it).
    pub fn payload(&self) -> Value {
        let version = if self.policy_ref.is_some() { SCHEMA_VERSION_JWS } else { SCHEMA_VERSION };
        let mut p = json!({
            "schema_version": version,
            "receipt_id": self.receipt_id,
            "workspace_id": self.workspace_id,
            "issued_at": self.issued_at,
            "decision": self.decision(),
            "reason": self.reason(),
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "resource": self.resource,
            "context": Value::Object(self.context.clone()),
            "authorization_id": self.authorization_id,
            "engine_version": self.engine_version,
        });
        if let Value::Object(m) = &mut p {
            if let Some(r) = &self.policy_ref {
                m.insert("policy_ref".into(), serde_json::to_value(r).unwrap_or_default());
            }
            match &self.kind {
                Kind::Action { scope, .. } => {
                    m.insert("action".into(), json!(scope));
                    if let Some(pe) = &self.policy_eval {
                        m.insert("policy_eval".into(), serde_json::to_value(pe).unwrap_or_default());
                    }
                }
                Kind::Event(e) => {
                    m.insert("event".into(), json!(e.name()));
                }
            }
        }
        p
    }
}

/// The receipts table as a check's deferred rows fill it ([`defer`]); [`insert`] writes the same columns at once.
static RECEIPT_ROW: Insert = Insert {
    table: "receipts",
    columns: &[
        "id",
        "workspace_id",
        "status",
        "issued_at",
        "authorization_id",
        "user_id",
        "agent_id",
        "decision",
        "payload",
        "created_at",
        "run_id",
        "action",
        "signed",
        "signed_at",
    ],
};

/// Inserts a pending receipt row in the caller's transaction.
pub async fn insert(tx: &mut Tx, d: &Draft) -> Result<(), sqlx::Error> {
    // The same columns and binding as a deferred row, as a one-row insert.
    insert_rows(tx, &RECEIPT_ROW, std::iter::once(row_values(d, &d.payload(), None))).await
}

/// A check's receipt, inserted with the rest of its batch just before the commit (no decision reads receipts):
/// `payload` is `d.payload()`, and `signed` its signed text when the check signed it (else the row is pending).
pub fn defer(w: &mut Writer, d: &Draft, payload: &Value, signed: Option<String>) {
    w.defer(&RECEIPT_ROW, row_values(d, payload, signed));
}

fn row_values(d: &Draft, payload: &Value, signed: Option<String>) -> Vec<Val> {
    let now = util::fmt_ts(util::now());
    vec![
        Val::Text(d.receipt_id.clone()),
        Val::Text(d.workspace_id.clone()),
        Val::Text(if signed.is_some() { "signed" } else { "pending" }.into()),
        Val::Text(d.issued_at.clone()),
        Val::OptText(d.authorization_id.clone()),
        Val::Text(d.user_id.clone()),
        Val::Text(d.agent_id.clone()),
        Val::Text(d.decision().into()),
        Val::Text(payload.to_string()),
        Val::Text(now.clone()),
        Val::OptText(d.context.get("run_id").and_then(Value::as_str).map(str::to_string)),
        Val::Text(d.audit_action().into()),
        Val::OptText(signed.clone()),
        Val::OptText(signed.map(|_| now)),
    ]
}

/// The pending envelope returned with every decision and event.
pub fn pending_envelope(receipt_id: &str) -> ReceiptEnvelope {
    ReceiptEnvelope::pending(receipt_id)
}

/// A receipt's current state as the API shows it.
pub enum Lookup {
    NotFound,
    Pending,
    Signed(Value),
}

impl Lookup {
    pub fn envelope(&self, receipt_id: &str) -> Option<ReceiptEnvelope> {
        match self {
            Lookup::NotFound => None,
            Lookup::Pending => Some(pending_envelope(receipt_id)),
            Lookup::Signed(r) => Some(ReceiptEnvelope::signed(r.clone())),
        }
    }
}

/// Reads a receipt of `workspace_id` (another workspace's receipt is "not found").
pub async fn get<'e>(
    db: impl sqlx::Executor<'e, Database = Any>,
    workspace_id: &str,
    receipt_id: &str,
) -> Result<Lookup, sqlx::Error> {
    let row = sqlx::query("SELECT status, signed FROM receipts WHERE id = $1 AND workspace_id = $2")
        .bind(receipt_id)
        .bind(workspace_id)
        .fetch_optional(db)
        .await?;
    let Some(row) = row else { return Ok(Lookup::NotFound) };
    let status: String = row.try_get("status")?;
    let signed: Option<String> = row.try_get("signed")?;
    match (status.as_str(), signed) {
        ("signed", Some(s)) => match serde_json::from_str(&s) {
            Ok(v) => Ok(Lookup::Signed(v)),
            Err(e) => Err(sqlx::Error::Decode(Box::new(e))),
        },
        _ => Ok(Lookup::Pending),
    }
}

/// One pending row for the signer.
pub struct PendingRow {
    pub id: String,
    pub workspace_id: String,
    pub issued_at: String,
    pub payload: String,
}

/// The oldest pending rows, up to `limit`.
///
/// On PostgreSQL this is a claim, run in the transaction that will mark the rows signed: `FOR UPDATE SKIP LOCKED`
/// keeps them locked until that commit and makes every other process's signer skip them instead of waiting, so
/// signers sharing a database take disjoint batches and each receipt is signed once. On SQLite there is one writer
/// at a time anyway, and [`mark_signed_batch`] is conditional.
pub async fn pending_batch(conn: &mut AnyConnection, limit: i64) -> Result<Vec<PendingRow>, sqlx::Error> {
    let claim = match Dialect::of(conn) {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "SELECT id, workspace_id, issued_at, payload FROM receipts WHERE status = 'pending' \
         ORDER BY created_at, id LIMIT $1{claim}"
    );
    let rows = sqlx::query(&sql).bind(limit).fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(PendingRow {
                id: r.try_get("id")?,
                workspace_id: r.try_get("workspace_id")?,
                issued_at: r.try_get("issued_at")?,
                payload: r.try_get("payload")?,
            })
        })
        .collect()
}

/// Marks a batch of rows signed in one statement and returns how many were still pending (the others were signed by
/// another signer first and keep their text).
///
/// One statement instead of one per row: on SQLite every statement is a round trip to the connection's worker thread
/// while the signer holds the only write connection, so per-row updates made checks queue behind the signer.
pub async fn mark_signed_batch(tx: &mut Tx, rows: &[(String, String)]) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut case = String::with_capacity(rows.len() * 24);
    let mut ids = String::with_capacity(rows.len() * 6);
    for i in 0..rows.len() {
        let (id, text) = (2 * i + 1, 2 * i + 2);
        case.push_str(&format!(" WHEN ${id} THEN ${text}"));
        ids.push_str(&format!("{}${id}", if i == 0 { "" } else { ", " }));
    }
    let sql = format!(
        "UPDATE receipts SET status = 'signed', signed = CASE id{case} END, signed_at = ${} \
         WHERE status = 'pending' AND id IN ({ids})",
        2 * rows.len() + 1
    );
    let mut q = sqlx::query(&sql);
    for (id, text) in rows {
        q = q.bind(id).bind(text);
    }
    let r = q.bind(util::fmt_ts(util::now())).execute(&mut **tx).await?;
    Ok(r.rows_affected())
}

pub async fn count_pending(pool: &sqlx::AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM receipts WHERE status = 'pending'").fetch_one(pool).await
}
