package user_test

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
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

var t0 = time.Date(2026, 5, 4, 12, 0, 0, 123456789, time.UTC)

type fixture struct {
	db  *sqlstore.DB
	svc *user.Service
	now time.Time
}

// mustFixture opens a migrated SQLite store with the tenants "acme" and "beta".
func mustFixture(t *testing.T) *fixture {
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
	f := &fixture{db: db, now: t0}
	now := func() time.Time { return f.now }
	ts := &tenant.Service{Store: db, Now: now}
	for _, id := range []string{"acme", "beta"} {
		if _, err := ts.Create(ctx, id, "", audit.System()); err != nil {
			t.Fatal(err)
		}
	}
	f.svc = &user.Service{Store: db, Now: now}
	return f
}

func (f *fixture) mustCreate(t *testing.T, tenantID string, in user.NewUser) *store.User {
	t.Helper()
	u, err := f.svc.Create(context.Background(), tenantID, in, audit.CLI("ops"))
	if err != nil {
		t.Fatalf("Create(%s, %+v): %v", tenantID, in, err)
	}
	return u
}

func (f *fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (f *fixture) events(t *testing.T, tenantID, typ string) []store.AuditEvent {
	t.Helper()
	var out []store.AuditEvent
	err := f.db.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.QueryAudit(context.Background(), store.AuditQuery{TenantID: tenantID, Type: typ})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	u := f.mustCreate(t, "acme", user.NewUser{
		DisplayName: "Ada", Email: " Ada@Example.COM ", EmailVerified: true,
		Phone: "+44 20 7946 0958", Roles: []string{"operator", "admin", "operator"},
	})
	if u.TenantID != "acme" || u.Status != store.UserActive || !slices.Equal(u.Roles, []string{"admin", "operator"}) {
		t.Errorf("Create = %+v, want an active acme user with roles [admin operator]", u)
	}
	if len(u.ID) != 32 {
		t.Errorf("user id %q, want 32 hex characters", u.ID)
	}
	got, idents, err := f.svc.Get(ctx, "acme", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Errorf("Get = %+v, want %+v", got, u)
	}
	if len(idents) != 2 {
		t.Fatalf("identifiers = %+v, want an email and a phone", idents)
	}
	email, phone := idents[0], idents[1]
	if email.Kind != store.IdentEmail || email.Value != "ada@example.com" || !email.Verified || !email.VerifiedAt.Equal(store.Micro(t0)) {
		t.Errorf("email identifier = %+v, want ada@example.com verified at creation", email)
	}
	if phone.Kind != store.IdentPhone || phone.Value != "+442079460958" || phone.Verified || !phone.VerifiedAt.IsZero() {
		t.Errorf("phone identifier = %+v, want +442079460958 unverified", phone)
	}

	evs := f.events(t, "acme", audit.UserCreated)
	if len(evs) != 1 || evs[0].TargetID != u.ID || evs[0].ActorType != audit.ActorCLI || evs[0].ActorID != "ops" {
		t.Fatalf("user.created events = %+v, want one for %s by cli:ops", evs, u.ID)
	}
	var d struct {
		Roles       []string `json:"roles"`
		Identifiers int      `json:"identifiers"`
	}
	if err := json.Unmarshal(evs[0].Details, &d); err != nil || !slices.Equal(d.Roles, u.Roles) || d.Identifiers != 2 {
		t.Errorf("user.created details = %s, want the roles and 2 identifiers", evs[0].Details)
	}
	if strings.Contains(string(evs[0].Details), "ada@") || strings.Contains(string(evs[0].Details), "7946") {
		t.Errorf("user.created details carry the identifiers themselves: %s", evs[0].Details)
	}

	// No identifiers and no roles is a valid user (a passkey-only account).
	if bare := f.mustCreate(t, "acme", user.NewUser{DisplayName: "Bare"}); len(bare.Roles) != 0 {
		t.Errorf("bare user roles = %v", bare.Roles)
	}
}

func TestCreateRefusesAndLeavesNothing(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	existing := f.mustCreate(t, "acme", user.NewUser{Email: "taken@example.com", Phone: "+15551234567"})
	users := f.count(t, `SELECT COUNT(*) FROM users`)
	events := f.count(t, `SELECT COUNT(*) FROM audit_events`)

	for _, tc := range []struct {
		name string
		in   user.NewUser
		msg  string
	}{
		{"unknown role", user.NewUser{Email: "new@example.com", Roles: []string{"admin", "root"}}, `unknown role "root"`},
		{"role in another case", user.NewUser{Roles: []string{"Admin"}}, `unknown role "Admin"`},
		{"bad email", user.NewUser{Email: "Eve <eve@example.com>"}, "not an email address"},
		{"bad phone", user.NewUser{Phone: "555-1234"}, "international form"},
		{"display name too long", user.NewUser{DisplayName: strings.Repeat("x", 201)}, "display name"},
		{"display name not text", user.NewUser{DisplayName: "\xff"}, "display name"},
		// The user row is written before the identifier collides: the whole
		// transaction must go, not just the identifier.
		{"email taken", user.NewUser{DisplayName: "Mallory", Email: "TAKEN@example.com"}, "email already belongs to another user"},
		{"phone taken", user.NewUser{DisplayName: "Mallory", Phone: "+1 555 123 4567"}, "phone already belongs to another user"},
		{"phone taken after a new email", user.NewUser{Email: "fresh@example.com", Phone: "+15551234567"}, "phone already belongs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := f.svc.Create(ctx, "acme", tc.in, audit.System())
			if !errors.Is(err, user.ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Create = %+v, %v; want ErrInvalid saying %q", u, err, tc.msg)
			}
			if n := f.count(t, `SELECT COUNT(*) FROM users`); n != users {
				t.Errorf("%d users after the refusal, want %d: a half-created user was left behind", n, users)
			}
			if n := f.count(t, `SELECT COUNT(*) FROM audit_events`); n != events {
				t.Errorf("%d audit events after the refusal, want %d", n, events)
			}
		})
	}
	// The address still finds its owner, not an intruder.
	if got, err := f.svc.Find(ctx, "acme", "taken@example.com"); err != nil || got.ID != existing.ID {
		t.Errorf("Find(taken@example.com) = %+v, %v; want the original owner", got, err)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM user_identifiers WHERE value = 'fresh@example.com'`); n != 0 {
		t.Errorf("the identifier written before the collision was left behind")
	}
}

func TestCreateSameEmailInAnotherTenant(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	a := f.mustCreate(t, "acme", user.NewUser{Email: "shared@example.com", Phone: "+15551234567"})
	b := f.mustCreate(t, "beta", user.NewUser{Email: "Shared@Example.com", Phone: "+15551234567"})
	if a.ID == b.ID {
		t.Fatal("two tenants' users share an id")
	}
	for tenantID, want := range map[string]string{"acme": a.ID, "beta": b.ID} {
		for _, ref := range []string{"shared@example.com", "+1 555 123 4567"} {
			if got, err := f.svc.Find(ctx, tenantID, ref); err != nil || got.ID != want || got.TenantID != tenantID {
				t.Errorf("Find(%s, %s) = %+v, %v; want that tenant's own user", tenantID, ref, got, err)
			}
		}
	}
}

func TestFind(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	u := f.mustCreate(t, "acme", user.NewUser{Email: "grace@example.com", Phone: "+1 (555) 000-1111"})
	for _, ref := range []string{u.ID, "grace@example.com", "  GRACE@example.COM ", "+15550001111", "+1 555 000 1111"} {
		got, err := f.svc.Find(ctx, "acme", ref)
		if err != nil || got.ID != u.ID {
			t.Errorf("Find(%q) = %+v, %v; want %s", ref, got, err, u.ID)
		}
	}
	for _, ref := range []string{"nobody@example.com", "+15550002222", "0123456789abcdef0123456789abcdef", ""} {
		if got, err := f.svc.Find(ctx, "acme", ref); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Find(%q) = %+v, %v; want ErrNotFound", ref, got, err)
		}
	}
	// A user is only found in their own tenant, by any reference.
	for _, ref := range []string{u.ID, "grace@example.com", "+15550001111"} {
		if got, err := f.svc.Find(ctx, "beta", ref); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Find(beta, %q) = %+v, %v; want ErrNotFound", ref, got, err)
		}
	}
	for _, ref := range []string{"Grace <grace@example.com>", "+1 555 CALL"} {
		if _, err := f.svc.Find(ctx, "acme", ref); !errors.Is(err, user.ErrInvalid) {
			t.Errorf("Find(%q) = %v, want ErrInvalid", ref, err)
		}
	}
	if _, _, err := f.svc.Get(ctx, "beta", u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(beta, acme's user) = %v, want ErrNotFound", err)
	}
}

// mustSession stores a live session for u, as a sign-in would.
func (f *fixture) mustSession(t *testing.T, u *store.User) string {
	t.Helper()
	id := secret.ID()
	now := store.Micro(f.now)
	err := f.db.InTx(context.Background(), func(tx store.Tx) error {
		return tx.CreateSession(context.Background(), &store.Session{
			ID: id, TokenHash: secret.Hash(secret.Token(32)), TenantID: u.TenantID, UserID: u.ID,
			CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour),
			AuthTime: now, AMR: []string{"hwk", "user"}, ACR: "urn:gatehouse:acr:phr", Flow: "normal",
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) liveSessions(t *testing.T, u *store.User) int {
	t.Helper()
	var n int
	err := f.db.View(context.Background(), func(tx store.Tx) error {
		s, err := tx.ListUserSessions(context.Background(), u.TenantID, u.ID, f.now)
		n = len(s)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSetStatus(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		status, event string
	}{
		{store.UserLocked, audit.UserLocked},
		{store.UserDisabled, audit.UserDisabled},
	} {
		t.Run(tc.status, func(t *testing.T) {
			f := mustFixture(t)
			victim := f.mustCreate(t, "acme", user.NewUser{Email: "victim@example.com"})
			bystander := f.mustCreate(t, "acme", user.NewUser{Email: "bystander@example.com"})
			sid := f.mustSession(t, victim)
			f.mustSession(t, victim)
			f.mustSession(t, bystander)
			f.now = f.now.Add(time.Minute)

			op := audit.Meta{ActorType: audit.ActorOperator, ActorID: "op-1", IP: "198.51.100.4"}
			u, err := f.svc.SetStatus(ctx, "acme", victim.ID, tc.status, "reported phishing", op)
			if err != nil {
				t.Fatal(err)
			}
			if u.Status != tc.status || !u.UpdatedAt.Equal(store.Micro(f.now)) {
				t.Errorf("SetStatus returned %+v, want status %s updated now", u, tc.status)
			}
			if got, _, _ := f.svc.Get(ctx, "acme", victim.ID); got.Status != tc.status {
				t.Errorf("stored status %s, want %s", got.Status, tc.status)
			}
			// Every session of the user stops working at once; others keep theirs.
			if n := f.liveSessions(t, victim); n != 0 {
				t.Errorf("%d live sessions after %s, want 0", n, tc.status)
			}
			var s *store.Session
			if err := f.db.View(ctx, func(tx store.Tx) error { s, err = tx.GetSession(ctx, "acme", sid); return err }); err != nil {
				t.Fatal(err)
			}
			if !s.RevokedAt.Equal(store.Micro(f.now)) || !strings.Contains(s.RevokeReason, tc.status) {
				t.Errorf("session after %s: revoked at %v for %q", tc.status, s.RevokedAt, s.RevokeReason)
			}
			if n := f.liveSessions(t, bystander); n != 1 {
				t.Errorf("another user's sessions were revoked too (%d left)", n)
			}

			evs := f.events(t, "acme", tc.event)
			if len(evs) != 1 {
				t.Fatalf("%d %s events, want 1", len(evs), tc.event)
			}
			e := evs[0]
			if e.Severity != audit.Medium || e.TargetID != victim.ID || e.ActorID != "op-1" || e.IP != "198.51.100.4" {
				t.Errorf("%s event = %+v, want severity medium, target the user, actor op-1", tc.event, e)
			}
			var d struct {
				From    string `json:"from"`
				To      string `json:"to"`
				Reason  string `json:"reason"`
				Revoked int    `json:"sessions_revoked"`
			}
			if err := json.Unmarshal(e.Details, &d); err != nil || d.From != "active" || d.To != tc.status || d.Reason != "reported phishing" || d.Revoked != 2 {
				t.Errorf("%s details = %s, want active→%s, the reason and 2 sessions revoked", tc.event, e.Details, tc.status)
			}

			// Unlocking restores the account but not the revoked sessions.
			f.now = f.now.Add(time.Minute)
			if u, err = f.svc.SetStatus(ctx, "acme", victim.ID, store.UserActive, "verified by phone", op); err != nil || u.Status != store.UserActive {
				t.Fatalf("unlock = %+v, %v", u, err)
			}
			unl := f.events(t, "acme", audit.UserUnlocked)
			if len(unl) != 1 || unl[0].Severity != audit.Info || unl[0].TargetID != victim.ID {
				t.Errorf("user.unlocked events = %+v, want one with severity info", unl)
			}
			if n := f.liveSessions(t, victim); n != 0 {
				t.Errorf("unlocking brought back %d sessions", n)
			}
		})
	}
}

func TestSetStatusNoChangeWritesNothing(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	u := f.mustCreate(t, "acme", user.NewUser{Email: "a@example.com"})
	if _, err := f.svc.SetStatus(ctx, "acme", u.ID, store.UserLocked, "", audit.System()); err != nil {
		t.Fatal(err)
	}
	before := f.count(t, `SELECT COUNT(*) FROM audit_events`)
	f.now = f.now.Add(time.Hour)
	got, err := f.svc.SetStatus(ctx, "acme", u.ID, store.UserLocked, "again", audit.System())
	if err != nil || got.Status != store.UserLocked {
		t.Fatalf("locking a locked user = %+v, %v", got, err)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM audit_events`); n != before {
		t.Errorf("locking a locked user wrote %d audit events, want none", n-before)
	}
	if stored, _, _ := f.svc.Get(ctx, "acme", u.ID); !stored.UpdatedAt.Equal(store.Micro(t0)) {
		t.Errorf("locking a locked user moved updated_at to %v", stored.UpdatedAt)
	}
	// Activating an active user is also a no-op.
	other := f.mustCreate(t, "acme", user.NewUser{})
	before = f.count(t, `SELECT COUNT(*) FROM audit_events`)
	if _, err := f.svc.SetStatus(ctx, "acme", other.ID, store.UserActive, "", audit.System()); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM audit_events`); n != before {
		t.Errorf("unlocking an active user wrote %d audit events", n-before)
	}
}

func TestSetStatusRefuses(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	u := f.mustCreate(t, "acme", user.NewUser{})
	f.mustSession(t, u)
	before := f.count(t, `SELECT COUNT(*) FROM audit_events`)
	for _, status := range []string{"", "deleted", "Locked", "active "} {
		if _, err := f.svc.SetStatus(ctx, "acme", u.ID, status, "", audit.System()); !errors.Is(err, user.ErrInvalid) {
			t.Errorf("SetStatus(%q) = %v, want ErrInvalid", status, err)
		}
	}
	if _, err := f.svc.SetStatus(ctx, "acme", "0123456789abcdef0123456789abcdef", store.UserLocked, "", audit.System()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetStatus(unknown user) = %v, want ErrNotFound", err)
	}
	if _, err := f.svc.SetStatus(ctx, "beta", u.ID, store.UserLocked, "", audit.System()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetStatus from another tenant = %v, want ErrNotFound", err)
	}
	if got, _, _ := f.svc.Get(ctx, "acme", u.ID); got.Status != store.UserActive {
		t.Errorf("status after refusals = %s, want active", got.Status)
	}
	if n := f.liveSessions(t, u); n != 1 {
		t.Errorf("refused status changes revoked sessions (%d left)", n)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM audit_events`); n != before {
		t.Errorf("refused status changes wrote %d audit events", n-before)
	}
}

func TestPrivileged(t *testing.T) {
	for _, tc := range []struct {
		roles []string
		want  bool
	}{
		{nil, false},
		{[]string{}, false},
		{[]string{user.RoleAdmin}, true},
		{[]string{user.RoleOperator}, true},
		{[]string{"admin", "operator"}, true},
		{[]string{"Admin"}, false},
		{[]string{"sysadmin"}, false},
		{[]string{"viewer"}, false},
	} {
		if got := user.Privileged(&store.User{Roles: tc.roles}); got != tc.want {
			t.Errorf("Privileged(%v) = %v, want %v", tc.roles, got, tc.want)
		}
	}
	for _, r := range []string{"admin", "operator"} {
		if !user.ValidRole(r) {
			t.Errorf("ValidRole(%q) = false", r)
		}
	}
	for _, r := range []string{"", "root", "Admin", "admin "} {
		if user.ValidRole(r) {
			t.Errorf("ValidRole(%q) = true", r)
		}
	}
}
