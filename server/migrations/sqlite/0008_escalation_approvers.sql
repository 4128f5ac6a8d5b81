-- allowly-server schema v8 (sqlite): approvers (workspace members with credentials of their own) and escalations
-- they resolve, one or two levels, bound to the call that asked.

-- A member of the workspace who may resolve escalations addressed to `member:<member_id>`. The credential
-- (`allowly_mk_…`) is shown once and stored only as its SHA-256; a revoked member is never re-created, so an old
-- escalation cannot be answered by a newcomer who took the same id.
CREATE TABLE members (
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    member_id        TEXT NOT NULL,
    display_name     TEXT,
    credential_hash  TEXT NOT NULL UNIQUE,
    created_at       TEXT NOT NULL,
    revoked_at       TEXT,
    PRIMARY KEY (workspace_id, member_id)
);

-- Scope-based authorizations name the scopes that escalate and to whom (JSON list / object as validated); NULL =
-- none.
ALTER TABLE authorizations ADD COLUMN requires_escalation_for TEXT;
ALTER TABLE authorizations ADD COLUMN escalation_targets TEXT;

-- The asking call, as for confirmations: an answer is used only by a re-check of the same call. NULL = not sent.
ALTER TABLE escalations ADD COLUMN session_id TEXT;
ALTER TABLE escalations ADD COLUMN arguments_sha256 TEXT;
-- `targets` is the JSON list of `member:<id>` per level (NULL for rows from before v8: one level, `target`); `level`
-- is the level waiting now (1-based), `target` its member.
ALTER TABLE escalations ADD COLUMN targets TEXT;
ALTER TABLE escalations ADD COLUMN level INTEGER NOT NULL DEFAULT 1;
ALTER TABLE escalations ADD COLUMN levels INTEGER NOT NULL DEFAULT 1;
-- The final resolution (or the expiry) and the re-check that used it, each set by one conditional update.
ALTER TABLE escalations ADD COLUMN resolved_by TEXT;
ALTER TABLE escalations ADD COLUMN resolved_at TEXT;
ALTER TABLE escalations ADD COLUMN resolve_receipt_id TEXT;
ALTER TABLE escalations ADD COLUMN expire_receipt_id TEXT;
ALTER TABLE escalations ADD COLUMN consumed_receipt_id TEXT;
ALTER TABLE escalations ADD COLUMN consumed_at TEXT;
-- The reason the asking check gave (`scope_requires_escalation` or `policy_requires_escalation`); NULL = the policy.
ALTER TABLE escalations ADD COLUMN reason TEXT;
CREATE INDEX escalations_pending_expiry ON escalations(status, expires_at);

-- One row per resolved level: who resolved it, how, and its escalation.resolve receipt. The primary key is the
-- second guard (after the conditional update of `escalations`) that a level is resolved once.
CREATE TABLE escalation_steps (
    escalation_id  TEXT NOT NULL REFERENCES escalations(id),
    level          INTEGER NOT NULL,
    resolution     TEXT NOT NULL CHECK (resolution IN ('approved', 'rejected')),
    resolved_by    TEXT NOT NULL,
    resolved_at    TEXT NOT NULL,
    receipt_id     TEXT NOT NULL,
    PRIMARY KEY (escalation_id, level)
);
