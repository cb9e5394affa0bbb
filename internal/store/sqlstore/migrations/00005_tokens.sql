-- OAuth 2.0 token families (grants), rotated refresh tokens and remembered consents.

-- +goose Up
-- A grant is the family every token of one authorization belongs to; revoking it
-- revokes them all. code_hash finds the family of a replayed authorization code.
CREATE TABLE oauth_grants (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    scope         TEXT NOT NULL,
    auth_time     BIGINT NOT NULL,
    acr           TEXT NOT NULL,
    amr           TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    dpop_jkt      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT NOT NULL,
    revoke_reason TEXT NOT NULL
);
CREATE INDEX oauth_grants_code ON oauth_grants (tenant_id, code_hash);
CREATE INDEX oauth_grants_user ON oauth_grants (tenant_id, user_id, client_id);

-- Refresh tokens are stored only as hashes; used_at is set by the one rotation that
-- wins, and a token presented again after that is a replay.
CREATE TABLE oauth_refresh_tokens (
    hash       TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    grant_id   TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL
);
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);

CREATE TABLE oauth_consents (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, client_id)
);

-- +goose Down
DROP TABLE oauth_consents;
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_grants;
