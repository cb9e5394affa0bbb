package tenant_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// mustStore opens a migrated SQLite store in a temporary directory.
func mustStore(t *testing.T) *sqlstore.DB {
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
	return db
}

func mustService(t *testing.T) (*tenant.Service, *sqlstore.DB) {
	t.Helper()
	db := mustStore(t)
	return &tenant.Service{Store: db, Now: func() time.Time { return t0 }}, db
}

func mustEvents(t *testing.T, db store.Store, tenantID string) []store.AuditEvent {
	t.Helper()
	var out []store.AuditEvent
	err := db.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.QueryAudit(context.Background(), store.AuditQuery{TenantID: tenantID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustPolicies(t *testing.T, db store.Store, tenantID string) []store.Policy {
	t.Helper()
	var out []store.Policy
	err := db.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.ListPolicies(context.Background(), tenantID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustCount(t *testing.T, db *sqlstore.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func types(events []store.AuditEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

func TestCreateValidatesID(t *testing.T) {
	ctx := context.Background()
	svc, db := mustService(t)
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"acme", true},
		{"a", true},
		{"7eleven", true},
		{"acme-eu-2", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"Acme", false},
		{"-acme", false},
		{"acme_eu", false},
		{"acme.eu", false},
		{"ac me", false},
		{"acme/x", false},
		{"../acme", false},
		{"acme\n", false},
		{"acmé", false},
		{"%61cme", false},
	} {
		_, err := svc.Create(ctx, tc.id, "", audit.CLI("ops"))
		if tc.ok != (err == nil) {
			t.Errorf("Create(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
		if tc.ok != tenant.ValidID(tc.id) {
			t.Errorf("ValidID(%q) = %v, want %v", tc.id, !tc.ok, tc.ok)
		}
		if !tc.ok && !errors.Is(err, tenant.ErrInvalid) {
			t.Errorf("Create(%q) = %v, want an error wrapping ErrInvalid", tc.id, err)
		}
	}
	if n := mustCount(t, db, `SELECT COUNT(*) FROM tenants`); n != 5 {
		t.Errorf("%d tenants stored, want the 5 valid ones", n)
	}
	if n := mustCount(t, db, `SELECT COUNT(*) FROM audit_events`); n != 10 {
		t.Errorf("%d audit events, want 2 for each of the 5 valid tenants", n)
	}
	for _, name := range []string{strings.Repeat("x", 201), "Acme \xff"} {
		if _, err := svc.Create(ctx, "named", name, audit.CLI("ops")); !errors.Is(err, tenant.ErrInvalid) {
			t.Errorf("Create with display name %q = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := svc.Create(ctx, "named", strings.Repeat("é", 100), audit.CLI("ops")); err != nil {
		t.Errorf("Create with a 100-letter accented name = %v", err)
	}
}

func TestCreateWritesTenantPolicyAndAuditTogether(t *testing.T) {
	ctx := context.Background()
	svc, db := mustService(t)
	m := audit.Meta{ActorType: audit.ActorOperator, ActorID: "op-1", IP: "192.0.2.7"}
	got, err := svc.Create(ctx, "acme", "Acme Corp", m)
	if err != nil {
		t.Fatal(err)
	}
	want := &store.Tenant{ID: "acme", DisplayName: "Acme Corp", CreatedAt: store.Micro(t0)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Create returned %+v, want %+v", got, want)
	}
	stored, err := svc.Get(ctx, "acme")
	if err != nil || !reflect.DeepEqual(stored, want) {
		t.Errorf("Get = %+v, %v; want %+v", stored, err, want)
	}

	p, err := svc.Policy(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	wantPolicy := tenant.DefaultPolicy()
	wantPolicy.Version = 1
	if !reflect.DeepEqual(p, wantPolicy) {
		t.Errorf("new tenant's policy = %+v, want the default at version 1", p)
	}
	if ps := mustPolicies(t, db, "acme"); len(ps) != 1 || ps[0].CreatedBy != "operator:op-1" {
		t.Errorf("stored policies = %+v, want one version created by operator:op-1", ps)
	}

	events := mustEvents(t, db, "acme")
	if got := types(events); !slices.Equal(got, []string{audit.TenantCreated, audit.PolicyChanged}) {
		t.Fatalf("audit events = %v, want tenant.created then policy.changed", got)
	}
	for _, e := range events {
		if e.ActorType != audit.ActorOperator || e.ActorID != "op-1" || e.IP != "192.0.2.7" || !e.OccurredAt.Equal(store.Micro(t0)) {
			t.Errorf("event %s does not record who, from where and when: %+v", e.Type, e)
		}
	}
	if !strings.Contains(string(events[0].Details), `"display_name":"Acme Corp"`) {
		t.Errorf("tenant.created details = %s, want the display name", events[0].Details)
	}
	if v := policyVersion(t, events[1]); v != 1 {
		t.Errorf("policy.changed details = %s, want version 1", events[1].Details)
	}

	// The display name defaults to the id.
	if tn, err := svc.Create(ctx, "beta", "", m); err != nil || tn.DisplayName != "beta" {
		t.Errorf("Create without a display name = %+v, %v; want the id as its name", tn, err)
	}
}

// policyVersion returns the version a policy.changed event records, checking that it
// also records the version it replaced.
func policyVersion(t *testing.T, e store.AuditEvent) int {
	t.Helper()
	var d struct {
		Version  *int `json:"version"`
		Previous *int `json:"previous_version"`
	}
	if err := json.Unmarshal(e.Details, &d); err != nil {
		t.Fatalf("event %s details %s: %v", e.Type, e.Details, err)
	}
	if d.Version == nil || d.Previous == nil || *d.Previous != *d.Version-1 {
		t.Fatalf("event %s details %s: want the new and the previous version", e.Type, e.Details)
	}
	return *d.Version
}

func TestCreateDuplicateIsConflictAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	svc, db := mustService(t)
	if _, err := svc.Create(ctx, "acme", "Acme", audit.System()); err != nil {
		t.Fatal(err)
	}
	_, err := svc.Create(ctx, "acme", "Impostor", audit.System())
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second Create(acme) = %v, want an error wrapping store.ErrConflict", err)
	}
	if tn, _ := svc.Get(ctx, "acme"); tn.DisplayName != "Acme" {
		t.Errorf("the duplicate renamed the tenant to %q", tn.DisplayName)
	}
	if n := len(mustEvents(t, db, "acme")); n != 2 {
		t.Errorf("%d audit events after the refused duplicate, want the first tenant's 2", n)
	}
	if n := len(mustPolicies(t, db, "acme")); n != 1 {
		t.Errorf("%d policy versions after the refused duplicate, want 1", n)
	}
}

func TestCreateRollsBackWhenAnyWriteFails(t *testing.T) {
	ctx := context.Background()
	svc, db := mustService(t)
	// Occupy the slot the policy.changed event would take, so the last write of Create
	// fails after the tenant, its policy and tenant.created were written.
	if _, err := db.SQL().Exec(`INSERT INTO audit_events (tenant_id, seq, id, type, occurred_at, actor_type, actor_id,
		target_type, target_id, ip, network, user_agent, session_id, flow, result, severity, details, prev_hash, hash)
		VALUES ('acme', 2, 'squatter', 'x', 0, '', '', '', '', '', '', '', '', '', '', '', '{}', '', '')`); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, "acme", "Acme", audit.System()); err == nil {
		t.Fatal("Create succeeded although its audit event could not be written")
	}
	if _, err := svc.Get(ctx, "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after the failed Create = %v, want ErrNotFound: the tenant outlived its audit event", err)
	}
	if n := mustCount(t, db, `SELECT COUNT(*) FROM tenant_policies WHERE tenant_id = 'acme'`); n != 0 {
		t.Errorf("%d policy versions left behind", n)
	}
	if n := mustCount(t, db, `SELECT COUNT(*) FROM audit_events WHERE tenant_id = 'acme' AND id <> 'squatter'`); n != 0 {
		t.Errorf("%d audit events left behind", n)
	}
	if n := mustCount(t, db, `SELECT COUNT(*) FROM audit_heads WHERE tenant_id = 'acme' AND seq > 0`); n != 0 {
		t.Errorf("the audit chain head moved although nothing was committed")
	}
}

func TestSetPolicy(t *testing.T) {
	ctx := context.Background()
	svc, db := mustService(t)
	if _, err := svc.Create(ctx, "acme", "Acme", audit.System()); err != nil {
		t.Fatal(err)
	}
	op := audit.Meta{ActorType: audit.ActorOperator, ActorID: "op-2"}

	p := tenant.DefaultPolicy()
	p.Flows.DeviceCode = true
	p.Device.Proximity = "warn"
	p.Version = 42 // assigned by the store, whatever the caller says
	got, err := svc.SetPolicy(ctx, "acme", p, op)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || !got.Flows.DeviceCode || got.Device.Proximity != "warn" {
		t.Errorf("SetPolicy = version %d %+v, want version 2 with the device grant on", got.Version, got.Flows)
	}
	cur, err := svc.Policy(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cur, got) {
		t.Errorf("current policy = %+v, want what SetPolicy returned: %+v", cur, got)
	}
	if got, err = svc.SetPolicy(ctx, "acme", tenant.DefaultPolicy(), op); err != nil || got.Version != 3 {
		t.Fatalf("second SetPolicy = v%d, %v; want v3", got.Version, err)
	}

	events := mustEvents(t, db, "acme")
	var versions []int
	for _, e := range events {
		if e.Type == audit.PolicyChanged {
			versions = append(versions, policyVersion(t, e))
		}
	}
	if !slices.Equal(versions, []int{1, 2, 3}) {
		t.Errorf("policy.changed events record versions %v, want [1 2 3]", versions)
	}
	if last := events[len(events)-1]; last.ActorID != "op-2" || last.TargetID != "acme" {
		t.Errorf("last policy.changed = %+v, want it attributed to op-2 and targeting acme", last)
	}
	if ps := mustPolicies(t, db, "acme"); len(ps) != 3 || ps[1].CreatedBy != "operator:op-2" {
		t.Errorf("policy history = %+v, want three versions, the later ones by op-2", ps)
	}
}

func TestSetPolicyRefusesInvalidAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	svc, db := mustService(t)
	if _, err := svc.Create(ctx, "acme", "Acme", audit.System()); err != nil {
		t.Fatal(err)
	}
	before := len(mustEvents(t, db, "acme"))
	for _, tc := range []struct {
		name  string
		edit  func(*tenant.Policy)
		field string
	}{
		{"passkey sign-in off", func(p *tenant.Policy) { p.Methods.Passkey.SignIn = false }, "methods.passkey.sign_in"},
		{"user verification preferred", func(p *tenant.Policy) { p.Passkeys.UserVerification = "preferred" }, "passkeys.user_verification"},
		{"proximity unknown", func(p *tenant.Policy) { p.Device.Proximity = "" }, "device.proximity"},
		{"zero code tries", func(p *tenant.Policy) { p.Throttles.CodeTries = 0 }, "throttles.code_tries"},
		{"retire email", func(p *tenant.Policy) { p.Retirement["email"] = tenant.Retirement{Phase: "disabled"} }, "retirement.email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tenant.DefaultPolicy()
			tc.edit(&p)
			_, err := svc.SetPolicy(ctx, "acme", p, audit.System())
			if !errors.Is(err, tenant.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("SetPolicy = %v, want ErrInvalid naming %s", err, tc.field)
			}
			if cur, err := svc.Policy(ctx, "acme"); err != nil || cur.Version != 1 {
				t.Errorf("policy after the refusal: v%d, %v; want still v1", cur.Version, err)
			}
			if n := len(mustEvents(t, db, "acme")); n != before {
				t.Errorf("%d audit events after the refusal, want %d", n, before)
			}
		})
	}
}

func TestSetPolicyUnknownTenant(t *testing.T) {
	ctx := context.Background()
	svc, db := mustService(t)
	if _, err := svc.SetPolicy(ctx, "ghost", tenant.DefaultPolicy(), audit.System()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPolicy(ghost) = %v, want ErrNotFound", err)
	}
	if n := len(mustEvents(t, db, "ghost")); n != 0 {
		t.Errorf("%d audit events recorded for a tenant that does not exist", n)
	}
}

func TestEnsureBuiltinsIsIdempotent(t *testing.T) {
	ctx := context.Background()
	svc, db := mustService(t)
	created, err := svc.EnsureBuiltins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(created, []string{tenant.System, tenant.Default}) {
		t.Errorf("first EnsureBuiltins created %v, want [system default]", created)
	}
	for _, id := range []string{tenant.System, tenant.Default} {
		if p, err := svc.Policy(ctx, id); err != nil || p.Version != 1 {
			t.Errorf("%s policy = v%d, %v; want the default at v1", id, p.Version, err)
		}
		evs := mustEvents(t, db, id)
		if got := types(evs); !slices.Equal(got, []string{audit.TenantCreated, audit.PolicyChanged}) {
			t.Errorf("%s audit events = %v", id, got)
		}
		for _, e := range evs {
			if e.ActorType != audit.ActorSystem {
				t.Errorf("%s %s attributed to %s:%s, want the system", id, e.Type, e.ActorType, e.ActorID)
			}
		}
	}
	events := mustCount(t, db, `SELECT COUNT(*) FROM audit_events`)

	created, err = svc.EnsureBuiltins(ctx)
	if err != nil || len(created) != 0 {
		t.Errorf("second EnsureBuiltins created %v, %v; want nothing", created, err)
	}
	if n := mustCount(t, db, `SELECT COUNT(*) FROM audit_events`); n != events {
		t.Errorf("second EnsureBuiltins wrote %d audit events", n-events)
	}
	if n := mustCount(t, db, `SELECT COUNT(*) FROM tenant_policies`); n != 2 {
		t.Errorf("%d policy versions after two EnsureBuiltins, want 2", n)
	}

	// A missing built-in is recreated without touching the one that exists.
	if _, err := db.SQL().Exec(`DELETE FROM tenants WHERE id = 'default'`); err != nil {
		t.Fatal(err)
	}
	if created, err = svc.EnsureBuiltins(ctx); err != nil || !slices.Equal(created, []string{tenant.Default}) {
		t.Errorf("EnsureBuiltins after deleting default created %v, %v; want [default]", created, err)
	}
	ts, err := svc.List(ctx)
	if err != nil || len(ts) != 2 || ts[0].ID != tenant.Default || ts[1].ID != tenant.System {
		t.Errorf("List = %+v, %v; want default and system", ts, err)
	}
}
