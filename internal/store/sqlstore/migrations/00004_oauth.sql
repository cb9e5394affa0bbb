-- OAuth 2.0 / OpenID Connect groundwork: per-tenant token signing keys and clients.

-- +goose Up
-- A key's state (next, active, retired, expired) follows from its times; nothing is
-- written when a key becomes due. The private key is only ever stored sealed under
-- the key-encryption key (base64 of AES-256-GCM nonce and ciphertext).
CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    alg            TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    public_key     TEXT NOT NULL,
    sealed_private TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    activates_at   BIGINT NOT NULL,
    retires_at     BIGINT NOT NULL,
    retire_until   BIGINT NOT NULL,
    UNIQUE (tenant_id, alg, seq)
);

-- Lists (redirect URIs, grant types, scopes) are space-separated: none of their
-- values may contain a space.
CREATE TABLE oauth_clients (
    id                        TEXT PRIMARY KEY,
    tenant_id                 TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                      TEXT NOT NULL,
    client_type               TEXT NOT NULL,
    auth_method               TEXT NOT NULL,
    secret_hash               TEXT NOT NULL,
    jwks                      TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types               TEXT NOT NULL,
    scopes                    TEXT NOT NULL,
    first_party               BOOLEAN NOT NULL,
    require_par               BOOLEAN NOT NULL,
    dpop_bound                BOOLEAN NOT NULL,
    id_token_alg              TEXT NOT NULL,
    verification_uri_complete BOOLEAN NOT NULL,
    device_proximity          TEXT NOT NULL,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL,
    secret_rotated_at         BIGINT NOT NULL
);
CREATE INDEX oauth_clients_tenant ON oauth_clients (tenant_id, created_at);

-- +goose Down
DROP TABLE oauth_clients;
DROP TABLE signing_keys;
