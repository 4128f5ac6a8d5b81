-- allowly-server schema v4 (postgres): confirmations bound to the call that asked, and confirmation timeouts.

-- What else the asking check carried: an approval (or rejection) answers only a re-check with the same session and
-- arguments digest. NULL = the asking check sent none.
ALTER TABLE confirmations ADD COLUMN session_id TEXT;
ALTER TABLE confirmations ADD COLUMN arguments_sha256 TEXT;
-- The confirmation.resolve receipt (reason confirmation_expired) of a pending confirmation nobody answered in time;
-- set by the one conditional update that marks it expired, so it is receipted exactly once.
ALTER TABLE confirmations ADD COLUMN expire_receipt_id TEXT;
CREATE INDEX confirmations_pending_expiry ON confirmations(status, nonce_expires_at);

-- How long a confirmation waits for the user's answer (seconds, clamped on use); NULL = the server default.
ALTER TABLE authorizations ADD COLUMN confirmation_timeout_seconds BIGINT;
ALTER TABLE policy_editions ADD COLUMN confirmation_timeout_seconds BIGINT;
