package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (t *tx) ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes []string, at time.Time) error {
	if _, err := t.exec(ctx, `DELETE FROM recovery_codes WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		err := t.insertUnique(ctx, `INSERT INTO recovery_codes (tenant_id, user_id, hash, created_at, used_at) VALUES (?, ?, ?, ?, 0)`,
			tenantID, userID, h, micros(at))
		if err != nil {
			return fmt.Errorf("store recovery code: %w", err)
		}
	}
	return nil
}

func (t *tx) UseRecoveryCode(ctx context.Context, tenantID, userID, hash string, at time.Time) error {
	// The conditional UPDATE is the whole protocol: the first writer sets used_at and
	// every later one matches no row.
	return affected(t.exec(ctx, `UPDATE recovery_codes SET used_at = ?
		WHERE tenant_id = ? AND user_id = ? AND hash = ? AND used_at = 0`, micros(at), tenantID, userID, hash))
}

func (t *tx) CountRecoveryCodes(ctx context.Context, tenantID, userID string) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE tenant_id = ? AND user_id = ? AND used_at = 0`,
		tenantID, userID).Scan(&n)
	return n, t.db.classify(err)
}

const tapCols = `id, tenant_id, user_id, hash, issued_by, verified_by, needs_approval, approved_by, approved_at,
	created_at, expires_at, redeemed_at, revoked_at`

func scanTAP(s scanner) (*store.TAP, error) {
	var p store.TAP
	var approved, created, expires, redeemed, revoked int64
	err := s.Scan(&p.ID, &p.TenantID, &p.UserID, &p.Hash, &p.IssuedBy, &p.VerifiedBy, &p.NeedsApproval, &p.ApprovedBy,
		&approved, &created, &expires, &redeemed, &revoked)
	if err != nil {
		return nil, err
	}
	p.ApprovedAt, p.CreatedAt, p.ExpiresAt = fromMicros(approved), fromMicros(created), fromMicros(expires)
	p.RedeemedAt, p.RevokedAt = fromMicros(redeemed), fromMicros(revoked)
	return &p, nil
}

func (t *tx) CreateTAP(ctx context.Context, p *store.TAP) error {
	err := t.insertUnique(ctx, `INSERT INTO taps (`+tapCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.TenantID, p.UserID, p.Hash, p.IssuedBy, p.VerifiedBy, p.NeedsApproval, p.ApprovedBy, micros(p.ApprovedAt),
		micros(p.CreatedAt), micros(p.ExpiresAt), micros(p.RedeemedAt), micros(p.RevokedAt))
	if err != nil {
		return fmt.Errorf("create temporary access pass: %w", err)
	}
	return nil
}

func (t *tx) GetTAP(ctx context.Context, tenantID, id string) (*store.TAP, error) {
	p, err := scanTAP(t.queryRow(ctx, `SELECT `+tapCols+` FROM taps WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return p, t.db.classify(err)
}

func (t *tx) GetTAPByHash(ctx context.Context, tenantID, hash string) (*store.TAP, error) {
	p, err := scanTAP(t.queryRow(ctx, `SELECT `+tapCols+` FROM taps WHERE tenant_id = ? AND hash = ?`, tenantID, hash))
	return p, t.db.classify(err)
}

func (t *tx) ListTAPs(ctx context.Context, tenantID string, q store.TAPQuery) ([]store.TAP, error) {
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	query := `SELECT ` + tapCols + ` FROM taps WHERE tenant_id = ?`
	args := []any{tenantID}
	if q.UserID != "" {
		query += ` AND user_id = ?`
		args = append(args, q.UserID)
	}
	if q.Live {
		query += ` AND redeemed_at = 0 AND revoked_at = 0 AND expires_at > ?`
		args = append(args, micros(q.Now))
	}
	query += ` ORDER BY created_at DESC, id LIMIT ?`
	args = append(args, limit)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.TAP
	for rows.Next() {
		p, err := scanTAP(rows)
		if err != nil {
			return nil, t.db.classify(err)
		}
		out = append(out, *p)
	}
	return out, t.db.classify(rows.Err())
}

func (t *tx) ApproveTAP(ctx context.Context, tenantID, id, approver string, now time.Time) error {
	return affected(t.exec(ctx, `UPDATE taps SET approved_by = ?, approved_at = ?
		WHERE tenant_id = ? AND id = ? AND needs_approval AND approved_at = 0 AND issued_by <> ?
		AND redeemed_at = 0 AND revoked_at = 0 AND expires_at > ?`,
		approver, micros(now), tenantID, id, approver, micros(now)))
}

func (t *tx) RedeemTAP(ctx context.Context, tenantID, hash string, now time.Time) (*store.TAP, error) {
	p, err := scanTAP(t.queryRow(ctx, `UPDATE taps SET redeemed_at = ?
		WHERE tenant_id = ? AND hash = ? AND redeemed_at = 0 AND revoked_at = 0 AND expires_at > ?
		AND (NOT needs_approval OR approved_at <> 0)
		RETURNING `+tapCols, micros(now), tenantID, hash, micros(now)))
	return p, t.db.classify(err)
}

func (t *tx) RevokeTAP(ctx context.Context, tenantID, id string, at time.Time) error {
	return affected(t.exec(ctx, `UPDATE taps SET revoked_at = ?
		WHERE tenant_id = ? AND id = ? AND redeemed_at = 0 AND revoked_at = 0`, micros(at), tenantID, id))
}
