package selfservice_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

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

// codeFor returns the code in the newest message to addr.
func codeFor(t *testing.T, s *apptest.Server, addr string) string {
	t.Helper()
	ms := s.Mails(t, addr)
	if len(ms) == 0 {
		t.Fatalf("no mail to %s", addr)
	}
	code, ok := apptest.CodeIn(ms[0].Body)
	if !ok {
		t.Fatalf("newest mail to %s has no code: %s\n%s", addr, ms[0].Subject, ms[0].Body)
	}
	return code
}

// hasCode reports whether a message body carries a code.
func hasCode(body string) bool {
	_, ok := apptest.CodeIn(body)
	return ok
}

func enableEmailCodeSignIn(p *tenant.Policy) {
	p.Flows.EmailCodeSignIn = true
	p.Methods.EmailCode.SignIn = true
}

// signInByCode signs p in with an email code and returns where it was sent next.
func signInByCode(t *testing.T, p *apptest.Person, addr string) string {
	t.Helper()
	expect(t, "send sign-in code", p.Post(t, "signin/email", "email", addr), http.StatusOK, "If an account uses")
	r := p.Post(t, "signin/code", "email", addr, "code", codeFor(t, p.S, addr))
	loc := apptest.ExpectRedirect(t, "sign in with code", r, "/t/"+p.Tenant+"/nudge")
	if s := p.Session(t); s.ACR != session.ACRSingleFactor || !slices.Equal(s.AMR, []string{session.AMROTP}) {
		t.Fatalf("email-code session has acr %q amr %v, want sfa and [otp]", s.ACR, s.AMR)
	}
	return loc
}

// staticRef finds the hashed URL of a static asset referenced by a page.
func staticRef(body []byte, name string) string {
	m := regexp.MustCompile(`/static/[0-9a-f]+/` + regexp.QuoteMeta(name)).Find(body)
	return string(m)
}
