-- allowly-server schema v2 (sqlite): audit filtering by run, and webhooks with a transactional outbox.

-- `context.run_id` of action receipts, copied out so `GET /v1/audit?run_id=` is an indexed lookup.
ALTER TABLE receipts ADD COLUMN run_id TEXT;
CREATE INDEX receipts_ws_run ON receipts(workspace_id, run_id);

-- One endpoint per workspace. The signing secret is sealed with the master key (AAD = "webhook:" || workspace_id).
CREATE TABLE webhooks (
    workspace_id   TEXT PRIMARY KEY REFERENCES workspaces(id),
    url            TEXT NOT NULL,
    sealed_secret  BLOB NOT NULL,
    seal_nonce     BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- The outbox: an event row is inserted in the transaction of the decision it reports, so an event is neither lost
-- nor sent for a decision that rolled back. The delivery task leases due rows by pushing next_attempt_at forward.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_status      INTEGER,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
