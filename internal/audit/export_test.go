package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// mustExport runs Export and decodes its output strictly, one record per line.
func mustExport(t *testing.T, db store.Store, q store.AuditQuery) []audit.ExportRecord {
	t.Helper()
	var buf bytes.Buffer
	n, err := audit.Export(context.Background(), db, &buf, q)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.ExportRecord
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var r audit.ExportRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %d is not one export record: %v\n%s", len(out)+1, err, sc.Bytes())
		}
		if dec.More() {
			t.Fatalf("line %d holds more than one JSON value: %s", len(out)+1, sc.Bytes())
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(out) {
		t.Errorf("Export reported %d events but wrote %d lines", n, len(out))
	}
	return out
}

func keys(rs []audit.ExportRecord) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s#%d", r.Tenant, r.Seq))
	}
	return out
}

func TestExport(t *testing.T) {
	db := mustChain(t) // acme #1-#6 one minute apart from t0; other #1-#2 likewise
	// A tenant with no events exports nothing and does not fail the export.
	if err := db.InTx(context.Background(), func(tx store.Tx) error {
		return tx.CreateTenant(context.Background(), &store.Tenant{ID: "empty", DisplayName: "empty", CreatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    store.AuditQuery
		want []string
	}{
		{"one tenant", store.AuditQuery{TenantID: "acme"},
			[]string{"acme#1", "acme#2", "acme#3", "acme#4", "acme#5", "acme#6"}},
		{"every tenant", store.AuditQuery{},
			[]string{"acme#1", "acme#2", "acme#3", "acme#4", "acme#5", "acme#6", "other#1", "other#2"}},
		{"since (inclusive)", store.AuditQuery{TenantID: "acme", Since: t0.Add(4 * time.Minute)},
			[]string{"acme#5", "acme#6"}},
		{"until (exclusive)", store.AuditQuery{TenantID: "acme", Until: t0.Add(2 * time.Minute)},
			[]string{"acme#1", "acme#2"}},
		{"window across tenants", store.AuditQuery{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)},
			[]string{"acme#2", "acme#3", "other#2"}},
		{"type prefix", store.AuditQuery{TenantID: "acme", Type: "session."},
			[]string{"acme#2", "acme#3", "acme#5"}},
		{"exact type", store.AuditQuery{Type: audit.UserLocked}, []string{"acme#4"}},
		{"exact type is not a prefix", store.AuditQuery{Type: "user"}, nil},
		{"prefix without its dot matches nothing", store.AuditQuery{Type: "sess"}, nil},
		{"type and window", store.AuditQuery{Type: "user.", Since: t0.Add(time.Minute)}, []string{"acme#4", "acme#6"}},
		{"unknown tenant", store.AuditQuery{TenantID: "nope"}, nil},
		{"empty tenant", store.AuditQuery{TenantID: "empty"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := keys(mustExport(t, db, tc.q)); !slices.Equal(got, tc.want) {
				t.Errorf("Export(%+v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

// An exported log can be verified without the database: every line carries what the
// hash covers, and the lines link up.
func TestExportIsVerifiableOffline(t *testing.T) {
	db := mustChain(t)
	rs := mustExport(t, db, store.AuditQuery{TenantID: "acme"})
	stored := mustQuery(t, db, store.AuditQuery{TenantID: "acme"})
	if len(rs) != len(stored) {
		t.Fatalf("exported %d of %d events", len(rs), len(stored))
	}
	prev := ""
	for i, r := range rs {
		e := store.AuditEvent{
			TenantID: r.Tenant, Seq: r.Seq, ID: r.ID, Type: r.Type, OccurredAt: r.Time, ActorType: r.ActorType,
			ActorID: r.Actor, TargetType: r.TargetType, TargetID: r.Target, IP: r.IP, Network: r.Network,
			UserAgent: r.UserAgent, SessionID: r.Session, Flow: r.Flow, Result: r.Result, Severity: r.Severity,
			Details: r.Details, PrevHash: r.PrevHash, Hash: r.Hash,
		}
		if e.PrevHash != prev || e.ChainHash() != e.Hash || e.Hash != stored[i].Hash {
			t.Errorf("exported event #%d does not verify on its own: %+v", r.Seq, r)
		}
		if !r.Time.Equal(stored[i].OccurredAt) || !bytes.Equal(r.Details, stored[i].Details) {
			t.Errorf("exported event #%d lost its time or details: %v %s", r.Seq, r.Time, r.Details)
		}
		prev = e.Hash
	}
}

// More events than one page of Export's reads come out complete and in order.
func TestExportLongChain(t *testing.T) {
	ctx := context.Background()
	db := mustStore(t, "a", "b")
	const perTenant = 1100 // Export reads 1000 at a time
	for _, tenantID := range []string{"b", "a"} {
		err := db.InTx(ctx, func(tx store.Tx) error {
			for i := range perTenant {
				if err := audit.Record(ctx, tx, t0.Add(time.Duration(i)*time.Millisecond), audit.System(), audit.Entry{
					Type: audit.SessionCreated, TenantID: tenantID,
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rs := mustExport(t, db, store.AuditQuery{})
	if len(rs) != 2*perTenant {
		t.Fatalf("exported %d events, want %d", len(rs), 2*perTenant)
	}
	for i, r := range rs {
		wantTenant, wantSeq := "a", int64(i+1)
		if i >= perTenant {
			wantTenant, wantSeq = "b", int64(i-perTenant+1)
		}
		if r.Tenant != wantTenant || r.Seq != wantSeq {
			t.Fatalf("line %d is %s#%d, want %s#%d", i+1, r.Tenant, r.Seq, wantTenant, wantSeq)
		}
	}
}
