-- allowly-server schema v6 (sqlite): agent identity (enrolled public keys) and the workspace setting that requires tokens.

-- One row per registered agent key. Only the public key is ever stored: the private key is generated and kept on the
-- agent's machine. A revoked key stays (revoked_at set) so its tokens keep failing as unverifiable.
CREATE TABLE agent_keys (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    agent_id      TEXT NOT NULL,
    binding_id    TEXT NOT NULL,
    public_key_x  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX agent_keys_ws_agent ON agent_keys(workspace_id, agent_id);

-- 1: every check must carry a verified agent token.
ALTER TABLE workspaces ADD COLUMN require_agent_tokens INTEGER NOT NULL DEFAULT 0;
