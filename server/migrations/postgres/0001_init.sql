-- allowly-server schema v1 (PostgreSQL; the same shape as the SQLite schema). Times are TEXT in the exact
-- YYYY-MM-DDTHH:MM:SS.sssZ profile, so string order is time order. JSON columns hold serde_json text. Integers are
-- BIGINT and blobs BYTEA: sqlx's Any driver, which runs the same queries on both backends, decodes those as i64 / bytes.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Ed25519 keys; the private key is sealed with the master key (XChaCha20-Poly1305, AAD = key_id).
CREATE TABLE signing_keys (
    key_id          TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    public_key      BYTEA NOT NULL,
    sealed_private  BYTEA NOT NULL,
    seal_nonce      BYTEA NOT NULL,
    active_from     TEXT NOT NULL,
    active_until    TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX signing_keys_ws ON signing_keys(workspace_id, active_from);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    tier          TEXT NOT NULL CHECK (tier IN ('runtime', 'setup')),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
);

CREATE TABLE authorizations (
    id                      TEXT PRIMARY KEY,
    workspace_id            TEXT NOT NULL REFERENCES workspaces(id),
    user_id                 TEXT NOT NULL,
    agent_id                TEXT NOT NULL,
    scope_field             TEXT NOT NULL CHECK (scope_field IN ('scopes', 'actions')),
    scopes                  TEXT NOT NULL,
    requires_confirm_for    TEXT NOT NULL,
    requires_deny_for       TEXT NOT NULL,
    metadata                TEXT NOT NULL,
    budget_limit_micros     BIGINT,
    budget_spent_micros     BIGINT NOT NULL DEFAULT 0,
    budget_reserved_micros  BIGINT NOT NULL DEFAULT 0,
    status                  TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created_at              TEXT NOT NULL,
    expires_at              TEXT NOT NULL,
    revoked_at              TEXT,
    replaced_authorization_id TEXT,
    create_receipt_id       TEXT NOT NULL,
    revocation_receipt_id   TEXT,
    -- The first revoke response, replayed by later revokes (revoking twice returns the first result).
    revoke_response         TEXT
);
CREATE INDEX authorizations_ws ON authorizations(workspace_id, created_at);

CREATE TABLE confirmations (
    id                  TEXT PRIMARY KEY,
    workspace_id        TEXT NOT NULL,
    authorization_id    TEXT NOT NULL REFERENCES authorizations(id),
    nonce_hash          TEXT NOT NULL UNIQUE,
    scope               TEXT NOT NULL,
    resource            TEXT,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied_by_user', 'expired', 'consumed')),
    created_at          TEXT NOT NULL,
    nonce_expires_at    TEXT NOT NULL,
    decided_at          TEXT,
    ttl_seconds         BIGINT,
    decision_expires_at TEXT,
    check_receipt_id    TEXT NOT NULL,
    resolve_receipt_id  TEXT,
    consumed_receipt_id TEXT
);
CREATE INDEX confirmations_match ON confirmations(authorization_id, scope, status);

CREATE TABLE daily_counts (
    authorization_id  TEXT NOT NULL,
    scope             TEXT NOT NULL,
    day               TEXT NOT NULL,
    count             BIGINT NOT NULL,
    PRIMARY KEY (authorization_id, scope, day)
);

-- One row per allowed budgeted check: what was reserved, and its settlement.
CREATE TABLE budget_reservations (
    check_receipt_id      TEXT PRIMARY KEY,
    authorization_id      TEXT NOT NULL,
    resource              TEXT,
    estimated_cost_micros BIGINT NOT NULL,
    actual_cost_micros    BIGINT,
    settled_at            TEXT,
    settle_receipt_id     TEXT
);

CREATE TABLE idempotency (
    workspace_id  TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        BIGINT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, key)
);

-- The durable signing queue: rows are inserted pending in the decision's transaction and signed by the signer task.
CREATE TABLE receipts (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'signed')),
    issued_at         TEXT NOT NULL,
    authorization_id  TEXT,
    user_id           TEXT NOT NULL,
    agent_id          TEXT NOT NULL,
    decision          TEXT NOT NULL,
    payload           TEXT NOT NULL,
    signed            TEXT,
    created_at        TEXT NOT NULL,
    signed_at         TEXT
);
CREATE INDEX receipts_pending ON receipts(status, created_at);
CREATE INDEX receipts_ws_issued ON receipts(workspace_id, issued_at);
