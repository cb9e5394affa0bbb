package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const grantCols = `id, tenant_id, client_id, user_id, session_id, scope, auth_time, acr, amr, code_hash,
	dpop_jkt, created_at, expires_at, revoked_at, revoke_reason, auth_flow`

func scanGrant(s scanner) (*store.Grant, error) {
	var g store.Grant
	var amr string
	var authTime, created, expires, revoked int64
	err := s.Scan(&g.ID, &g.TenantID, &g.ClientID, &g.UserID, &g.SessionID, &g.Scope, &authTime, &g.ACR, &amr,
		&g.CodeHash, &g.DPoPJKT, &created, &expires, &revoked, &g.RevokeReason, &g.AuthFlow)
	if err != nil {
		return nil, err
	}
	g.AMR = splitList(amr)
	g.AuthTime, g.CreatedAt, g.ExpiresAt, g.RevokedAt = fromMicros(authTime), fromMicros(created), fromMicros(expires), fromMicros(revoked)
	return &g, nil
}

func (t *tx) CreateGrant(ctx context.Context, g *store.Grant) error {
	return t.insertUnique(ctx, `INSERT INTO oauth_grants (`+grantCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', ?)`,
		g.ID, g.TenantID, g.ClientID, g.UserID, g.SessionID, g.Scope, micros(g.AuthTime), g.ACR, joinList(g.AMR),
		g.CodeHash, g.DPoPJKT, micros(g.CreatedAt), micros(g.ExpiresAt), g.AuthFlow)
}

func (t *tx) GetGrant(ctx context.Context, tenantID, id string) (*store.Grant, error) {
	g, err := scanGrant(t.queryRow(ctx, `SELECT `+grantCols+` FROM oauth_grants WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return g, t.db.classify(err)
}

func (t *tx) GetGrantByCode(ctx context.Context, tenantID, codeHash string) (*store.Grant, error) {
	if codeHash == "" {
		return nil, errNotFound
	}
	g, err := scanGrant(t.queryRow(ctx, `SELECT `+grantCols+` FROM oauth_grants WHERE tenant_id = ? AND code_hash = ?`,
		tenantID, codeHash))
	return g, t.db.classify(err)
}

func (t *tx) RevokeGrant(ctx context.Context, tenantID, id string, at time.Time, reason string) error {
	return affected(t.exec(ctx, `UPDATE oauth_grants SET revoked_at = ?, revoke_reason = ?
		WHERE tenant_id = ? AND id = ? AND revoked_at = 0`, micros(at), reason, tenantID, id))
}

func (t *tx) RevokeUserClientGrants(ctx context.Context, tenantID, userID, clientID string, at time.Time, reason string) (int, error) {
	res, err := t.exec(ctx, `UPDATE oauth_grants SET revoked_at = ?, revoke_reason = ?
		WHERE tenant_id = ? AND user_id = ? AND client_id = ? AND revoked_at = 0`, micros(at), reason, tenantID, userID, clientID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *tx) RevokeUserGrants(ctx context.Context, tenantID, userID, keepSessionID string, at time.Time, reason string) (int, error) {
	// Without a session to keep, every grant goes — also those that no browser session
	// authorized (the device grant's), whose session_id is empty.
	q := `UPDATE oauth_grants SET revoked_at = ?, revoke_reason = ?
		WHERE tenant_id = ? AND user_id = ? AND revoked_at = 0`
	args := []any{micros(at), reason, tenantID, userID}
	if keepSessionID != "" {
		q += ` AND session_id <> ?`
		args = append(args, keepSessionID)
	}
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

const refreshCols = `hash, tenant_id, grant_id, generation, created_at, expires_at, used_at`

func scanRefresh(s scanner) (*store.RefreshToken, error) {
	var rt store.RefreshToken
	var created, expires, used int64
	if err := s.Scan(&rt.Hash, &rt.TenantID, &rt.GrantID, &rt.Generation, &created, &expires, &used); err != nil {
		return nil, err
	}
	rt.CreatedAt, rt.ExpiresAt, rt.UsedAt = fromMicros(created), fromMicros(expires), fromMicros(used)
	return &rt, nil
}

func (t *tx) PutRefreshToken(ctx context.Context, rt *store.RefreshToken) error {
	return t.insertUnique(ctx, `INSERT INTO oauth_refresh_tokens (`+refreshCols+`) VALUES (?, ?, ?, ?, ?, ?, 0)`,
		rt.Hash, rt.TenantID, rt.GrantID, rt.Generation, micros(rt.CreatedAt), micros(rt.ExpiresAt))
}

func (t *tx) GetRefreshToken(ctx context.Context, tenantID, hash string) (*store.RefreshToken, error) {
	rt, err := scanRefresh(t.queryRow(ctx, `SELECT `+refreshCols+` FROM oauth_refresh_tokens
		WHERE tenant_id = ? AND hash = ?`, tenantID, hash))
	return rt, t.db.classify(err)
}

func (t *tx) UseRefreshToken(ctx context.Context, tenantID, hash string, now time.Time) error {
	// The conditional update is the whole race: the first rotation sets used_at and
	// every later one, on any node, matches nothing.
	return affected(t.exec(ctx, `UPDATE oauth_refresh_tokens SET used_at = ?
		WHERE tenant_id = ? AND hash = ? AND used_at = 0`, micros(now), tenantID, hash))
}

const consentCols = `tenant_id, user_id, client_id, scope, created_at, updated_at`

func scanConsent(s scanner) (*store.Consent, error) {
	var c store.Consent
	var created, updated int64
	if err := s.Scan(&c.TenantID, &c.UserID, &c.ClientID, &c.Scope, &created, &updated); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

func (t *tx) PutConsent(ctx context.Context, c *store.Consent) error {
	// Update first, insert when there was nothing to update: portable, and inside one
	// transaction on the single writer (SQLite) or under the primary key (PostgreSQL).
	err := affected(t.exec(ctx, `UPDATE oauth_consents SET scope = ?, updated_at = ?
		WHERE tenant_id = ? AND user_id = ? AND client_id = ?`, c.Scope, micros(c.UpdatedAt), c.TenantID, c.UserID, c.ClientID))
	if err != errNotFound {
		return err
	}
	return t.insertUnique(ctx, `INSERT INTO oauth_consents (`+consentCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		c.TenantID, c.UserID, c.ClientID, c.Scope, micros(c.CreatedAt), micros(c.UpdatedAt))
}

func (t *tx) GetConsent(ctx context.Context, tenantID, userID, clientID string) (*store.Consent, error) {
	c, err := scanConsent(t.queryRow(ctx, `SELECT `+consentCols+` FROM oauth_consents
		WHERE tenant_id = ? AND user_id = ? AND client_id = ?`, tenantID, userID, clientID))
	return c, t.db.classify(err)
}

func (t *tx) ListConsents(ctx context.Context, tenantID, userID string) ([]store.Consent, error) {
	rows, err := t.query(ctx, `SELECT `+consentCols+` FROM oauth_consents WHERE tenant_id = ? AND user_id = ?
		ORDER BY client_id`, tenantID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (t *tx) DeleteConsent(ctx context.Context, tenantID, userID, clientID string) error {
	return affected(t.exec(ctx, `DELETE FROM oauth_consents WHERE tenant_id = ? AND user_id = ? AND client_id = ?`,
		tenantID, userID, clientID))
}
