-- allowly-server schema v7 (postgres): audit filtering by action.

-- A receipt's `action` (the scope a check decided) or, for an event receipt, its `event` name, copied out so
-- `GET /v1/audit?action=` is an indexed lookup. Rows written before this migration are filled from their payload.
ALTER TABLE receipts ADD COLUMN action TEXT;
UPDATE receipts SET action = COALESCE(payload::jsonb ->> 'action', payload::jsonb ->> 'event');
CREATE INDEX receipts_ws_action ON receipts(workspace_id, action);
