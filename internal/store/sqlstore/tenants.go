package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var errNotFound = store.ErrNotFound

func (t *tx) CreateTenant(ctx context.Context, tn *store.Tenant) error {
	err := t.insertUnique(ctx, `INSERT INTO tenants (id, display_name, created_at) VALUES (?, ?, ?)`,
		tn.ID, tn.DisplayName, micros(tn.CreatedAt))
	if err != nil {
		return fmt.Errorf("create tenant %q: %w", tn.ID, err)
	}
	return nil
}

func (t *tx) GetTenant(ctx context.Context, id string) (*store.Tenant, error) {
	var tn store.Tenant
	var created int64
	err := t.queryRow(ctx, `SELECT id, display_name, created_at FROM tenants WHERE id = ?`, id).
		Scan(&tn.ID, &tn.DisplayName, &created)
	if err != nil {
		return nil, t.db.classify(err)
	}
	tn.CreatedAt = fromMicros(created)
	return &tn, nil
}

func (t *tx) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := t.query(ctx, `SELECT id, display_name, created_at FROM tenants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		var tn store.Tenant
		var created int64
		if err := rows.Scan(&tn.ID, &tn.DisplayName, &created); err != nil {
			return nil, err
		}
		tn.CreatedAt = fromMicros(created)
		out = append(out, tn)
	}
	return out, rows.Err()
}

func (t *tx) PutPolicy(ctx context.Context, p *store.Policy) error {
	// The primary key (tenant_id, version) makes two concurrent writers of the same
	// next version collide instead of silently interleaving.
	var current int64
	err := t.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM tenant_policies WHERE tenant_id = ?`, p.TenantID).
		Scan(&current)
	if err != nil {
		return t.db.classify(err)
	}
	p.Version = int(current) + 1
	return t.insertUnique(ctx, `INSERT INTO tenant_policies (tenant_id, version, document, created_at, created_by)
		VALUES (?, ?, ?, ?, ?)`, p.TenantID, p.Version, string(p.Document), micros(p.CreatedAt), p.CreatedBy)
}

func (t *tx) CurrentPolicy(ctx context.Context, tenantID string) (*store.Policy, error) {
	var p store.Policy
	var doc string
	var created int64
	err := t.queryRow(ctx, `SELECT tenant_id, version, document, created_at, created_by FROM tenant_policies
		WHERE tenant_id = ? ORDER BY version DESC LIMIT 1`, tenantID).
		Scan(&p.TenantID, &p.Version, &doc, &created, &p.CreatedBy)
	if err != nil {
		return nil, t.db.classify(err)
	}
	p.Document = []byte(doc)
	p.CreatedAt = fromMicros(created)
	return &p, nil
}

func (t *tx) ListPolicies(ctx context.Context, tenantID string) ([]store.Policy, error) {
	rows, err := t.query(ctx, `SELECT tenant_id, version, document, created_at, created_by FROM tenant_policies
		WHERE tenant_id = ? ORDER BY version`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Policy
	for rows.Next() {
		var p store.Policy
		var doc string
		var created int64
		if err := rows.Scan(&p.TenantID, &p.Version, &doc, &created, &p.CreatedBy); err != nil {
			return nil, err
		}
		p.Document = []byte(doc)
		p.CreatedAt = fromMicros(created)
		out = append(out, p)
	}
	return out, rows.Err()
}
