package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

type fixture struct {
	db    *sqlstore.DB
	clock *clock
	mgr   *session.Manager
	user  *store.User
}

func newFixture(t *testing.T, secure bool) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	ts := &tenant.Service{Store: db, Now: c.Now}
	if _, err := ts.EnsureBuiltins(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Create(ctx, "other", "Other", audit.System()); err != nil {
		t.Fatal(err)
	}
	u, err := (&user.Service{Store: db, Now: c.Now}).Create(ctx, "default", user.NewUser{Email: "a@example.com"}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	name := "gh_session"
	if secure {
		name = "__Host-gh_session"
	}
	p := tenant.DefaultPolicy()
	p.Sessions.Idle, p.Sessions.Absolute = tenant.Duration(time.Hour), tenant.Duration(24*time.Hour)
	if _, err := ts.SetPolicy(ctx, "default", p, audit.System()); err != nil {
		t.Fatal(err)
	}
	mgr := &session.Manager{Store: db, Now: c.Now, CookieName: name, Secure: secure}
	return &fixture{db: db, clock: c, mgr: mgr, user: u}
}

func (f *fixture) create(t *testing.T, tenantID string) (string, *store.Session) {
	t.Helper()
	var token string
	var s *store.Session
	err := f.db.InTx(context.Background(), func(tx store.Tx) error {
		var err error
		token, s, err = f.mgr.Create(context.Background(), tx, session.New{
			TenantID: tenantID, UserID: f.user.ID, AMR: []string{session.AMRSoftwareKey, session.AMRUser},
			ACR: session.ACRPhishingResistant, IP: "127.0.0.1", Network: "127.0.0.0/24", UserAgent: "test",
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return token, s
}

func (f *fixture) lookup(tenantID, cookieValue string) (*store.Session, error) {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: f.mgr.CookieName, Value: cookieValue})
	return f.mgr.Lookup(context.Background(), r, tenantID)
}

func TestLookupFindsLiveSessionOnlyInItsTenant(t *testing.T) {
	f := newFixture(t, false)
	token, s := f.create(t, "default")
	got, err := f.lookup("default", token)
	if err != nil || got.ID != s.ID {
		t.Fatalf("lookup: %v %v", got, err)
	}
	if got.ACR != session.ACRPhishingResistant || !session.PhishingResistant(got) {
		t.Fatalf("assurance lost: %+v", got)
	}
	if _, err := f.lookup("other", token); err != session.ErrNoSession {
		t.Fatalf("session of tenant default accepted in tenant other: %v", err)
	}
}

func TestLookupRejectsCorruptCookies(t *testing.T) {
	f := newFixture(t, false)
	f.create(t, "default")
	for _, v := range []string{
		"", "x", strings.Repeat("A", 43), strings.Repeat("A", 4000), "../../etc/passwd",
		strings.Repeat("%", 43), "\xff\xfe" + strings.Repeat("a", 41), "' OR 1=1 --" + strings.Repeat("a", 32),
	} {
		if _, err := f.lookup("default", v); err != session.ErrNoSession {
			t.Errorf("cookie %q: err = %v, want ErrNoSession", v, err)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t, false)
	token, _ := f.create(t, "default")
	// Activity keeps the session alive past the first idle deadline.
	for i := 0; i < 3; i++ {
		f.clock.t = f.clock.t.Add(50 * time.Minute)
		if _, err := f.lookup("default", token); err != nil {
			t.Fatalf("active session expired after %d touches: %v", i, err)
		}
	}
	f.clock.t = f.clock.t.Add(61 * time.Minute)
	if _, err := f.lookup("default", token); err != session.ErrNoSession {
		t.Fatalf("idle session still valid: %v", err)
	}

	token, _ = f.create(t, "default")
	for i := 0; i < 30; i++ {
		f.clock.t = f.clock.t.Add(55 * time.Minute)
		_, err := f.lookup("default", token)
		if i < 26 && err != nil {
			t.Fatalf("session ended early at step %d: %v", i, err)
		}
		if i >= 27 && err != session.ErrNoSession {
			t.Fatalf("session outlived its absolute expiry at step %d", i)
		}
	}
}

func TestRevokeOneAndAll(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	t1, s1 := f.create(t, "default")
	t2, s2 := f.create(t, "default")
	t3, _ := f.create(t, "default")
	err := f.db.InTx(ctx, func(tx store.Tx) error {
		return session.Revoke(ctx, tx, f.clock.Now(), "default", s2.ID, "signed out", audit.Meta{ActorType: audit.ActorUser, ActorID: f.user.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.lookup("default", t2); err != session.ErrNoSession {
		t.Fatal("revoked session still valid")
	}
	var n int
	err = f.db.InTx(ctx, func(tx store.Tx) error {
		var err error
		n, err = session.RevokeAll(ctx, tx, f.clock.Now(), "default", f.user.ID, s1.ID, "sign out everywhere else", audit.System())
		return err
	})
	if err != nil || n != 1 {
		t.Fatalf("RevokeAll = %d, %v; want 1 (s3)", n, err)
	}
	if _, err := f.lookup("default", t1); err != nil {
		t.Fatal("the kept session was revoked")
	}
	if _, err := f.lookup("default", t3); err != session.ErrNoSession {
		t.Fatal("other session survived RevokeAll")
	}
	var evs []store.AuditEvent
	f.db.View(ctx, func(tx store.Tx) error {
		evs, err = tx.QueryAudit(ctx, store.AuditQuery{TenantID: "default", Type: "session."})
		return err
	})
	types := map[string]int{}
	for _, e := range evs {
		types[e.Type]++
	}
	if types[audit.SessionCreated] != 3 || types[audit.SessionRevoked] != 1 || types[audit.SessionsRevoked] != 1 {
		t.Fatalf("audit events = %v", types)
	}
}

func TestSessionTokenStoredOnlyAsHash(t *testing.T) {
	f := newFixture(t, false)
	token, s := f.create(t, "default")
	if s.TokenHash == token || strings.Contains(s.TokenHash, token) {
		t.Fatal("token stored in clear")
	}
	var count int
	if err := f.db.SQL().QueryRow(`SELECT COUNT(*) FROM sessions WHERE token_hash = ? OR id = ?`, token, token).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 0 {
		t.Fatal("cookie value found in the sessions table")
	}
}

// TestInvariant9_CookieAttributes: cookies are __Host-, Secure (except on plain-http
// localhost), HttpOnly, SameSite=Lax.
func TestInvariant9_CookieAttributes(t *testing.T) {
	for _, secure := range []bool{true, false} {
		f := newFixture(t, secure)
		token, s := f.create(t, "default")
		rec := httptest.NewRecorder()
		f.mgr.SetCookie(rec, token, s)
		raw := rec.Header().Get("Set-Cookie")
		c, err := http.ParseSetCookie(raw)
		if err != nil {
			t.Fatal(err)
		}
		wantName := "gh_session"
		if secure {
			wantName = "__Host-gh_session"
		}
		if c.Name != wantName || c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("secure=%v: Set-Cookie %q", secure, raw)
		}
		rec = httptest.NewRecorder()
		f.mgr.ClearCookie(rec)
		if c, _ := http.ParseSetCookie(rec.Header().Get("Set-Cookie")); c == nil || c.MaxAge >= 0 && !strings.Contains(rec.Header().Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("ClearCookie did not expire the cookie: %q", rec.Header().Get("Set-Cookie"))
		}
	}
}
