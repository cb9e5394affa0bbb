package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// mustChain records six varied events in "acme" and two in "other".
func mustChain(t *testing.T) *sqlstore.DB {
	t.Helper()
	db := mustStore(t, "acme", "other")
	op := audit.Meta{ActorType: audit.ActorOperator, ActorID: "op-1", IP: "192.0.2.10", Network: "192.0.2.0/24",
		UserAgent: "gatehouse-admin/1.0", SessionID: "s-op", Flow: "normal"}
	u := audit.Meta{ActorType: audit.ActorUser, ActorID: "u-1", IP: "203.0.113.5", Network: "203.0.113.0/24",
		UserAgent: "Mozilla/5.0", SessionID: "s-u", Flow: "recovery"}
	for i, e := range []struct {
		m audit.Meta
		e audit.Entry
	}{
		{op, audit.Entry{Type: audit.UserCreated, TargetType: "user", TargetID: "u-1", Details: map[string]any{"roles": []string{}}}},
		{u, audit.Entry{Type: audit.SessionCreated, TargetType: "session", TargetID: "s-u", Details: map[string]any{"amr": []string{"otp"}}}},
		{u, audit.Entry{Type: audit.SessionCreated, TargetType: "session", TargetID: "s-u2", Result: audit.Failure, Severity: audit.Low}},
		{op, audit.Entry{Type: audit.UserLocked, TargetType: "user", TargetID: "u-1", Severity: audit.Medium, Details: map[string]any{"reason": "phished"}}},
		{op, audit.Entry{Type: audit.SessionsRevoked, TargetType: "user", TargetID: "u-1", Details: map[string]int{"sessions_revoked": 2}}},
		{op, audit.Entry{Type: audit.UserUnlocked, TargetType: "user", TargetID: "u-1"}},
	} {
		e.e.TenantID = "acme"
		mustRecord(t, db, t0.Add(time.Duration(i)*time.Minute), e.m, e.e)
	}
	for i := range 2 {
		mustRecord(t, db, t0.Add(time.Duration(i)*time.Minute), audit.System(), audit.Entry{Type: audit.TenantCreated, TenantID: "other"})
	}
	return db
}

func mustExec(t *testing.T, db *sqlstore.DB, query string) {
	t.Helper()
	res, err := db.SQL().Exec(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s changed nothing", query)
	}
}

func TestVerifyIntactChain(t *testing.T) {
	ctx := context.Background()
	db := mustChain(t)
	for tenantID, want := range map[string]int64{"acme": 6, "other": 2, "empty": 0} {
		brk, n, err := audit.Verify(ctx, db, tenantID)
		if brk != nil || err != nil || n != want {
			t.Errorf("Verify(%s) = %v, %d, %v; want intact with %d events", tenantID, brk, n, err, want)
		}
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	const row = `UPDATE audit_events SET %s WHERE tenant_id = 'acme' AND seq = %d`
	for _, tc := range []struct {
		name   string
		tamper []string
		seq    int64
		reason string
	}{
		// Any single column of a stored event.
		{"type", []string{fmt.Sprintf(row, "type = 'user.unlocked'", 4)}, 4, "altered"},
		{"details", []string{fmt.Sprintf(row, `details = '{"reason":"routine"}'`, 4)}, 4, "altered"},
		{"details not JSON", []string{fmt.Sprintf(row, `details = '{'`, 4)}, 4, "altered"},
		{"actor_id", []string{fmt.Sprintf(row, "actor_id = 'op-2'", 3)}, 3, "altered"},
		{"actor_type", []string{fmt.Sprintf(row, "actor_type = 'system'", 3)}, 3, "altered"},
		{"occurred_at", []string{fmt.Sprintf(row, "occurred_at = occurred_at + 1", 3)}, 3, "altered"},
		{"ip", []string{fmt.Sprintf(row, "ip = '198.51.100.1'", 2)}, 2, "altered"},
		{"network", []string{fmt.Sprintf(row, "network = '198.51.100.0/24'", 2)}, 2, "altered"},
		{"user_agent", []string{fmt.Sprintf(row, "user_agent = 'curl'", 2)}, 2, "altered"},
		{"session_id", []string{fmt.Sprintf(row, "session_id = ''", 2)}, 2, "altered"},
		{"flow", []string{fmt.Sprintf(row, "flow = 'normal'", 2)}, 2, "altered"},
		{"result", []string{fmt.Sprintf(row, "result = 'success'", 3)}, 3, "altered"},
		{"severity", []string{fmt.Sprintf(row, "severity = 'info'", 4)}, 4, "altered"},
		{"target_type", []string{fmt.Sprintf(row, "target_type = 'session'", 1)}, 1, "altered"},
		{"target_id", []string{fmt.Sprintf(row, "target_id = 'u-2'", 1)}, 1, "altered"},
		{"id", []string{fmt.Sprintf(row, "id = 'forged'", 5)}, 5, "altered"},
		{"prev_hash", []string{fmt.Sprintf(row, "prev_hash = 'x'", 5)}, 5, "does not link"},
		{"hash", []string{fmt.Sprintf(row, "hash = 'x'", 5)}, 5, "altered"},
		{"newest event", []string{fmt.Sprintf(row, "result = 'denied'", 6)}, 6, "altered"},
		// Removing events.
		{"delete middle", []string{`DELETE FROM audit_events WHERE tenant_id = 'acme' AND seq = 3`}, 3, "missing"},
		{"delete first", []string{`DELETE FROM audit_events WHERE tenant_id = 'acme' AND seq = 1`}, 1, "missing"},
		{"delete newest", []string{`DELETE FROM audit_events WHERE tenant_id = 'acme' AND seq = 6`}, 6, "newest events were deleted"},
		{"delete two newest", []string{`DELETE FROM audit_events WHERE tenant_id = 'acme' AND seq >= 5`}, 6, "newest events were deleted"},
		{"delete all", []string{`DELETE FROM audit_events WHERE tenant_id = 'acme'`}, 6, "newest events were deleted"},
		{"move to another tenant", []string{fmt.Sprintf(row, "tenant_id = 'other'", 6)}, 6, "newest events were deleted"},
		// Reordering: rows 3 and 4 trade places (every column but seq swaps).
		{"swap two rows", []string{
			fmt.Sprintf(row, "seq = 1000", 3),
			fmt.Sprintf(row, "seq = 3", 4),
			fmt.Sprintf(row, "seq = 4", 1000),
		}, 3, "does not link"},
		// Hiding the deletion of the newest event by rewinding the head is caught
		// unless the head's hash is forged too.
		{"delete newest and rewind head seq", []string{
			`DELETE FROM audit_events WHERE tenant_id = 'acme' AND seq = 6`,
			`UPDATE audit_heads SET seq = 5 WHERE tenant_id = 'acme'`,
		}, 5, "hash does not match"},
		{"rewind head", []string{`UPDATE audit_heads SET seq = 5 WHERE tenant_id = 'acme'`}, 5, "head was rewound"},
		{"forge head hash", []string{`UPDATE audit_heads SET hash = 'x' WHERE tenant_id = 'acme'`}, 6, "hash does not match"},
		{"delete head", []string{`DELETE FROM audit_heads WHERE tenant_id = 'acme'`}, 0, "head was rewound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := mustChain(t)
			for _, q := range tc.tamper {
				mustExec(t, db, q)
			}
			brk, _, err := audit.Verify(ctx, db, "acme")
			if err != nil {
				t.Fatal(err)
			}
			if brk == nil {
				t.Fatal("Verify found the tampered chain intact")
			}
			if brk.TenantID != "acme" || brk.Seq != tc.seq || !strings.Contains(brk.Reason, tc.reason) {
				t.Errorf("Verify = %+v, want a break at #%d saying %q", brk, tc.seq, tc.reason)
			}
			if s := brk.String(); !strings.Contains(s, "tenant acme") || !strings.Contains(s, fmt.Sprintf("#%d", tc.seq)) {
				t.Errorf("Break.String() = %q, want it to name the tenant and the event", s)
			}
			// Chains are per tenant: the other one still verifies on its own (unless
			// the tampering moved an event into it).
			if tc.name != "move to another tenant" {
				if brk, n, err := audit.Verify(ctx, db, "other"); brk != nil || err != nil || n != 2 {
					t.Errorf("Verify(other) = %v, %d, %v; want intact", brk, n, err)
				}
			}
		})
	}
}

// A chain longer than one page of Verify's reads is still checked link by link
// across the page boundaries.
func TestVerifyLongChain(t *testing.T) {
	ctx := context.Background()
	db := mustStore(t, "big")
	const n = 2100
	err := db.InTx(ctx, func(tx store.Tx) error {
		for i := range n {
			if err := audit.Record(ctx, tx, t0.Add(time.Duration(i)*time.Second), audit.System(), audit.Entry{
				Type: audit.SessionCreated, TenantID: "big", TargetID: fmt.Sprint(i),
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if brk, got, err := audit.Verify(ctx, db, "big"); brk != nil || err != nil || got != n {
		t.Fatalf("Verify = %v, %d, %v; want intact with %d", brk, got, err, n)
	}
	mustExec(t, db, `UPDATE audit_events SET target_id = 'x' WHERE tenant_id = 'big' AND seq = 2001`)
	if brk, got, _ := audit.Verify(ctx, db, "big"); brk == nil || brk.Seq != 2001 || got != 2000 {
		t.Errorf("Verify after altering #2001 = %v, checked %d; want the break at #2001 after 2000 good events", brk, got)
	}
	mustExec(t, db, `DELETE FROM audit_events WHERE tenant_id = 'big' AND seq = 1001`)
	if brk, _, _ := audit.Verify(ctx, db, "big"); brk == nil || brk.Seq != 1001 || !strings.Contains(brk.Reason, "missing") {
		t.Errorf("Verify after deleting #1001 = %v, want it missing", brk)
	}
}
