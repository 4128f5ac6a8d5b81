-- allowly-server schema v5 (postgres): the resolution webhook (0.8.0's /v1/setup/resolution-webhook) on the same outbox.

-- One resolution endpoint per workspace, kept when disabled so its id and version history survive. The secret is
-- sealed with the master key (AAD = "resolution-webhook:" || workspace_id || ":" || credential_version); every
-- configure or rotate writes a new secret under the next credential_version.
CREATE TABLE resolution_webhooks (
    workspace_id        TEXT PRIMARY KEY REFERENCES workspaces(id),
    endpoint_id         TEXT NOT NULL,
    url                 TEXT NOT NULL,
    enabled             BIGINT NOT NULL,
    credential_version  BIGINT NOT NULL,
    sealed_secret       BYTEA NOT NULL,
    seal_nonce          BYTEA NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

-- Deliveries of both endpoints share one outbox and one delivery task. `channel` says whose endpoint and secret
-- sign a row ('webhook' = PUT /v1/webhook, 'resolution' = the resolution webhook); `credential_version` pins a
-- resolution row to the secret it was queued under (a newer version cancels it); `last_error` is the delivery log's
-- error code of the latest failed attempt.
ALTER TABLE webhook_deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE webhook_deliveries ADD COLUMN credential_version BIGINT;
ALTER TABLE webhook_deliveries ADD COLUMN last_error TEXT;
CREATE INDEX webhook_deliveries_log ON webhook_deliveries(workspace_id, channel, created_at);
