-- Portable SQL for SQLite and PostgreSQL: TEXT, BIGINT and BOOLEAN only; times are
-- unix microseconds; binary values are hex or base64 text.

-- +goose Up
CREATE TABLE tenants (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE tenant_policies (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    document   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    status       TEXT NOT NULL,
    roles        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id, id);

CREATE TABLE user_identifiers (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    verified    BOOLEAN NOT NULL,
    is_primary  BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    verified_at BIGINT NOT NULL,
    UNIQUE (tenant_id, kind, value)
);
CREATE INDEX user_identifiers_user ON user_identifiers (user_id);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    auth_time       BIGINT NOT NULL,
    amr             TEXT NOT NULL,
    acr             TEXT NOT NULL,
    flow            TEXT NOT NULL,
    ip              TEXT NOT NULL,
    network         TEXT NOT NULL,
    user_agent      TEXT NOT NULL,
    restricted      BOOLEAN NOT NULL,
    revoked_at      BIGINT NOT NULL,
    revoke_reason   TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

CREATE TABLE artifacts (
    hash        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    redeemed_at BIGINT NOT NULL
);
CREATE INDEX artifacts_expiry ON artifacts (expires_at);

CREATE TABLE audit_heads (
    tenant_id TEXT PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TABLE audit_events (
    tenant_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    ip          TEXT NOT NULL,
    network     TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    flow        TEXT NOT NULL,
    result      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    details     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_events_time ON audit_events (tenant_id, occurred_at);
CREATE INDEX audit_events_type ON audit_events (tenant_id, type);
CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_id);
CREATE INDEX audit_events_target ON audit_events (tenant_id, target_id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE audit_heads;
DROP TABLE artifacts;
DROP TABLE sessions;
DROP TABLE user_identifiers;
DROP TABLE users;
DROP TABLE tenant_policies;
DROP TABLE tenants;
