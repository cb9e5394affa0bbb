package sqlstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const keyCols = `kid, tenant_id, alg, seq, public_key, sealed_private, created_at, activates_at, retires_at, retire_until`

func scanSigningKey(s scanner) (*store.SigningKey, error) {
	var k store.SigningKey
	var pub, sealed string
	var created, activates, retires, until int64
	if err := s.Scan(&k.KID, &k.TenantID, &k.Alg, &k.Seq, &pub, &sealed, &created, &activates, &retires, &until); err != nil {
		return nil, err
	}
	var err error
	if k.PublicKey, err = base64.StdEncoding.DecodeString(pub); err != nil {
		return nil, fmt.Errorf("signing key %s: public key: %w", k.KID, err)
	}
	if k.SealedPrivate, err = base64.StdEncoding.DecodeString(sealed); err != nil {
		return nil, fmt.Errorf("signing key %s: sealed private key: %w", k.KID, err)
	}
	k.CreatedAt, k.ActivatesAt = fromMicros(created), fromMicros(activates)
	k.RetiresAt, k.RetireUntil = fromMicros(retires), fromMicros(until)
	return &k, nil
}

func (t *tx) CreateSigningKey(ctx context.Context, k *store.SigningKey) error {
	err := t.insertUnique(ctx, `INSERT INTO signing_keys (`+keyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.KID, k.TenantID, k.Alg, k.Seq, base64.StdEncoding.EncodeToString(k.PublicKey),
		base64.StdEncoding.EncodeToString(k.SealedPrivate), micros(k.CreatedAt), micros(k.ActivatesAt),
		micros(k.RetiresAt), micros(k.RetireUntil))
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	return nil
}

func (t *tx) ListSigningKeys(ctx context.Context, tenantID string) ([]store.SigningKey, error) {
	rows, err := t.query(ctx, `SELECT `+keyCols+` FROM signing_keys WHERE tenant_id = ? ORDER BY alg, seq`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		k, err := scanSigningKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *k)
	}
	return out, rows.Err()
}

func (t *tx) RetireSigningKey(ctx context.Context, tenantID, kid string, retiresAt, retireUntil time.Time) error {
	// "retires_at = 0" makes retirement a one-time transition: the loser of two racing
	// rotations finds the key already retired and touches nothing.
	return affected(t.exec(ctx, `UPDATE signing_keys SET retires_at = ?, retire_until = ?
		WHERE tenant_id = ? AND kid = ? AND retires_at = 0`, micros(retiresAt), micros(retireUntil), tenantID, kid))
}

func (t *tx) DeleteExpiredSigningKeys(ctx context.Context, tenantID string, cutoff time.Time) ([]string, error) {
	// Select, then delete by kid, so the kids returned are exactly the rows removed.
	// An expired key never changes again, so a concurrent transaction cannot make a
	// selected row any less deletable.
	rows, err := t.query(ctx, `SELECT kid FROM signing_keys
		WHERE tenant_id = ? AND retire_until <> 0 AND retire_until <= ? ORDER BY alg, seq`, tenantID, micros(cutoff))
	if err != nil {
		return nil, err
	}
	var kids []string
	for rows.Next() {
		var kid string
		if err := rows.Scan(&kid); err != nil {
			rows.Close()
			return nil, err
		}
		kids = append(kids, kid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, kid := range kids {
		if _, err := t.exec(ctx, `DELETE FROM signing_keys WHERE tenant_id = ? AND kid = ?`, tenantID, kid); err != nil {
			return nil, err
		}
	}
	return kids, nil
}
