-- Saved recovery codes and help-desk temporary access passes (TAPs). Both are stored
-- only as hashes and redeemed by one conditional UPDATE.

-- +goose Up
CREATE TABLE recovery_codes (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, hash)
);

-- issued_by and approved_by are operator ids in the system tenant; a CHECK keeps a
-- pass from ever being approved by the operator who issued it, whatever the caller.
CREATE TABLE taps (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash           TEXT NOT NULL UNIQUE,
    issued_by      TEXT NOT NULL,
    verified_by    TEXT NOT NULL,
    needs_approval BOOLEAN NOT NULL,
    approved_by    TEXT NOT NULL,
    approved_at    BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    redeemed_at    BIGINT NOT NULL,
    revoked_at     BIGINT NOT NULL,
    CHECK (approved_by = '' OR approved_by <> issued_by)
);
CREATE INDEX taps_user ON taps (tenant_id, user_id);
CREATE INDEX taps_created ON taps (tenant_id, created_at);

-- +goose Down
DROP TABLE taps;
DROP TABLE recovery_codes;
