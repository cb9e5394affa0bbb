package apptest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// Send makes a request in the person's browser to a path under the tenant
// ("signin/email") or an absolute path ("/healthz"). A non-nil form is sent
// urlencoded.
func (p *Person) Send(t testing.TB, method, path string, form url.Values) *Response {
	t.Helper()
	if form == nil {
		return p.exchange(t, method, path, nil, "")
	}
	return p.exchange(t, method, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// Get fetches a page in the person's browser.
func (p *Person) Get(t testing.TB, path string) *Response {
	t.Helper()
	return p.Send(t, http.MethodGet, path, nil)
}

// Post submits a form of key, value pairs in the person's browser.
func (p *Person) Post(t testing.TB, path string, kv ...string) *Response {
	t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Add(kv[i], kv[i+1])
	}
	return p.Send(t, http.MethodPost, path, form)
}

// ExpectRedirect fails unless r is a 303 to a location starting with prefix, and
// returns the location.
func ExpectRedirect(t testing.TB, what string, r *Response, prefix string) string {
	t.Helper()
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("%s: %d to %q, want 303 to %q…; body:\n%s", what, r.Status, loc, prefix, r.Body)
	}
	return loc
}

// Session returns the session the person's browser holds.
func (p *Person) Session(t testing.TB) *store.Session {
	t.Helper()
	u, _ := url.Parse(p.S.URL)
	for _, c := range p.Client.Jar.Cookies(u) {
		if c.Name != "gh_session" {
			continue
		}
		sum := sha256.Sum256([]byte(c.Value))
		var s *store.Session
		err := p.S.App.Store.View(context.Background(), func(tx store.Tx) error {
			var err error
			s, err = tx.GetSessionByTokenHash(context.Background(), hex.EncodeToString(sum[:]))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Fatal("the browser holds no session cookie")
	return nil
}

// Mails returns every delivered message to addr, newest first, once the outbox is
// empty.
func (s *Server) Mails(t testing.TB, addr string) []store.Mail {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var depth int
		var all []store.Mail
		err := s.App.Store.View(ctx, func(tx store.Tx) error {
			var err error
			if depth, err = tx.OutboxDepth(ctx); err != nil {
				return err
			}
			all, err = tx.ListMail(ctx, 10000)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if depth == 0 {
			var out []store.Mail
			for _, m := range all {
				if m.To == addr {
					out = append(out, m)
				}
			}
			slices.SortStableFunc(out, func(a, b store.Mail) int { return b.CreatedAt.Compare(a.CreatedAt) })
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d messages", depth)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var codePattern = regexp.MustCompile(`(?m)^\s+(\d{8})$`)

// CodeIn returns the 8-digit code a message body carries on a line of its own.
func CodeIn(body string) (string, bool) {
	found := codePattern.FindStringSubmatch(body)
	if found == nil {
		return "", false
	}
	return found[1], true
}

// Events returns the tenant's audit events of one type (a prefix when it ends in
// ".").
func (s *Server) Events(t testing.TB, tenantID, typ string) []store.AuditEvent {
	t.Helper()
	var out []store.AuditEvent
	err := s.App.Store.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.QueryAudit(context.Background(), store.AuditQuery{TenantID: tenantID, Type: typ})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// SetPolicy changes the tenant's policy.
func (s *Server) SetPolicy(t testing.TB, tenantID string, change func(*tenant.Policy)) {
	t.Helper()
	ctx := context.Background()
	p, err := s.App.Tenants.Policy(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	change(&p)
	if _, err := s.App.Tenants.SetPolicy(ctx, tenantID, p, audit.CLI("test")); err != nil {
		t.Fatal(err)
	}
}

// NewUser creates an active account in tenantID with a verified address and the
// given roles, as an administrator would.
func (s *Server) NewUser(t testing.TB, tenantID, email string, roles ...string) *store.User {
	t.Helper()
	u, err := s.App.Users.Create(context.Background(), tenantID,
		user.NewUser{DisplayName: "Person " + email, Email: email, EmailVerified: true, Roles: roles}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// User returns an account and its identifiers.
func (s *Server) User(t testing.TB, tenantID, id string) (*store.User, []store.Identifier) {
	t.Helper()
	u, ids, err := s.App.Users.Get(context.Background(), tenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	return u, ids
}
