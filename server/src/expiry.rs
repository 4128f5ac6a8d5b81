//! Confirmations nobody answered, and escalations nobody resolved, in time: each is marked expired and receipted
//! exactly once (escalations through [`crate::escalation::expire`], by the same two paths).
//!
//! Expiry is detected two ways, so neither a quiet server nor a busy one leaves it unrecorded: lazily, by whatever
//! touches a pending row past its time (a late answer, a status read, a check), and by a background sweep. Both go
//! through [`expire`], whose conditional update lets exactly one of them write the receipt and queue the generic
//! webhook's `confirmation.expired` event (picked up by the delivery task's next poll).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::decide;
use crate::signer::SignerHandle;
use crate::store::authorizations as auth_db;
use crate::store::confirmations::{self as db, ConfRow};
use crate::store::escalations;
use crate::store::receipts::{self, Event};
use crate::store::{Store, Tx, webhooks};
use crate::util;

/// Rows one sweep expires at most; the next tick takes the rest.
const SWEEP_BATCH: i64 = 100;

/// Expires `row` if it is still pending and its time ran out at `now`, writing its `confirmation.resolve` receipt
/// (decision `confirmation_rejected`, reason `confirmation_expired`) in `tx`. Returns the receipt id for the one
/// caller that expired it, `None` for every other (already answered, already expired, not due yet).
pub async fn expire(tx: &mut Tx, row: &ConfRow, now: &str) -> Result<Option<String>, sqlx::Error> {
    if row.status != allowly_core::model::ConfirmationStatus::Pending || row.nonce_expires_at.as_str() > now {
        return Ok(None);
    }
    let receipt_id = util::new_id("rcp");
    if !db::mark_expired(tx, &row.id, now, &receipt_id).await? {
        return Ok(None);
    }
    let Some(auth) = auth_db::get(tx, &row.workspace_id, &row.authorization_id).await? else {
        return Err(sqlx::Error::RowNotFound);
    };
    let draft = decide::confirmation_receipt(
        receipt_id.clone(),
        row,
        &auth,
        now,
        Event::ConfirmationExpired,
        [("confirm_expires_at", json!(row.nonce_expires_at))],
    );
    receipts::insert(tx, &draft).await?;
    let event = crate::wire::ConfirmationExpired {
        agent_id: auth.agent_id.clone(),
        authorization_id: auth.id.clone(),
        check_receipt_id: row.check_receipt_id.clone(),
        confirm_expires_at: row.nonce_expires_at.clone(),
        confirmation_id: row.id.clone(),
        reason: receipts::EXPIRED_REASON,
        receipt_id: receipt_id.clone(),
        scope: row.scope.clone(),
        user_id: auth.user_id.clone(),
    };
    webhooks::enqueue(tx, &row.workspace_id, webhooks::CONFIRMATION_EXPIRED, event).await?;
    Ok(Some(receipt_id))
}

/// Expires every due confirmation and escalation (up to one batch of each) in one transaction; returns how many
/// this call receipted.
pub async fn sweep_once(store: &Store) -> Result<usize, sqlx::Error> {
    let now = util::fmt_ts(util::now());
    // The reads run on the reader pool, so a quiet tick never queues for SQLite's one write connection.
    let (due, due_escalations) = {
        let mut conn = store.reader().acquire().await?;
        let due = db::due_for_expiry(&mut conn, &now, SWEEP_BATCH).await?;
        (due, escalations::due_for_expiry(&mut conn, &now, SWEEP_BATCH).await?)
    };
    if due.is_empty() && due_escalations.is_empty() {
        return Ok(0);
    }
    let mut tx = store.begin().await?;
    let mut expired = 0;
    for row in &due {
        expired += usize::from(expire(&mut tx, row, &now).await?.is_some());
    }
    for row in &due_escalations {
        expired += usize::from(crate::escalation::expire(&mut tx, row, &now).await?.is_some());
    }
    tx.commit().await?;
    Ok(expired)
}

/// The background sweep: every `every`, until shutdown.
pub fn spawn(store: Store, signer: Arc<SignerHandle>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
            match sweep_once(&store).await {
                Ok(0) => {}
                Ok(_) => signer.kick(),
                Err(e) => tracing::error!(error = %e, "confirmation expiry sweep failed"),
            }
        }
    });
}
