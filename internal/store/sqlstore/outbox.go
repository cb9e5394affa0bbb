package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const outboxCols = `id, tenant_id, kind, idempotency_key, payload, created_at, available_at, attempts,
	lease_owner, lease_until, delivered_at, last_error, dead`

func scanOutbox(s scanner) (*store.OutboxMessage, error) {
	var m store.OutboxMessage
	var payload string
	var created, avail, lease, delivered int64
	err := s.Scan(&m.ID, &m.TenantID, &m.Kind, &m.IdempotencyKey, &payload, &created, &avail, &m.Attempts,
		&m.LeaseOwner, &lease, &delivered, &m.LastError, &m.Dead)
	if err != nil {
		return nil, err
	}
	m.Payload = []byte(payload)
	m.CreatedAt, m.AvailableAt = fromMicros(created), fromMicros(avail)
	m.LeaseUntil, m.DeliveredAt = fromMicros(lease), fromMicros(delivered)
	return &m, nil
}

func (t *tx) Enqueue(ctx context.Context, m *store.OutboxMessage) error {
	// Without a key of its own a message is keyed by its id; otherwise every keyless
	// message after the first would collide on the empty key and be silently dropped.
	key := m.IdempotencyKey
	if key == "" {
		key = m.ID
	}
	_, err := t.exec(ctx, `INSERT INTO outbox (`+outboxCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0, '', 0, 0, '', FALSE)
		ON CONFLICT (idempotency_key) DO NOTHING`,
		m.ID, m.TenantID, m.Kind, key, nullableJSON(m.Payload), micros(m.CreatedAt), micros(m.AvailableAt))
	return err
}

func (t *tx) LeaseOutbox(ctx context.Context, owner string, n int, now, leaseUntil time.Time) ([]store.OutboxMessage, error) {
	// The outer WHERE repeats the lease condition: on PostgreSQL a concurrent claimer
	// that lost the row lock re-checks it against the winner's update and skips the row.
	rows, err := t.query(ctx, `UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE delivered_at = 0 AND dead = FALSE AND available_at <= ?
			AND lease_until <= ? ORDER BY available_at, id LIMIT ?)
		AND delivered_at = 0 AND dead = FALSE AND lease_until <= ?
		RETURNING `+outboxCols, owner, micros(leaseUntil), micros(now), micros(now), n, micros(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

func (t *tx) CompleteOutbox(ctx context.Context, id, owner string, at time.Time) error {
	// A delivered message's body (which may hold a one-time code) is not kept.
	return affected(t.exec(ctx, `UPDATE outbox SET delivered_at = ?, lease_until = 0, last_error = '', payload = '{}'
		WHERE id = ? AND lease_owner = ? AND delivered_at = 0`, micros(at), id, owner))
}

func (t *tx) RetryOutbox(ctx context.Context, id, owner string, retryAt time.Time, lastErr string, dead bool) error {
	// A message given up on keeps its error but not its body.
	return affected(t.exec(ctx, `UPDATE outbox SET available_at = ?, lease_until = 0, last_error = ?, dead = ?,
		payload = CASE WHEN ? THEN '{}' ELSE payload END
		WHERE id = ? AND lease_owner = ? AND delivered_at = 0`, micros(retryAt), lastErr, dead, dead, id, owner))
}

func (t *tx) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE delivered_at = 0 AND dead = FALSE`).Scan(&n)
	return n, t.db.classify(err)
}

func (t *tx) GetOutbox(ctx context.Context, id string) (*store.OutboxMessage, error) {
	m, err := scanOutbox(t.queryRow(ctx, `SELECT `+outboxCols+` FROM outbox WHERE id = ?`, id))
	return m, t.db.classify(err)
}

func (t *tx) PutMail(ctx context.Context, m *store.Mail) error {
	_, err := t.exec(ctx, `INSERT INTO dev_mailbox (id, tenant_id, recipient, subject, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, m.ID, m.TenantID, m.To, m.Subject, m.Body, micros(m.CreatedAt))
	return err
}

func (t *tx) ListMail(ctx context.Context, limit int) ([]store.Mail, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := t.query(ctx, `SELECT id, tenant_id, recipient, subject, body, created_at FROM dev_mailbox
		ORDER BY created_at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Mail
	for rows.Next() {
		var m store.Mail
		var created int64
		if err := rows.Scan(&m.ID, &m.TenantID, &m.To, &m.Subject, &m.Body, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = fromMicros(created)
		out = append(out, m)
	}
	return out, rows.Err()
}
