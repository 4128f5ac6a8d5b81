-- allowly-server schema v3 (postgres): policy editions, authorizations granted from one edition, and escalations.

-- Immutable numbered editions of a logical policy. `definition` is the canonical JSON text whose SHA-256 is
-- `definition_sha256` (computed by allowly-core), so what is served is byte for byte what was hashed.
CREATE TABLE policy_editions (
    workspace_id       TEXT NOT NULL REFERENCES workspaces(id),
    policy_id          TEXT NOT NULL,
    policy_version     BIGINT NOT NULL,
    definition         TEXT NOT NULL,
    definition_sha256  TEXT NOT NULL,
    agent_id           TEXT NOT NULL,
    description        TEXT,
    created_by         TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, policy_id, policy_version)
);

-- Archiving is a property of the logical policy: no new authorization may name any of its editions.
CREATE TABLE policy_archives (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    policy_id     TEXT NOT NULL,
    archived_at   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, policy_id)
);

-- An authorization created from an edition names it; its grants are a names-only subset of the edition's actions.
ALTER TABLE authorizations ADD COLUMN policy_id TEXT;
ALTER TABLE authorizations ADD COLUMN policy_version BIGINT;
ALTER TABLE authorizations ADD COLUMN definition_sha256 TEXT;

-- A check a policy escalated to a named member. Resolving arrives with the approvals work; until then an
-- escalation stays pending until it expires.
CREATE TABLE escalations (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL,
    authorization_id  TEXT NOT NULL REFERENCES authorizations(id),
    action            TEXT NOT NULL,
    resource          TEXT,
    target            TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    check_receipt_id  TEXT NOT NULL
);
CREATE INDEX escalations_auth ON escalations(authorization_id, status);
