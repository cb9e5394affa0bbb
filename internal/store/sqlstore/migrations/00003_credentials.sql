-- Sign-in credentials (passkeys first; later methods add their own kinds) and the
-- per-user count of skipped "Sign in faster" prompts and recovery hold deadline.

-- +goose Up
CREATE TABLE credentials (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    credential_id    TEXT NOT NULL,
    public_key       TEXT NOT NULL,
    sign_count       BIGINT NOT NULL,
    aaguid           TEXT NOT NULL,
    transports       TEXT NOT NULL,
    backup_eligible  BOOLEAN NOT NULL,
    backed_up        BOOLEAN NOT NULL,
    user_verified    BOOLEAN NOT NULL,
    attestation_type TEXT NOT NULL,
    name             TEXT NOT NULL,
    provisional      BOOLEAN NOT NULL,
    created_at       BIGINT NOT NULL,
    created_ip       TEXT NOT NULL,
    last_used_at     BIGINT NOT NULL,
    last_used_ip     TEXT NOT NULL,
    UNIQUE (tenant_id, credential_id)
);
CREATE INDEX credentials_user ON credentials (tenant_id, user_id);

ALTER TABLE users ADD COLUMN nudge_skips BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN hold_until BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN hold_until;
ALTER TABLE users DROP COLUMN nudge_skips;
DROP TABLE credentials;
