-- The device authorization grant (RFC 8628): pending and decided requests, and the
-- flow a token family came from.

-- +goose Up
-- device_hash is the SHA-256 of the device code and user_hash a keyed hash of the
-- normalized user code: neither code is stored. The row keeps where and when the
-- device asked, so the approval page can show it next to where the approver is.
CREATE TABLE device_requests (
    device_hash     TEXT PRIMARY KEY,
    user_hash       TEXT NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    scope           TEXT NOT NULL,
    ip              TEXT NOT NULL,
    network         TEXT NOT NULL,
    asn             BIGINT NOT NULL,
    location        TEXT NOT NULL,
    user_agent      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    interval_ms     BIGINT NOT NULL,
    status          TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    auth_time       BIGINT NOT NULL,
    acr             TEXT NOT NULL,
    amr             TEXT NOT NULL,
    decided_at      BIGINT NOT NULL,
    decided_ip      TEXT NOT NULL,
    decided_network TEXT NOT NULL,
    redeemed_at     BIGINT NOT NULL
);
-- A user code is looked up by its hash within the tenant; two live requests never
-- share one (the issuer draws again on conflict).
CREATE UNIQUE INDEX device_requests_user_code ON device_requests (tenant_id, user_hash);
CREATE INDEX device_requests_expiry ON device_requests (expires_at);

-- auth_flow marks token families that did not come from an ordinary sign-in
-- ("device_code"), so they can be found and revoked as a unit.
ALTER TABLE oauth_grants ADD COLUMN auth_flow TEXT NOT NULL DEFAULT '';
CREATE INDEX oauth_grants_flow ON oauth_grants (tenant_id, user_id, auth_flow);

-- +goose Down
DROP INDEX oauth_grants_flow;
ALTER TABLE oauth_grants DROP COLUMN auth_flow;
DROP TABLE device_requests;
