package selfservice_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

const testUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) gatehouse-test"

// send makes a request in the person's browser. path is under the tenant unless it
// starts with "/". A non-nil form is sent urlencoded.
func send(t *testing.T, p *apptest.Person, method, path string, form url.Values) *apptest.Response {
	t.Helper()
	if !strings.HasPrefix(path, "/") {
		path = "/t/" + p.Tenant + "/" + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, p.S.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", testUA)
	resp, err := p.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &apptest.Response{Status: resp.StatusCode, Body: b, Header: resp.Header}
}

func get(t *testing.T, p *apptest.Person, path string) *apptest.Response {
	t.Helper()
	return send(t, p, "GET", path, nil)
}

func post(t *testing.T, p *apptest.Person, path string, kv ...string) *apptest.Response {
	t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Add(kv[i], kv[i+1])
	}
	return send(t, p, "POST", path, form)
}

// expect fails unless r has the status and its body contains every want.
func expect(t *testing.T, what string, r *apptest.Response, status int, wants ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body:\n%s", what, r.Status, status, r.Body)
	}
	for _, w := range wants {
		if !strings.Contains(string(r.Body), w) {
			t.Fatalf("%s: body lacks %q:\n%s", what, w, r.Body)
		}
	}
}

// expectRedirect fails unless r is a 303 to a location starting with prefix.
func expectRedirect(t *testing.T, what string, r *apptest.Response, prefix string) string {
	t.Helper()
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("%s: %d to %q, want 303 to %q…; body:\n%s", what, r.Status, loc, prefix, r.Body)
	}
	return loc
}

// mails returns every delivered message to addr, newest first, once the outbox is empty.
func mails(t *testing.T, s *apptest.Server, addr string) []store.Mail {
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

// codeFor returns the code in the newest message to addr.
func codeFor(t *testing.T, s *apptest.Server, addr string) string {
	t.Helper()
	ms := mails(t, s, addr)
	if len(ms) == 0 {
		t.Fatalf("no mail to %s", addr)
	}
	m := codePattern.FindStringSubmatch(ms[0].Body)
	if m == nil {
		t.Fatalf("newest mail to %s has no code: %s\n%s", addr, ms[0].Subject, ms[0].Body)
	}
	return m[1]
}

// events returns the tenant's audit events of one type (a prefix when it ends in ".").
func events(t *testing.T, s *apptest.Server, tenantID, typ string) []store.AuditEvent {
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

// sessionOf returns the session the person's browser holds.
func sessionOf(t *testing.T, p *apptest.Person) *store.Session {
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

func mustUser(t *testing.T, s *apptest.Server, tenantID, email string) *store.User {
	t.Helper()
	u, err := s.App.Users.Create(context.Background(), tenantID, user.NewUser{DisplayName: "Known Person", Email: email, EmailVerified: true}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func getUser(t *testing.T, s *apptest.Server, tenantID, id string) (*store.User, []store.Identifier) {
	t.Helper()
	u, ids, err := s.App.Users.Get(context.Background(), tenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	return u, ids
}

// setPolicy changes the tenant's policy.
func setPolicy(t *testing.T, s *apptest.Server, tenantID string, change func(*tenant.Policy)) {
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

func enableEmailCodeSignIn(p *tenant.Policy) {
	p.Flows.EmailCodeSignIn = true
	p.Methods.EmailCode.SignIn = true
}

// signInByCode signs p in with an email code and returns where it was sent next.
func signInByCode(t *testing.T, p *apptest.Person, addr string) string {
	t.Helper()
	expect(t, "send sign-in code", post(t, p, "signin/email", "email", addr), http.StatusOK, "If an account uses")
	r := post(t, p, "signin/code", "email", addr, "code", codeFor(t, p.S, addr))
	loc := expectRedirect(t, "sign in with code", r, "/t/"+p.Tenant+"/nudge")
	if s := sessionOf(t, p); s.ACR != session.ACRSingleFactor || !slices.Equal(s.AMR, []string{session.AMROTP}) {
		t.Fatalf("email-code session has acr %q amr %v, want sfa and [otp]", s.ACR, s.AMR)
	}
	return loc
}

// staticRef finds the hashed URL of a static asset referenced by a page.
func staticRef(body []byte, name string) string {
	m := regexp.MustCompile(`/static/[0-9a-f]+/` + regexp.QuoteMeta(name)).Find(body)
	return string(m)
}
