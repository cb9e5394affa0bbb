package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const userCols = `id, tenant_id, display_name, status, roles, created_at, updated_at, nudge_skips, hold_until`

type scanner interface{ Scan(dest ...any) error }

func scanUser(s scanner) (*store.User, error) {
	var u store.User
	var roles string
	var created, updated, hold int64
	if err := s.Scan(&u.ID, &u.TenantID, &u.DisplayName, &u.Status, &roles, &created, &updated, &u.NudgeSkips, &hold); err != nil {
		return nil, err
	}
	u.Roles = splitList(roles)
	u.CreatedAt = fromMicros(created)
	u.UpdatedAt = fromMicros(updated)
	u.HoldUntil = fromMicros(hold)
	return &u, nil
}

func (t *tx) CreateUser(ctx context.Context, u *store.User) error {
	err := t.insertUnique(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.DisplayName, u.Status, joinList(u.Roles), micros(u.CreatedAt), micros(u.UpdatedAt), u.NudgeSkips,
		micros(u.HoldUntil))
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

func (t *tx) GetUser(ctx context.Context, tenantID, id string) (*store.User, error) {
	u, err := scanUser(t.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return u, t.db.classify(err)
}

func (t *tx) FindUserByIdentifier(ctx context.Context, tenantID, kind, value string) (*store.User, error) {
	u, err := scanUser(t.queryRow(ctx, `SELECT u.id, u.tenant_id, u.display_name, u.status, u.roles, u.created_at, u.updated_at, u.nudge_skips, u.hold_until
		FROM users u JOIN user_identifiers i ON i.user_id = u.id
		WHERE i.tenant_id = ? AND i.kind = ? AND i.value = ?`, tenantID, kind, value))
	return u, t.db.classify(err)
}

func (t *tx) ListUsers(ctx context.Context, tenantID string, q store.UserQuery) ([]store.User, error) {
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	query := `SELECT ` + userCols + ` FROM users WHERE tenant_id = ? AND id > ?`
	args := []any{tenantID, q.After}
	if q.Status != "" {
		query += ` AND status = ?`
		args = append(args, q.Status)
	}
	if q.Role != "" {
		if strings.ContainsRune(q.Role, ' ') {
			return nil, nil // roles never contain spaces, so no user has this one
		}
		// Roles are stored space-separated; pad both sides so "admin" never matches "sysadmin".
		query += ` AND ` + t.db.containsExpr(`(' ' || roles || ' ')`)
		args = append(args, " "+q.Role+" ")
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

func (t *tx) UpdateUser(ctx context.Context, u *store.User) error {
	return affected(t.exec(ctx, `UPDATE users SET display_name = ?, roles = ?, updated_at = ?, nudge_skips = ?, hold_until = ?
		WHERE tenant_id = ? AND id = ?`, u.DisplayName, joinList(u.Roles), micros(u.UpdatedAt), u.NudgeSkips,
		micros(u.HoldUntil), u.TenantID, u.ID))
}

func (t *tx) SetUserStatus(ctx context.Context, tenantID, id, status string, at time.Time) error {
	return affected(t.exec(ctx, `UPDATE users SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		status, micros(at), tenantID, id))
}

const identCols = `id, tenant_id, user_id, kind, value, verified, is_primary, created_at, verified_at`

func scanIdent(s scanner) (*store.Identifier, error) {
	var i store.Identifier
	var created, verified int64
	if err := s.Scan(&i.ID, &i.TenantID, &i.UserID, &i.Kind, &i.Value, &i.Verified, &i.Primary, &created, &verified); err != nil {
		return nil, err
	}
	i.CreatedAt = fromMicros(created)
	i.VerifiedAt = fromMicros(verified)
	return &i, nil
}

func (t *tx) AddIdentifier(ctx context.Context, i *store.Identifier) error {
	err := t.insertUnique(ctx, `INSERT INTO user_identifiers (`+identCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		i.ID, i.TenantID, i.UserID, i.Kind, i.Value, i.Verified, i.Primary, micros(i.CreatedAt), micros(i.VerifiedAt))
	if err != nil {
		return fmt.Errorf("add %s: %w", i.Kind, err)
	}
	return nil
}

func (t *tx) UpdateIdentifier(ctx context.Context, i *store.Identifier) error {
	return affected(t.exec(ctx, `UPDATE user_identifiers SET verified = ?, is_primary = ?, verified_at = ?
		WHERE tenant_id = ? AND id = ?`, i.Verified, i.Primary, micros(i.VerifiedAt), i.TenantID, i.ID))
}

func (t *tx) DeleteIdentifier(ctx context.Context, tenantID, id string) error {
	return affected(t.exec(ctx, `DELETE FROM user_identifiers WHERE tenant_id = ? AND id = ?`, tenantID, id))
}

func (t *tx) ListIdentifiers(ctx context.Context, tenantID, userID string) ([]store.Identifier, error) {
	rows, err := t.query(ctx, `SELECT `+identCols+` FROM user_identifiers WHERE tenant_id = ? AND user_id = ?
		ORDER BY kind, created_at, id`, tenantID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Identifier
	for rows.Next() {
		i, err := scanIdent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *i)
	}
	return out, rows.Err()
}
