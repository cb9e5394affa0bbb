-- Messages that leave the system, the development mailbox, and shared counters.

-- +goose Up
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    available_at    BIGINT NOT NULL,
    attempts        BIGINT NOT NULL,
    lease_owner     TEXT NOT NULL,
    lease_until     BIGINT NOT NULL,
    delivered_at    BIGINT NOT NULL,
    last_error      TEXT NOT NULL,
    dead            BOOLEAN NOT NULL
);
CREATE INDEX outbox_due ON outbox (delivered_at, dead, available_at);

CREATE TABLE dev_mailbox (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX dev_mailbox_time ON dev_mailbox (created_at);

CREATE TABLE counters (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- +goose Down
DROP TABLE counters;
DROP TABLE dev_mailbox;
DROP TABLE outbox;
