package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func newEvent(tenant, id, typ string, at time.Time) *store.AuditEvent {
	return &store.AuditEvent{TenantID: tenant, ID: id, Type: typ, OccurredAt: at,
		ActorType: "user", ActorID: "ann", TargetType: "session", TargetID: "s1",
		IP: "203.0.113.7", Network: "203.0.113.0/24", UserAgent: "Mozilla/5.0", SessionID: "s1",
		Flow: "normal", Result: "success", Severity: "info", Details: []byte(`{"method":"passkey"}`)}
}

func appendEvent(t *testing.T, s store.Store, e *store.AuditEvent) {
	t.Helper()
	mustTx(t, s, func(tx store.Tx) error { return tx.AppendAudit(t.Context(), e) })
}

func queryAudit(t *testing.T, s store.Store, q store.AuditQuery) []store.AuditEvent {
	t.Helper()
	var got []store.AuditEvent
	mustView(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.QueryAudit(t.Context(), q)
		return err
	})
	return got
}

// checkChain verifies what `gatehouse audit verify` relies on: seq runs 1..n without a
// gap, each event links to its predecessor's hash, and each hash recomputes from the
// stored row.
func checkChain(t *testing.T, events []store.AuditEvent) {
	t.Helper()
	prev := ""
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d (%s) has seq %d, want %d", i, e.ID, e.Seq, i+1)
		}
		if e.PrevHash != prev {
			t.Fatalf("event seq %d links to %q, want the previous hash %q", e.Seq, e.PrevHash, prev)
		}
		if e.Hash != e.ChainHash() {
			t.Fatalf("event seq %d: stored hash %s does not recompute (%s)", e.Seq, e.Hash, e.ChainHash())
		}
		prev = e.Hash
	}
}

func testAudit(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()

	var appended []store.AuditEvent
	t.Run("append chains per tenant", func(t *testing.T) {
		// Interleave two tenants: each keeps its own sequence and chain.
		order := []struct{ tenant, id string }{{"acme", "a1"}, {"globex", "g1"}, {"acme", "a2"}, {"acme", "a3"}, {"globex", "g2"}}
		last := map[string]*store.AuditEvent{}
		count := map[string]int64{}
		for i, o := range order {
			e := newEvent(o.tenant, o.id, "session.created", t0.Add(time.Duration(i)*time.Second))
			appendEvent(t, s, e)
			count[o.tenant]++
			if e.Seq != count[o.tenant] {
				t.Errorf("%s: seq = %d, want %d", o.id, e.Seq, count[o.tenant])
			}
			wantPrev := ""
			if p := last[o.tenant]; p != nil {
				wantPrev = p.Hash
			}
			if e.PrevHash != wantPrev {
				t.Errorf("%s: PrevHash = %q, want %q", o.id, e.PrevHash, wantPrev)
			}
			if e.Hash == "" || e.Hash != e.ChainHash() {
				t.Errorf("%s: Hash = %q, want ChainHash() %q", o.id, e.Hash, e.ChainHash())
			}
			last[o.tenant] = e
			if o.tenant == "acme" {
				appended = append(appended, *e)
			}
		}
		mustView(t, s, func(tx store.Tx) error {
			seq, hash, err := tx.AuditHead(ctx, "acme")
			if err != nil {
				return err
			}
			if seq != 3 || hash != last["acme"].Hash {
				t.Errorf("AuditHead(acme) = %d %q, want 3 %q", seq, hash, last["acme"].Hash)
			}
			seq, hash, err = tx.AuditHead(ctx, "initech")
			if err != nil || seq != 0 || hash != "" {
				t.Errorf("AuditHead(no events) = %d %q %v, want 0 \"\" nil", seq, hash, err)
			}
			return nil
		})
	})

	t.Run("stored events read back as appended", func(t *testing.T) {
		got := queryAudit(t, s, store.AuditQuery{TenantID: "acme"})
		wantEqual(t, "QueryAudit(acme)", got, appended)
		checkChain(t, got)
	})

	t.Run("details", func(t *testing.T) {
		cases := []struct {
			name    string
			details string
			ok      bool
		}{
			{"empty becomes an object", "", true},
			{"object", `{"n":1,"ok":true}`, true},
			{"not JSON", `{"n":`, false},
			{"plain text", `hello`, false},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := newEvent("details", fmt.Sprintf("d%d", i), "user.updated", t0)
				e.Details = []byte(c.details)
				err := txErr(t, s, func(tx store.Tx) error { return tx.AppendAudit(ctx, e) })
				if (err == nil) != c.ok {
					t.Fatalf("AppendAudit(details %q) error = %v, want ok=%v", c.details, err, c.ok)
				}
			})
		}
		// Rejected events took no sequence number: the chain has no holes.
		checkChain(t, queryAudit(t, s, store.AuditQuery{TenantID: "details"}))
	})
}

// testAuditConcurrent appends from two nodes at once; the chain must stay whole.
func testAuditConcurrent(t *testing.T, h Harness) {
	a, b := h.OpenPair(t)
	ctx := t.Context()
	const workers, perWorker = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		node := []store.Store{a, b}[w%2]
		wg.Go(func() {
			for i := range perWorker {
				e := newEvent("acme", fmt.Sprintf("w%d-%03d", w, i), "session.created", t0.Add(time.Duration(i)*time.Millisecond))
				if err := node.InTx(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, e) }); err != nil {
					errs <- fmt.Errorf("worker %d event %d: %w", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := queryAudit(t, a, store.AuditQuery{TenantID: "acme"})
	if len(got) != workers*perWorker {
		t.Fatalf("%d events stored, want %d", len(got), workers*perWorker)
	}
	checkChain(t, got)
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.ID] = true
	}
	if len(seen) != workers*perWorker {
		t.Errorf("%d distinct event ids stored, want %d", len(seen), workers*perWorker)
	}
	mustView(t, b, func(tx store.Tx) error {
		seq, hash, err := tx.AuditHead(ctx, "acme")
		if err == nil && (seq != int64(len(got)) || hash != got[len(got)-1].Hash) {
			t.Errorf("AuditHead = %d %q, want the last event %d %q", seq, hash, len(got), got[len(got)-1].Hash)
		}
		return err
	})
}

func testAuditQuery(t *testing.T, h Harness) {
	s := h.Open(t)
	type ev struct {
		id, typ, actor, target string
		at                     time.Duration
	}
	seed := []ev{
		{"e1", "session.created", "ann", "s1", 0},
		{"e2", "session.revoked", "admin", "ann", time.Minute},
		{"e3", "sessions.purged", "system", "", 2 * time.Minute},
		{"e4", "user.updated", "bob", "bob", 3 * time.Minute},
		{"e5", "session.created", "bob", "s2", 4 * time.Minute},
		{"e6", "device_code.approved", "bob", "dc1", 5 * time.Minute},
		{"e7", "device-code.approved", "bob", "dc2", 6 * time.Minute},
	}
	for _, e := range seed {
		ae := newEvent("acme", e.id, e.typ, t0.Add(e.at))
		ae.ActorID, ae.TargetID = e.actor, e.target
		appendEvent(t, s, ae)
	}
	other := newEvent("globex", "x1", "session.created", t0)
	appendEvent(t, s, other) // actor ann, in another tenant

	cases := []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"tenant, oldest first", store.AuditQuery{TenantID: "acme"}, []string{"e1", "e2", "e3", "e4", "e5", "e6", "e7"}},
		{"user as actor or target", store.AuditQuery{TenantID: "acme", UserID: "ann"}, []string{"e1", "e2"}},
		{"user across tenants", store.AuditQuery{UserID: "ann"}, []string{"e1", "e2", "x1"}},
		{"exact type", store.AuditQuery{TenantID: "acme", Type: "session.created"}, []string{"e1", "e5"}},
		{"exact type is not a prefix", store.AuditQuery{TenantID: "acme", Type: "session"}, []string{}},
		{"type prefix", store.AuditQuery{TenantID: "acme", Type: "session."}, []string{"e1", "e2", "e5"}},
		{"type prefix is case-sensitive", store.AuditQuery{TenantID: "acme", Type: "Session."}, []string{}},
		{"type prefix is not a pattern", store.AuditQuery{TenantID: "acme", Type: "device_code."}, []string{"e6"}},
		{"time range: since inclusive, until exclusive", store.AuditQuery{TenantID: "acme", Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []string{"e2", "e3"}},
		{"after seq", store.AuditQuery{TenantID: "acme", AfterSeq: 5}, []string{"e6", "e7"}},
		{"newest with limit", store.AuditQuery{TenantID: "acme", Newest: true, Limit: 3}, []string{"e7", "e6", "e5"}},
		{"limit, oldest first", store.AuditQuery{TenantID: "acme", Limit: 2}, []string{"e1", "e2"}},
		{"filters combine", store.AuditQuery{TenantID: "acme", UserID: "bob", Type: "session.", Newest: true}, []string{"e5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := queryAudit(t, s, c.q)
			wantEqual(t, "QueryAudit", ids(got, func(e store.AuditEvent) string { return e.ID }), c.want)
		})
	}
}
