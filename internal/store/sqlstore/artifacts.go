package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const artifactCols = `hash, kind, tenant_id, subject, data, created_at, expires_at, redeemed_at`

func scanArtifact(s scanner) (*store.Artifact, error) {
	var a store.Artifact
	var data string
	var created, expires, redeemed int64
	if err := s.Scan(&a.Hash, &a.Kind, &a.TenantID, &a.Subject, &data, &created, &expires, &redeemed); err != nil {
		return nil, err
	}
	a.Data = []byte(data)
	a.CreatedAt, a.ExpiresAt, a.RedeemedAt = fromMicros(created), fromMicros(expires), fromMicros(redeemed)
	return &a, nil
}

func (t *tx) PutArtifact(ctx context.Context, a *store.Artifact) error {
	return t.insertUnique(ctx, `INSERT INTO artifacts (`+artifactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0)`,
		a.Hash, a.Kind, a.TenantID, a.Subject, nullableJSON(a.Data), micros(a.CreatedAt), micros(a.ExpiresAt))
}

func (t *tx) RedeemArtifact(ctx context.Context, kind, hash string, now time.Time) (*store.Artifact, error) {
	// One conditional UPDATE is the whole protocol: whichever transaction updates the
	// row first wins, and every other sees redeemed_at set and matches nothing.
	a, err := scanArtifact(t.queryRow(ctx, `UPDATE artifacts SET redeemed_at = ?
		WHERE hash = ? AND kind = ? AND redeemed_at = 0 AND expires_at > ?
		RETURNING `+artifactCols, micros(now), hash, kind, micros(now)))
	return a, t.db.classify(err)
}

func (t *tx) PeekArtifact(ctx context.Context, kind, hash string) (*store.Artifact, error) {
	a, err := scanArtifact(t.queryRow(ctx, `SELECT `+artifactCols+` FROM artifacts WHERE hash = ? AND kind = ?`, hash, kind))
	return a, t.db.classify(err)
}

func (t *tx) DeleteExpiredArtifacts(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM artifacts WHERE expires_at < ?`, micros(cutoff))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
