package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const auditCols = `tenant_id, seq, id, type, occurred_at, actor_type, actor_id, target_type, target_id,
	ip, network, user_agent, session_id, flow, result, severity, details, prev_hash, hash`

func scanAudit(s scanner) (*store.AuditEvent, error) {
	var e store.AuditEvent
	var at int64
	var details string
	err := s.Scan(&e.TenantID, &e.Seq, &e.ID, &e.Type, &at, &e.ActorType, &e.ActorID, &e.TargetType, &e.TargetID,
		&e.IP, &e.Network, &e.UserAgent, &e.SessionID, &e.Flow, &e.Result, &e.Severity, &details, &e.PrevHash, &e.Hash)
	if err != nil {
		return nil, err
	}
	e.OccurredAt = fromMicros(at)
	e.Details = []byte(details)
	return &e, nil
}

func (t *tx) AppendAudit(ctx context.Context, e *store.AuditEvent) error {
	if len(e.Details) == 0 {
		e.Details = []byte("{}")
	}
	if !json.Valid(e.Details) {
		return fmt.Errorf("audit %s: details are not valid JSON", e.Type)
	}
	e.OccurredAt = store.Micro(e.OccurredAt)
	// The head row serializes appends per tenant: the UPDATE takes its row lock (on
	// PostgreSQL) or runs under the single writer (on SQLite) until commit, so two
	// nodes can never chain two events to the same predecessor.
	// The head exists after a tenant's first event, so the common case is one
	// statement; only the first append creates it.
	err := t.queryRow(ctx, `UPDATE audit_heads SET seq = seq + 1 WHERE tenant_id = ? RETURNING seq, hash`,
		e.TenantID).Scan(&e.Seq, &e.PrevHash)
	if err = t.db.classify(err); err == errNotFound {
		if _, err := t.exec(ctx, `INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (?, 0, '')
			ON CONFLICT (tenant_id) DO NOTHING`, e.TenantID); err != nil {
			return err
		}
		err = t.db.classify(t.queryRow(ctx, `UPDATE audit_heads SET seq = seq + 1 WHERE tenant_id = ? RETURNING seq, hash`,
			e.TenantID).Scan(&e.Seq, &e.PrevHash))
	}
	if err != nil {
		return err
	}
	e.Hash = e.ChainHash()
	if _, err := t.exec(ctx, `INSERT INTO audit_events (`+auditCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.TenantID, e.Seq, e.ID, e.Type, micros(e.OccurredAt), e.ActorType, e.ActorID, e.TargetType, e.TargetID,
		e.IP, e.Network, e.UserAgent, e.SessionID, e.Flow, e.Result, e.Severity, string(e.Details), e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("append audit %s: %w", e.Type, err)
	}
	_, err = t.exec(ctx, `UPDATE audit_heads SET hash = ? WHERE tenant_id = ?`, e.Hash, e.TenantID)
	return err
}

func (t *tx) AuditHead(ctx context.Context, tenantID string) (int64, string, error) {
	var seq int64
	var hash string
	err := t.queryRow(ctx, `SELECT seq, hash FROM audit_heads WHERE tenant_id = ?`, tenantID).Scan(&seq, &hash)
	if err != nil {
		err = t.db.classify(err)
		if err == store.ErrNotFound {
			return 0, "", nil
		}
		return 0, "", err
	}
	return seq, hash, nil
}

func (t *tx) QueryAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	var where []string
	var args []any
	if q.TenantID != "" {
		where = append(where, "tenant_id = ?")
		args = append(args, q.TenantID)
	}
	if q.UserID != "" {
		where = append(where, "(actor_id = ? OR target_id = ?)")
		args = append(args, q.UserID, q.UserID)
	}
	if q.Type != "" {
		if strings.HasSuffix(q.Type, ".") {
			// Not LIKE: it would read "_" in a type as a wildcard and, on SQLite, ignore case.
			where = append(where, "substr(type, 1, ?) = ?")
			args = append(args, utf8.RuneCountInString(q.Type), q.Type)
		} else {
			where = append(where, "type = ?")
			args = append(args, q.Type)
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "occurred_at >= ?")
		args = append(args, micros(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "occurred_at < ?")
		args = append(args, micros(q.Until))
	}
	if q.AfterSeq > 0 {
		where = append(where, "seq > ?")
		args = append(args, q.AfterSeq)
	}
	query := `SELECT ` + auditCols + ` FROM audit_events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	if q.Newest {
		query += ` ORDER BY occurred_at DESC, tenant_id, seq DESC`
	} else {
		query += ` ORDER BY tenant_id, seq`
	}
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditEvent
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}
