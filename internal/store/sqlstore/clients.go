package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const clientCols = `id, tenant_id, name, client_type, auth_method, secret_hash, jwks, redirect_uris,
	post_logout_redirect_uris, grant_types, scopes, first_party, require_par, dpop_bound, id_token_alg,
	verification_uri_complete, device_proximity, created_at, updated_at, secret_rotated_at`

func scanClient(s scanner) (*store.Client, error) {
	var c store.Client
	var jwks, redirects, postLogout, grants, scopes string
	var created, updated, rotated int64
	err := s.Scan(&c.ID, &c.TenantID, &c.Name, &c.Type, &c.AuthMethod, &c.SecretHash, &jwks, &redirects,
		&postLogout, &grants, &scopes, &c.FirstParty, &c.RequirePAR, &c.DPoPBound, &c.IDTokenAlg,
		&c.VerificationURIComplete, &c.DeviceProximity, &created, &updated, &rotated)
	if err != nil {
		return nil, err
	}
	if jwks != "" {
		c.JWKS = []byte(jwks)
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs = splitList(redirects), splitList(postLogout)
	c.GrantTypes, c.Scopes = splitList(grants), splitList(scopes)
	c.CreatedAt, c.UpdatedAt, c.SecretRotatedAt = fromMicros(created), fromMicros(updated), fromMicros(rotated)
	return &c, nil
}

func (t *tx) CreateClient(ctx context.Context, c *store.Client) error {
	err := t.insertUnique(ctx, `INSERT INTO oauth_clients (`+clientCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.Name, c.Type, c.AuthMethod, c.SecretHash, string(c.JWKS), joinList(c.RedirectURIs),
		joinList(c.PostLogoutRedirectURIs), joinList(c.GrantTypes), joinList(c.Scopes), c.FirstParty, c.RequirePAR,
		c.DPoPBound, c.IDTokenAlg, c.VerificationURIComplete, c.DeviceProximity, micros(c.CreatedAt),
		micros(c.UpdatedAt), micros(c.SecretRotatedAt))
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	return nil
}

func (t *tx) GetClient(ctx context.Context, tenantID, id string) (*store.Client, error) {
	c, err := scanClient(t.queryRow(ctx, `SELECT `+clientCols+` FROM oauth_clients WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return c, t.db.classify(err)
}

func (t *tx) ListClients(ctx context.Context, tenantID string) ([]store.Client, error) {
	rows, err := t.query(ctx, `SELECT `+clientCols+` FROM oauth_clients WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (t *tx) UpdateClient(ctx context.Context, c *store.Client) error {
	return affected(t.exec(ctx, `UPDATE oauth_clients SET name = ?, auth_method = ?, jwks = ?, redirect_uris = ?,
		post_logout_redirect_uris = ?, grant_types = ?, scopes = ?, first_party = ?, require_par = ?, dpop_bound = ?,
		id_token_alg = ?, verification_uri_complete = ?, device_proximity = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`,
		c.Name, c.AuthMethod, string(c.JWKS), joinList(c.RedirectURIs), joinList(c.PostLogoutRedirectURIs),
		joinList(c.GrantTypes), joinList(c.Scopes), c.FirstParty, c.RequirePAR, c.DPoPBound, c.IDTokenAlg,
		c.VerificationURIComplete, c.DeviceProximity, micros(c.UpdatedAt), c.TenantID, c.ID))
}

func (t *tx) SetClientSecret(ctx context.Context, tenantID, id, hash string, at time.Time) error {
	return affected(t.exec(ctx, `UPDATE oauth_clients SET secret_hash = ?, secret_rotated_at = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`, hash, micros(at), micros(at), tenantID, id))
}

func (t *tx) DeleteClient(ctx context.Context, tenantID, id string) error {
	return affected(t.exec(ctx, `DELETE FROM oauth_clients WHERE tenant_id = ? AND id = ?`, tenantID, id))
}
