package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

var t0 = time.Date(2026, 7, 1, 8, 0, 0, 987654321, time.UTC)

// mustStore opens a migrated SQLite store holding the given tenants and no events.
func mustStore(t *testing.T, tenants ...string) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range tenants {
		err := db.InTx(ctx, func(tx store.Tx) error {
			return tx.CreateTenant(ctx, &store.Tenant{ID: id, DisplayName: id, CreatedAt: t0})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// mustRecord commits one event.
func mustRecord(t *testing.T, db store.Store, at time.Time, m audit.Meta, e audit.Entry) {
	t.Helper()
	err := db.InTx(context.Background(), func(tx store.Tx) error {
		return audit.Record(context.Background(), tx, at, m, e)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustQuery(t *testing.T, db store.Store, q store.AuditQuery) []store.AuditEvent {
	t.Helper()
	var out []store.AuditEvent
	err := db.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.QueryAudit(context.Background(), q)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRecord(t *testing.T) {
	db := mustStore(t, "acme")
	m := audit.Meta{
		ActorType: audit.ActorUser, ActorID: "u-1", IP: "203.0.113.9", Network: "203.0.113.0/24",
		UserAgent: "Mozilla/5.0", SessionID: "s-1", Flow: "recovery",
	}
	mustRecord(t, db, t0, m, audit.Entry{
		Type: audit.SessionCreated, TenantID: "acme", TargetType: "session", TargetID: "s-1",
		Details: map[string]any{"amr": []string{"hwk", "user"}},
	})
	mustRecord(t, db, t0.Add(time.Second), audit.System(), audit.Entry{
		Type: audit.SessionRevoked, TenantID: "acme", TargetType: "session", TargetID: "s-1",
		Result: audit.Denied, Severity: audit.High,
	})
	evs := mustQuery(t, db, store.AuditQuery{TenantID: "acme"})
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	e := evs[0]
	if e.Seq != 1 || len(e.ID) != 32 || e.Type != audit.SessionCreated || !e.OccurredAt.Equal(store.Micro(t0)) ||
		e.ActorType != "user" || e.ActorID != "u-1" || e.IP != m.IP || e.Network != m.Network || e.UserAgent != m.UserAgent ||
		e.SessionID != "s-1" || e.Flow != "recovery" || e.TargetType != "session" || e.TargetID != "s-1" {
		t.Errorf("recorded event = %+v, want every field of the entry and meta", e)
	}
	if e.Result != audit.Success || e.Severity != audit.Info {
		t.Errorf("defaults: result %q severity %q, want success and info", e.Result, e.Severity)
	}
	if string(e.Details) != `{"amr":["hwk","user"]}` {
		t.Errorf("details = %s", e.Details)
	}
	f := evs[1]
	if f.Seq != 2 || f.PrevHash != e.Hash || f.Result != audit.Denied || f.Severity != audit.High || string(f.Details) != "{}" ||
		f.ActorType != audit.ActorSystem || f.ActorID != "gatehouse" {
		t.Errorf("second event = %+v, want it chained to the first, denied, high, with empty details", f)
	}
	if e.ID == f.ID {
		t.Error("two events share an id")
	}

	// Details that cannot be marshalled fail the transaction instead of being dropped.
	err := db.InTx(context.Background(), func(tx store.Tx) error {
		return audit.Record(context.Background(), tx, t0, m, audit.Entry{Type: "x.y", TenantID: "acme", Details: func() {}})
	})
	if err == nil || !strings.Contains(err.Error(), "x.y") {
		t.Errorf("Record with unmarshallable details = %v, want an error naming the event", err)
	}
	if n := len(mustQuery(t, db, store.AuditQuery{TenantID: "acme"})); n != 2 {
		t.Errorf("%d events after the failed Record, want 2", n)
	}

	if cli := audit.CLI(""); cli.ActorType != audit.ActorCLI || cli.ActorID != "local" {
		t.Errorf("CLI(\"\") = %+v", cli)
	}
	if cli := audit.CLI("root"); cli.ActorID != "root" {
		t.Errorf("CLI(root) = %+v", cli)
	}
}

// Request headers are whatever a client sends: the stored event must still be valid
// text of bounded size (PostgreSQL refuses invalid UTF-8 in TEXT, and a refused audit
// event fails the sign-in it belongs to) and the chain must still verify.
func TestRecordSanitizesRequestText(t *testing.T) {
	db := mustStore(t, "acme")
	for _, tc := range []struct {
		ua      string
		minSize int // a long value is cut, but not much more than it has to be
	}{
		{strings.Repeat("é", 300), 510},          // 600 bytes: the cut must not split a rune
		{strings.Repeat("a", 511) + "€abc", 511}, // the 512th byte falls inside "€"
		{"curl/8.0 \xff\xfe", 9},                 // obs-text bytes are legal in HTTP header values
		{"nul\x00byte", 7},
	} {
		mustRecord(t, db, t0, audit.Meta{ActorType: audit.ActorUser, ActorID: "u\xff", UserAgent: tc.ua, Flow: "x\xc3"},
			audit.Entry{Type: audit.SessionCreated, TenantID: "acme", TargetID: "t\xe2\x82"})
		evs := mustQuery(t, db, store.AuditQuery{TenantID: "acme", Newest: true, Limit: 1})
		e := evs[0]
		for name, v := range map[string]string{"user_agent": e.UserAgent, "actor_id": e.ActorID, "flow": e.Flow, "target_id": e.TargetID} {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				t.Errorf("event #%d %s = %q, not valid text", e.Seq, name, v)
			}
		}
		if len(e.UserAgent) > 512 || len(e.UserAgent) < tc.minSize {
			t.Errorf("user agent %q stored as %q (%d bytes), want between %d and 512 bytes", tc.ua, e.UserAgent, len(e.UserAgent), tc.minSize)
		}
	}
	// Ordinary values are stored exactly as given.
	m := audit.Meta{ActorType: audit.ActorUser, ActorID: "u-1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Ünïcödé"}
	mustRecord(t, db, t0, m, audit.Entry{Type: audit.SessionCreated, TenantID: "acme", TargetID: "s-1"})
	if e := mustQuery(t, db, store.AuditQuery{TenantID: "acme", Newest: true, Limit: 1})[0]; e.UserAgent != m.UserAgent || e.ActorID != "u-1" || e.TargetID != "s-1" {
		t.Errorf("ordinary values were changed: %+v", e)
	}
	if brk, n, err := audit.Verify(context.Background(), db, "acme"); brk != nil || err != nil || n != 5 {
		t.Errorf("Verify = %v, %d, %v; want an intact chain of 5", brk, n, err)
	}
}

func TestInvariant5_AuditEventInSameTransaction(t *testing.T) {
	ctx := context.Background()
	db := mustStore(t)
	boom := errors.New("a later step of the change failed")
	change := func(id string, fail error) error {
		return db.InTx(ctx, func(tx store.Tx) error {
			if err := tx.CreateTenant(ctx, &store.Tenant{ID: id, DisplayName: id, CreatedAt: t0}); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, t0, audit.CLI("ops"), audit.Entry{
				Type: audit.TenantCreated, TenantID: id, TargetType: "tenant", TargetID: id,
			}); err != nil {
				return err
			}
			return fail
		})
	}

	if err := change("rolled-back", boom); !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the change's own error", err)
	}
	err := db.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTenant(ctx, "rolled-back"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the rolled-back change is visible: %v", err)
		}
		if evs, err := tx.QueryAudit(ctx, store.AuditQuery{TenantID: "rolled-back"}); err != nil || len(evs) != 0 {
			t.Errorf("the rolled-back change left %d audit events (%v)", len(evs), err)
		}
		if seq, hash, err := tx.AuditHead(ctx, "rolled-back"); err != nil || seq != 0 || hash != "" {
			t.Errorf("the rolled-back change moved the chain head to #%d %q (%v)", seq, hash, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := change("committed", nil); err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTenant(ctx, "committed"); err != nil {
			t.Errorf("the committed change is missing: %v", err)
		}
		evs, err := tx.QueryAudit(ctx, store.AuditQuery{TenantID: "committed"})
		if err != nil || len(evs) != 1 || evs[0].Type != audit.TenantCreated || evs[0].TargetID != "committed" {
			t.Errorf("the committed change's audit events = %+v, %v; want its tenant.created", evs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The rolled-back attempt left no gap: retrying it starts the chain at #1.
	if err := change("rolled-back", nil); err != nil {
		t.Fatal(err)
	}
	if evs := mustQuery(t, db, store.AuditQuery{TenantID: "rolled-back"}); len(evs) != 1 || evs[0].Seq != 1 {
		t.Errorf("after the retry: %+v, want one event at #1", evs)
	}
	for _, id := range []string{"rolled-back", "committed"} {
		if brk, _, err := audit.Verify(ctx, db, id); brk != nil || err != nil {
			t.Errorf("Verify(%s) = %v, %v", id, brk, err)
		}
	}
}

func TestExportRecordJSON(t *testing.T) {
	e := &store.AuditEvent{
		TenantID: "acme", Seq: 3, ID: "id", Type: "user.locked", OccurredAt: t0, ActorType: "operator", ActorID: "op",
		TargetType: "user", TargetID: "u", IP: "192.0.2.1", Network: "192.0.2.0/24", UserAgent: "ua", SessionID: "s",
		Flow: "normal", Result: "success", Severity: "medium", Details: []byte(`{"reason":"x"}`), PrevHash: "p", Hash: "h",
	}
	b, err := json.Marshal(audit.ToRecord(e))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"tenant": "acme", "seq": 3.0, "id": "id", "type": "user.locked", "time": t0.Format(time.RFC3339Nano),
		"actor_type": "operator", "actor": "op", "target_type": "user", "target": "u", "ip": "192.0.2.1",
		"network": "192.0.2.0/24", "user_agent": "ua", "session": "s", "flow": "normal", "result": "success",
		"severity": "medium", "prev_hash": "p", "hash": "h",
	} {
		if got[k] != v {
			t.Errorf("export %q = %v, want %v", k, got[k], v)
		}
	}
	if d, ok := got["details"].(map[string]any); !ok || d["reason"] != "x" {
		t.Errorf("export details = %v, want the object itself, not a string", got["details"])
	}
}
