package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const sessionCols = `id, token_hash, tenant_id, user_id, created_at, last_seen_at, idle_expires_at, expires_at,
	auth_time, amr, acr, flow, ip, network, user_agent, restricted, revoked_at, revoke_reason, credential_id`

func scanSession(s scanner) (*store.Session, error) {
	var se store.Session
	var created, seen, idle, exp, auth, revoked int64
	var amr string
	err := s.Scan(&se.ID, &se.TokenHash, &se.TenantID, &se.UserID, &created, &seen, &idle, &exp,
		&auth, &amr, &se.ACR, &se.Flow, &se.IP, &se.Network, &se.UserAgent, &se.Restricted, &revoked, &se.RevokeReason, &se.CredentialID)
	if err != nil {
		return nil, err
	}
	se.CreatedAt, se.LastSeenAt = fromMicros(created), fromMicros(seen)
	se.IdleExpiresAt, se.ExpiresAt = fromMicros(idle), fromMicros(exp)
	se.AuthTime, se.RevokedAt = fromMicros(auth), fromMicros(revoked)
	se.AMR = splitList(amr)
	return &se, nil
}

func (t *tx) CreateSession(ctx context.Context, s *store.Session) error {
	return t.insertUnique(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.TokenHash, s.TenantID, s.UserID, micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.IdleExpiresAt),
		micros(s.ExpiresAt), micros(s.AuthTime), joinList(s.AMR), s.ACR, s.Flow, s.IP, s.Network, s.UserAgent,
		s.Restricted, micros(s.RevokedAt), s.RevokeReason, s.CredentialID)
}

func (t *tx) GetSessionByTokenHash(ctx context.Context, hash string) (*store.Session, error) {
	s, err := scanSession(t.queryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = ?`, hash))
	return s, t.db.classify(err)
}

func (t *tx) GetSession(ctx context.Context, tenantID, id string) (*store.Session, error) {
	s, err := scanSession(t.queryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return s, t.db.classify(err)
}

func (t *tx) TouchSession(ctx context.Context, id string, seen, idleExpires time.Time) error {
	return affected(t.exec(ctx, `UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id = ? AND revoked_at = 0`,
		micros(seen), micros(idleExpires), id))
}

func (t *tx) UpdateSessionAuth(ctx context.Context, s *store.Session) error {
	return affected(t.exec(ctx, `UPDATE sessions SET auth_time = ?, amr = ?, acr = ?, flow = ?, restricted = ?, credential_id = ?
		WHERE tenant_id = ? AND id = ? AND revoked_at = 0`,
		micros(s.AuthTime), joinList(s.AMR), s.ACR, s.Flow, s.Restricted, s.CredentialID, s.TenantID, s.ID))
}

func (t *tx) RevokeSession(ctx context.Context, tenantID, id string, at time.Time, reason string) error {
	return affected(t.exec(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
		WHERE tenant_id = ? AND id = ? AND revoked_at = 0`, micros(at), reason, tenantID, id))
}

func (t *tx) RevokeUserSessions(ctx context.Context, tenantID, userID, exceptID string, at time.Time, reason string) (int, error) {
	res, err := t.exec(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
		WHERE tenant_id = ? AND user_id = ? AND id <> ? AND revoked_at = 0`, micros(at), reason, tenantID, userID, exceptID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *tx) RevokeCredentialSessions(ctx context.Context, tenantID, userID, credentialID, exceptID string, at time.Time, reason string) (int, int, error) {
	if credentialID == "" {
		return 0, 0, nil
	}
	// Grants first, while the sessions they came from are still recognisably live.
	res, err := t.exec(ctx, `UPDATE oauth_grants SET revoked_at = ?, revoke_reason = ?
		WHERE tenant_id = ? AND user_id = ? AND revoked_at = 0 AND session_id IN (
			SELECT id FROM sessions WHERE tenant_id = ? AND user_id = ? AND credential_id = ? AND id <> ? AND revoked_at = 0)`,
		micros(at), reason, tenantID, userID, tenantID, userID, credentialID, exceptID)
	if err != nil {
		return 0, 0, err
	}
	grants, err := res.RowsAffected()
	if err != nil {
		return 0, 0, err
	}
	res, err = t.exec(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
		WHERE tenant_id = ? AND user_id = ? AND credential_id = ? AND id <> ? AND revoked_at = 0`,
		micros(at), reason, tenantID, userID, credentialID, exceptID)
	if err != nil {
		return 0, 0, err
	}
	sessions, err := res.RowsAffected()
	return int(sessions), int(grants), err
}

func (t *tx) ListUserSessions(ctx context.Context, tenantID, userID string, now time.Time) ([]store.Session, error) {
	rows, err := t.query(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE tenant_id = ? AND user_id = ? AND revoked_at = 0 AND expires_at > ? AND idle_expires_at > ?
		ORDER BY last_seen_at DESC`, tenantID, userID, micros(now), micros(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}
