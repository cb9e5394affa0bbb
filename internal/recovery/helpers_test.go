package recovery_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// expect fails unless r has the status and its body contains every want.
func expect(t *testing.T, what string, r *apptest.Response, status int, wants ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body:\n%s", what, r.Status, status, r.Body)
	}
	body := html.UnescapeString(string(r.Body))
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Fatalf("%s: body lacks %q:\n%s", what, w, body)
		}
	}
}

// mailWith returns the newest message to addr whose subject contains subject.
func mailWith(t *testing.T, s *apptest.Server, addr, subject string) store.Mail {
	t.Helper()
	for _, m := range s.Mails(t, addr) {
		if strings.Contains(m.Subject, subject) {
			return m
		}
	}
	t.Fatalf("no mail to %s about %q", addr, subject)
	return store.Mail{}
}

// codeFor returns the code in the newest message to addr that has one.
func codeFor(t *testing.T, s *apptest.Server, addr string) string {
	t.Helper()
	for _, m := range s.Mails(t, addr) {
		if code, ok := apptest.CodeIn(m.Body); ok {
			return code
		}
	}
	t.Fatalf("no mail to %s has a code", addr)
	return ""
}

var notMeLink = regexp.MustCompile(`This wasn't me: (\S+)`)

// notMeURL returns the path of the "This wasn't me" link in a recovery notice.
func notMeURL(t *testing.T, s *apptest.Server, m store.Mail) string {
	t.Helper()
	found := notMeLink.FindStringSubmatch(m.Body)
	if found == nil {
		t.Fatalf("recovery notice has no \"This wasn't me\" link:\n%s", m.Body)
	}
	return strings.TrimPrefix(found[1], s.URL)
}

// addEmail adds a verified address to the signed-in (freshly confirmed) account.
func addEmail(t *testing.T, p *apptest.Person, addr string) {
	t.Helper()
	expect(t, "add "+addr, p.Post(t, "account/emails", "email", addr), http.StatusOK, "We sent a code")
	r := p.Post(t, "account/emails/verify", "email", addr, "code", codeFor(t, p.S, addr))
	apptest.ExpectRedirect(t, "verify "+addr, r, "/t/"+p.Tenant+"/account?done=email-added")
}

// accountHolder signs up a person with a passkey and the given verified addresses.
func accountHolder(t *testing.T, s *apptest.Server, name string, emails ...string) *apptest.Person {
	t.Helper()
	p := s.NewPerson("default")
	p.SignUp(t, name)
	for _, e := range emails {
		addEmail(t, p, e)
	}
	return p
}

// newDevice is someone else's browser with an authenticator of its own.
func newDevice(s *apptest.Server) *apptest.Person {
	return s.NewPersonWith("default", passkeytest.New(passkeytest.Options{BackupEligible: true, BackedUp: true}))
}

// recoverByEmail runs the email steps in p's browser and checks it reached the
// passkey step.
func recoverByEmail(t *testing.T, p *apptest.Person, addr string) {
	t.Helper()
	expect(t, "ask for a recovery code", p.Post(t, "recover", "email", addr), http.StatusOK, "we sent it a code")
	r := p.Post(t, "recover/code", "email", addr, "code", codeFor(t, p.S, addr))
	apptest.ExpectRedirect(t, "recovery code", r, "/t/"+p.Tenant+"/recover/passkey")
}

func credentials(t *testing.T, s *apptest.Server, tenantID, userID string) []store.Credential {
	t.Helper()
	var out []store.Credential
	err := s.App.Store.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.ListCredentials(context.Background(), tenantID, userID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
