-- Indexes for housekeeping, which deletes sessions, token families and throttle
-- counters some time after they ended (see store.PurgeEnded); and the passkey that
-- last authenticated each session, so removing a passkey signs out what it signed in.

-- +goose Up
ALTER TABLE sessions ADD COLUMN credential_id TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_idle_expiry ON sessions (idle_expires_at);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX oauth_grants_expiry ON oauth_grants (expires_at);
CREATE INDEX counters_expiry ON counters (expires_at);

-- +goose Down
DROP INDEX counters_expiry;
DROP INDEX oauth_grants_expiry;
DROP INDEX sessions_expiry;
DROP INDEX sessions_idle_expiry;
ALTER TABLE sessions DROP COLUMN credential_id;
