package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const credCols = `id, tenant_id, user_id, kind, credential_id, public_key, sign_count, aaguid, transports,
	backup_eligible, backed_up, user_verified, attestation_type, name, provisional, created_at, created_ip,
	last_used_at, last_used_ip`

func scanCredential(s scanner) (*store.Credential, error) {
	var c store.Credential
	var transports string
	var signCount, created, used int64
	err := s.Scan(&c.ID, &c.TenantID, &c.UserID, &c.Kind, &c.CredentialID, &c.PublicKey, &signCount, &c.AAGUID,
		&transports, &c.BackupEligible, &c.BackedUp, &c.UserVerified, &c.AttestationType, &c.Name, &c.Provisional,
		&created, &c.CreatedIP, &used, &c.LastUsedIP)
	if err != nil {
		return nil, err
	}
	c.SignCount = uint32(signCount)
	c.Transports = splitList(transports)
	c.CreatedAt, c.LastUsedAt = fromMicros(created), fromMicros(used)
	return &c, nil
}

func (t *tx) CreateCredential(ctx context.Context, c *store.Credential) error {
	err := t.insertUnique(ctx, `INSERT INTO credentials (`+credCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.UserID, c.Kind, c.CredentialID, c.PublicKey, int64(c.SignCount), c.AAGUID,
		joinList(c.Transports), c.BackupEligible, c.BackedUp, c.UserVerified, c.AttestationType, c.Name,
		c.Provisional, micros(c.CreatedAt), c.CreatedIP, micros(c.LastUsedAt), c.LastUsedIP)
	if err != nil {
		return fmt.Errorf("create credential: %w", err)
	}
	return nil
}

func (t *tx) GetCredentialByCredID(ctx context.Context, tenantID, credentialID string) (*store.Credential, error) {
	c, err := scanCredential(t.queryRow(ctx, `SELECT `+credCols+` FROM credentials WHERE tenant_id = ? AND credential_id = ?`,
		tenantID, credentialID))
	return c, t.db.classify(err)
}

func (t *tx) GetCredential(ctx context.Context, tenantID, id string) (*store.Credential, error) {
	c, err := scanCredential(t.queryRow(ctx, `SELECT `+credCols+` FROM credentials WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return c, t.db.classify(err)
}

func (t *tx) ListCredentials(ctx context.Context, tenantID, userID string) ([]store.Credential, error) {
	rows, err := t.query(ctx, `SELECT `+credCols+` FROM credentials WHERE tenant_id = ? AND user_id = ?
		ORDER BY created_at, id`, tenantID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (t *tx) UpdateCredentialUse(ctx context.Context, c *store.Credential) error {
	return affected(t.exec(ctx, `UPDATE credentials SET sign_count = ?, backup_eligible = ?, backed_up = ?,
		user_verified = ?, last_used_at = ?, last_used_ip = ? WHERE tenant_id = ? AND id = ?`,
		int64(c.SignCount), c.BackupEligible, c.BackedUp, c.UserVerified, micros(c.LastUsedAt), c.LastUsedIP,
		c.TenantID, c.ID))
}

func (t *tx) UpdateCredential(ctx context.Context, c *store.Credential) error {
	return affected(t.exec(ctx, `UPDATE credentials SET name = ?, provisional = ? WHERE tenant_id = ? AND id = ?`,
		c.Name, c.Provisional, c.TenantID, c.ID))
}

func (t *tx) DeleteCredential(ctx context.Context, tenantID, id string) error {
	return affected(t.exec(ctx, `DELETE FROM credentials WHERE tenant_id = ? AND id = ?`, tenantID, id))
}
