//! Authorization rows, their per-day allow counters and budget counters.

use std::sync::Arc;

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::decision_cache::{self, Scope};
use super::policies::EditionRef;
use super::{Dialect, Tx, Writer};
use crate::policy::{AuthState, Budget, Grant, parse_grants};

/// One authorization as stored.
#[derive(Debug, Clone, Default)]
pub struct AuthRow {
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub agent_id: String,
    /// `scopes` or `actions`: the name the creating request used, echoed in responses.
    pub scope_field: String,
    /// The scope list exactly as validated from the request.
    pub scopes: Value,
    pub grants: Vec<Grant>,
    pub requires_confirm_for: Vec<String>,
    pub requires_deny_for: Vec<String>,
    pub metadata: Value,
    pub budget_limit: Option<i64>,
    pub budget_spent: i64,
    pub budget_reserved: i64,
    pub revoked: bool,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub replaced_authorization_id: Option<String>,
    pub create_receipt_id: String,
    pub revocation_receipt_id: Option<String>,
    pub revoke_response: Option<String>,
    /// The policy edition an authorization created from `policy_id` + `policy_version` was granted from; its
    /// receipts are wire 5 and its checks are evaluated by that edition.
    pub policy: Option<EditionRef>,
    /// How long its confirmations wait for an answer (seconds as requested; clamped when a confirmation opens).
    pub confirmation_timeout: Option<i64>,
    /// Scopes whose checks escalate to the members of `escalation_targets` (scope-based authorizations only).
    pub requires_escalation_for: Vec<String>,
    /// `{scope: "member:<id>" | ["member:<l1>", "member:<l2>"]}` as validated from the request.
    pub escalation_targets: serde_json::Map<String, Value>,
}

impl AuthRow {
    /// `active|revoked|expired` at `now` (an exact-profile timestamp).
    pub fn state(&self, now: &str) -> AuthState {
        if self.revoked {
            AuthState::Revoked
        } else if self.expires_at.as_str() <= now {
            AuthState::Expired
        } else {
            AuthState::Active
        }
    }

    /// The members a check of `scope` escalates to, level 1 first; `None` when the scope does not escalate.
    pub fn escalation_targets_for(&self, scope: &str) -> Option<Vec<String>> {
        if !self.requires_escalation_for.iter().any(|s| s == scope) {
            return None;
        }
        match self.escalation_targets.get(scope)? {
            Value::String(t) => Some(vec![t.clone()]),
            Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).map(str::to_owned).collect()),
            _ => None,
        }
    }

    pub fn budget(&self) -> Option<Budget> {
        self.budget_limit.map(|limit| Budget { limit, spent: self.budget_spent, reserved: self.budget_reserved })
    }

    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let json = |col: &str| -> Result<Value, sqlx::Error> {
            let s: String = r.try_get(col)?;
            serde_json::from_str(&s).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        };
        let list = |col: &str| -> Result<Vec<String>, sqlx::Error> {
            serde_json::from_value(json(col)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        };
        let scopes = json("scopes")?;
        let grants =
            parse_grants(&scopes, "scopes").map_err(|_| sqlx::Error::Decode("stored scopes no longer parse".into()))?;
        let status: String = r.try_get("status")?;
        let policy_id: Option<String> = r.try_get("policy_id")?;
        let policy = match policy_id {
            Some(policy_id) => Some(EditionRef {
                definition_sha256: r.try_get::<Option<String>, _>("definition_sha256")?.unwrap_or_default(),
                policy_id,
                policy_version: r.try_get::<Option<i64>, _>("policy_version")?.unwrap_or_default(),
            }),
            None => None,
        };
        Ok(Self {
            id: r.try_get("id")?,
            workspace_id: r.try_get("workspace_id")?,
            user_id: r.try_get("user_id")?,
            agent_id: r.try_get("agent_id")?,
            scope_field: r.try_get("scope_field")?,
            scopes,
            grants,
            requires_confirm_for: list("requires_confirm_for")?,
            requires_deny_for: list("requires_deny_for")?,
            metadata: json("metadata")?,
            budget_limit: r.try_get("budget_limit_micros")?,
            budget_spent: r.try_get("budget_spent_micros")?,
            budget_reserved: r.try_get("budget_reserved_micros")?,
            revoked: status == "revoked",
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            revoked_at: r.try_get("revoked_at")?,
            replaced_authorization_id: r.try_get("replaced_authorization_id")?,
            create_receipt_id: r.try_get("create_receipt_id")?,
            revocation_receipt_id: r.try_get("revocation_receipt_id")?,
            revoke_response: r.try_get("revoke_response")?,
            policy,
            confirmation_timeout: r.try_get("confirmation_timeout_seconds")?,
            requires_escalation_for: match r.try_get::<Option<String>, _>("requires_escalation_for")? {
                Some(_) => list("requires_escalation_for")?,
                None => Vec::new(),
            },
            escalation_targets: match r.try_get::<Option<String>, _>("escalation_targets")? {
                Some(_) => match json("escalation_targets")? {
                    Value::Object(m) => m,
                    _ => return Err(sqlx::Error::Decode("stored escalation_targets is not an object".into())),
                },
                None => serde_json::Map::new(),
            },
        })
    }
}

/// Reads an authorization of `workspace_id` (another workspace's id is "not found").
pub async fn get(conn: &mut AnyConnection, workspace_id: &str, id: &str) -> Result<Option<AuthRow>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM authorizations WHERE id = $1 AND workspace_id = $2")
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(AuthRow::from_row).transpose()
}

/// Like [`get`], as the first read of a decision about this authorization: on PostgreSQL the row stays locked until
/// the transaction ends, so concurrent decisions on it (checks, settlements, revokes) run one after another and
/// each sees the counters the previous one committed. Other authorizations are not blocked.
pub async fn get_locked(tx: &mut Tx, workspace_id: &str, id: &str) -> Result<Option<AuthRow>, sqlx::Error> {
    let sql =
        format!("SELECT * FROM authorizations WHERE id = $1 AND workspace_id = $2{}", Dialect::of(tx).for_update());
    let row = sqlx::query(&sql).bind(id).bind(workspace_id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(AuthRow::from_row).transpose()
}

/// [`get_locked`] for a check in the group commit: on SQLite the row comes from the store's decision cache when it
/// holds it (exact there: see `decision_cache`), else it is read and kept. `cache` is `None` on PostgreSQL.
pub async fn get_for_decision(
    w: &mut Writer,
    cache: Option<&Scope>,
    workspace_id: &str,
    id: &str,
) -> Result<Option<Arc<AuthRow>>, sqlx::Error> {
    let Some(cache) = cache else { return Ok(get_locked(w.tx().await?, workspace_id, id).await?.map(Arc::new)) };
    if let Some(row) = cache.authorization(workspace_id, id) {
        return Ok(Some(row));
    }
    let mark = cache.mark();
    let row = get_locked(w.tx().await?, workspace_id, id).await?.map(Arc::new);
    if let Some(row) = &row {
        cache.remember_authorization(mark, row.clone());
    }
    Ok(row)
}

pub async fn insert(tx: &mut Tx, a: &AuthRow) -> Result<(), sqlx::Error> {
    decision_cache::forget_authorization(&a.id);
    sqlx::query(
        "INSERT INTO authorizations (id, workspace_id, user_id, agent_id, scope_field, scopes, requires_confirm_for, \
         requires_deny_for, metadata, budget_limit_micros, status, created_at, expires_at, \
         replaced_authorization_id, create_receipt_id, policy_id, policy_version, definition_sha256, \
         confirmation_timeout_seconds, requires_escalation_for, escalation_targets) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(&a.id)
    .bind(&a.workspace_id)
    .bind(&a.user_id)
    .bind(&a.agent_id)
    .bind(&a.scope_field)
    .bind(a.scopes.to_string())
    .bind(serde_json::to_string(&a.requires_confirm_for).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(&a.requires_deny_for).unwrap_or_else(|_| "[]".into()))
    .bind(a.metadata.to_string())
    .bind(a.budget_limit)
    .bind(&a.created_at)
    .bind(&a.expires_at)
    .bind(&a.replaced_authorization_id)
    .bind(&a.create_receipt_id)
    .bind(a.policy.as_ref().map(|p| p.policy_id.clone()))
    .bind(a.policy.as_ref().map(|p| p.policy_version))
    .bind(a.policy.as_ref().map(|p| p.definition_sha256.clone()))
    .bind(a.confirmation_timeout)
    // NULL when nothing escalates, so rows of authorizations without escalations look as they did before v8.
    .bind((!a.requires_escalation_for.is_empty()).then(|| Value::from(a.requires_escalation_for.clone()).to_string()))
    .bind((!a.escalation_targets.is_empty()).then(|| Value::Object(a.escalation_targets.clone()).to_string()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks revoked and stores the response later revokes replay.
pub async fn mark_revoked(
    tx: &mut Tx,
    id: &str,
    revoked_at: &str,
    receipt_id: &str,
    response: &str,
) -> Result<(), sqlx::Error> {
    decision_cache::forget_authorization(id);
    sqlx::query(
        "UPDATE authorizations SET status = 'revoked', revoked_at = $1, revocation_receipt_id = $2, \
         revoke_response = $3 WHERE id = $4 AND status = 'active'",
    )
    .bind(revoked_at)
    .bind(receipt_id)
    .bind(response)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Allows recorded for (authorization, scope) on the UTC day.
pub async fn today_count(tx: &mut Tx, auth_id: &str, scope: &str, day: &str) -> Result<i64, sqlx::Error> {
    let n: Option<i64> =
        sqlx::query_scalar("SELECT count FROM daily_counts WHERE authorization_id = $1 AND scope = $2 AND day = $3")
            .bind(auth_id)
            .bind(scope)
            .bind(day)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(n.unwrap_or(0))
}

pub async fn bump_count(tx: &mut Tx, auth_id: &str, scope: &str, day: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO daily_counts (authorization_id, scope, day, count) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (authorization_id, scope, day) DO UPDATE SET count = daily_counts.count + 1",
    )
    .bind(auth_id)
    .bind(scope)
    .bind(day)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Reserves an allowed check's estimate and records the reservation for settlement.
pub async fn reserve(
    tx: &mut Tx,
    auth_id: &str,
    check_receipt_id: &str,
    resource: Option<&str>,
    estimate: i64,
) -> Result<(), sqlx::Error> {
    decision_cache::forget_authorization(auth_id);
    sqlx::query("UPDATE authorizations SET budget_reserved_micros = budget_reserved_micros + $1 WHERE id = $2")
        .bind(estimate)
        .bind(auth_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO budget_reservations (check_receipt_id, authorization_id, resource, estimated_cost_micros) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(check_receipt_id)
    .bind(auth_id)
    .bind(resource)
    .bind(estimate)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A reservation as stored.
pub struct Reservation {
    pub authorization_id: String,
    pub resource: Option<String>,
    pub estimated: i64,
    pub settled: bool,
}

/// The reservation of a check, locked for the settlement transaction (on PostgreSQL a concurrent settlement of the
/// same check waits here and then sees it settled).
pub async fn reservation(tx: &mut Tx, check_receipt_id: &str) -> Result<Option<Reservation>, sqlx::Error> {
    let sql = format!(
        "SELECT authorization_id, resource, estimated_cost_micros, settled_at FROM budget_reservations \
         WHERE check_receipt_id = $1{}",
        Dialect::of(tx).for_update()
    );
    let row = sqlx::query(&sql).bind(check_receipt_id).fetch_optional(&mut **tx).await?;
    row.map(|r| {
        Ok(Reservation {
            authorization_id: r.try_get("authorization_id")?,
            resource: r.try_get("resource")?,
            estimated: r.try_get("estimated_cost_micros")?,
            settled: r.try_get::<Option<String>, _>("settled_at")?.is_some(),
        })
    })
    .transpose()
}

/// Moves a reservation into spent at its actual cost.
pub async fn settle(
    tx: &mut Tx,
    check_receipt_id: &str,
    r: &Reservation,
    actual: i64,
    now: &str,
    settle_receipt_id: &str,
) -> Result<(), sqlx::Error> {
    decision_cache::forget_authorization(&r.authorization_id);
    sqlx::query(
        "UPDATE authorizations SET budget_reserved_micros = budget_reserved_micros - $1, \
         budget_spent_micros = budget_spent_micros + $2 WHERE id = $3",
    )
    .bind(r.estimated)
    .bind(actual)
    .bind(&r.authorization_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE budget_reservations SET actual_cost_micros = $1, settled_at = $2, settle_receipt_id = $3 \
         WHERE check_receipt_id = $4",
    )
    .bind(actual)
    .bind(now)
    .bind(settle_receipt_id)
    .bind(check_receipt_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
