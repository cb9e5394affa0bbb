package selfservice_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

var scriptTag = regexp.MustCompile(`(?s)<script\b([^>]*)>(.*?)</script>`)

func TestSignInPageOffersPasskeyAutofillWithoutInlineScript(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	r := p.Get(t, "signin?next=/t/default/account")
	expect(t, "sign-in page", r, http.StatusOK,
		`autocomplete="username webauthn"`, `id="identifier"`, `id="passkey-signin"`, "Sign in with a passkey",
		`id="passkey-status"`, `aria-live="polite"`, `data-passkey-api="/t/default/api/passkey"`,
		`data-next="/t/default/account"`, `href="/t/default/signup?next=%2Ft%2Fdefault%2Faccount"`)
	scripts := scriptTag.FindAllSubmatch(r.Body, -1)
	if len(scripts) != 1 {
		t.Fatalf("%d script tags, want exactly the passkey module", len(scripts))
	}
	if attrs := string(scripts[0][1]); !strings.Contains(attrs, `type="module"`) || !regexp.MustCompile(`src="/static/[0-9a-f]+/passkey.js"`).MatchString(attrs) {
		t.Fatalf("script tag %q is not the passkey module", attrs)
	}
	if strings.TrimSpace(string(scripts[0][2])) != "" {
		t.Fatal("inline script on the sign-in page")
	}
	if regexp.MustCompile(`(?i)\son[a-z]+=`).Match(r.Body) || strings.Contains(string(r.Body), "style=") || strings.Contains(string(r.Body), "<style") {
		t.Fatal("inline event handler or style on the sign-in page")
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	// Email-code sign-in is off by default: no form, no route. Self-service recovery
	// is on by default, and its page exists, so the page links to it.
	for _, absent := range []string{"signin/email", "Email me a code"} {
		if strings.Contains(string(r.Body), absent) {
			t.Fatalf("default sign-in page shows %q", absent)
		}
	}
	if !strings.Contains(string(r.Body), `id="recover-link" href="/t/default/recover`) {
		t.Fatal("default sign-in page has no link to account recovery")
	}
	expect(t, "email code when off", p.Post(t, "signin/email", "email", "a@example.com"), http.StatusNotFound)
	expect(t, "code check when off", p.Post(t, "signin/code", "email", "a@example.com", "code", "12345678"), http.StatusNotFound)

	// The module and the stylesheet are served from their hashed URLs.
	for name, ctype := range map[string]string{"passkey.js": "javascript", "selfservice.css": "text/css"} {
		ref := staticRef(r.Body, name)
		if ref == "" {
			t.Fatalf("page does not reference %s", name)
		}
		a := p.Get(t, ref)
		if a.Status != 200 || !strings.Contains(a.Header.Get("Content-Type"), ctype) || len(a.Body) == 0 {
			t.Fatalf("GET %s: %d %s", ref, a.Status, a.Header.Get("Content-Type"))
		}
	}
	// A foreign next is dropped.
	if r := p.Get(t, "signin?next=https://evil.example/"); strings.Contains(string(r.Body), "evil") {
		t.Fatal("foreign next echoed on the sign-in page")
	}
	expect(t, "unknown tenant", p.Get(t, "/t/nope/signin"), http.StatusNotFound, "We could not find that page.")
}

func TestSignInWithAPasskeyGoesToNext(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	p.SignUp(t, "Pat")
	apptest.ExpectRedirect(t, "sign out", p.Post(t, "signout"), "/t/default/signin")
	r := p.Do(t, "POST", "api/passkey/login/finish?next=/t/default/account%3Fdone%3Dstepped-up", p.Assert(t, p.BeginLogin(t), nil))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"redirect":"/t/default/account?done=stepped-up"`) {
		t.Fatalf("passkey sign-in: %d %s", r.Status, r.Body)
	}
	expect(t, "account", p.Get(t, "account?done=stepped-up"), http.StatusOK, "Thanks, you confirmed it is you.", "Signed in with a passkey")
}

func TestEmailCodeSignInThenNudgeCreatesPasskey(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", enableEmailCodeSignIn)
	u := s.NewUser(t, "default", "known@example.com")
	p := s.NewPerson("default")

	expect(t, "sign-in page", p.Get(t, "signin"), http.StatusOK, `action="/t/default/signin/email"`, `id="email-code"`,
		`autocomplete="username webauthn"`)
	expect(t, "send code", p.Post(t, "signin/email", "email", "Known@Example.com", "next", "/t/default/account"),
		http.StatusOK, "If an account uses known@example.com, we sent it a code.", `value="/t/default/account"`)
	expect(t, "wrong code", p.Post(t, "signin/code", "email", "known@example.com", "code", "11111111"),
		http.StatusBadRequest, "That code is not right or has expired.")
	r := p.Post(t, "signin/code", "email", "known@example.com", "code", codeFor(t, s, "known@example.com"), "next", "/t/default/account")
	apptest.ExpectRedirect(t, "code accepted", r, "/t/default/nudge?next=%2Ft%2Fdefault%2Faccount")
	sess := p.Session(t)
	if sess.UserID != u.ID || sess.ACR != session.ACRSingleFactor || len(sess.AMR) != 1 || sess.AMR[0] != session.AMROTP {
		t.Fatalf("session %+v, want the user's, sfa, [otp]", sess)
	}
	if evs := s.Events(t, "default", audit.SignInSucceeded); len(evs) != 1 || !strings.Contains(string(evs[0].Details), "email_code") {
		t.Fatalf("sign-in audit: %+v", evs)
	}

	nudge := p.Get(t, "nudge?next=/t/default/account")
	expect(t, "nudge", nudge, http.StatusOK, "Sign in faster", `id="create-passkey"`, `id="skip-nudge"`, `id="signout"`,
		"You can skip this 3 more times.", `data-next="/t/default/account"`)
	if strings.Contains(string(nudge.Body), `id="nudge-email"`) {
		t.Fatal("nudge asks for an email although the account has a verified one")
	}

	// The button registers a passkey for the signed-in account. It was signed in
	// without a passkey, so the passkey is provisional and the account goes on hold.
	res := p.AddPasskey(t, "Phone")
	if res.Status != 200 || !strings.Contains(string(res.Body), `"provisional":true`) {
		t.Fatalf("create passkey from the nudge: %d %s", res.Status, res.Body)
	}
	apptest.ExpectRedirect(t, "nudge after a passkey exists", p.Post(t, "nudge", "next", "/t/default/account"), "/t/default/account")
	expect(t, "account", p.Get(t, "account"), http.StatusOK, "Phone", "Provisional", `id="hold-notice"`, "Signed in with an email code")
	// Next time the passkey signs in with no nudge; during the hold its sessions are
	// provisional, not phishing-resistant.
	q := p.OtherBrowser()
	q.SignIn(t)
	if s := q.Session(t); session.PhishingResistant(s) || s.Flow != session.FlowProvisional {
		t.Fatalf("passkey session during the hold: flow=%s acr=%s", s.Flow, s.ACR)
	}
	apptest.ExpectRedirect(t, "nudge after passkey sign-in", q.Get(t, "nudge"), "/t/default/account")
}

func TestNudgeSkipsAreCountedAndRunOut(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", func(p *tenant.Policy) {
		enableEmailCodeSignIn(p)
		p.Sessions.NudgeSkips = 2
	})
	u := s.NewUser(t, "default", "skipper@example.com")
	p := s.NewPerson("default")
	signInByCode(t, p, "skipper@example.com")

	for i := 1; i <= 2; i++ {
		apptest.ExpectRedirect(t, "skip", p.Post(t, "nudge"), "/t/default/account")
		if got, _ := s.User(t, "default", u.ID); got.NudgeSkips != i {
			t.Fatalf("after %d skips the count is %d", i, got.NudgeSkips)
		}
	}
	if evs := s.Events(t, "default", audit.NudgeSkipped); len(evs) != 2 {
		t.Fatalf("%d nudge.skipped events, want 2", len(evs))
	}
	r := p.Post(t, "nudge")
	expect(t, "third skip", r, http.StatusForbidden, "You have skipped this step as often as allowed.", `id="create-passkey"`, `id="signout"`)
	if got, _ := s.User(t, "default", u.ID); got.NudgeSkips != 2 {
		t.Fatalf("a refused skip was counted: %d", got.NudgeSkips)
	}
	page := p.Get(t, "nudge")
	expect(t, "nudge after the last skip", page, http.StatusOK, "To continue, create a passkey.", `id="passkey-required"`)
	if strings.Contains(string(page.Body), `id="skip-nudge"`) {
		t.Fatal("skip still offered")
	}
	// The account page is closed until a passkey exists, but signing out always works.
	apptest.ExpectRedirect(t, "account while a passkey is required", p.Get(t, "account"), "/t/default/nudge")
	apptest.ExpectRedirect(t, "account change while a passkey is required", p.Post(t, "account/sessions/revoke-others"), "/t/default/nudge")
	before := p.Session(t)
	apptest.ExpectRedirect(t, "sign out", p.Post(t, "signout"), "/t/default/signin")
	if r := p.Do(t, "GET", "api/passkey/credentials", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("after sign-out the session still works: %d", r.Status)
	}
	err := s.App.Store.View(context.Background(), func(tx store.Tx) error {
		got, err := tx.GetSession(context.Background(), "default", before.ID)
		if err == nil && got.RevokedAt.IsZero() {
			t.Error("sign-out did not revoke the session")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNudgeAfterTooLongAsksToSignInAgain(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	s.SetPolicy(t, "default", enableEmailCodeSignIn)
	s.NewUser(t, "default", "slow@example.com")
	p := s.NewPerson("default")
	signInByCode(t, p, "slow@example.com")
	clock.Advance(6 * 60e9)
	expect(t, "stale nudge", p.Get(t, "nudge"), http.StatusOK, `id="sign-in-again"`, "Sign in again to create one.")
	if r := p.AddPasskey(t, ""); r.Status != http.StatusForbidden || r.ErrorCode() != "step_up_required" {
		t.Fatalf("stale email-code session added a passkey: %d %s", r.Status, r.Body)
	}
}

func TestEmailCodeSignInRefusesUnusableAccounts(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", enableEmailCodeSignIn)
	u := s.NewUser(t, "default", "locked@example.com")
	if _, err := s.App.Users.SetStatus(context.Background(), "default", u.ID, store.UserLocked, "test", audit.System()); err != nil {
		t.Fatal(err)
	}
	p := s.NewPerson("default")
	expect(t, "send code", p.Post(t, "signin/email", "email", "locked@example.com"), http.StatusOK, "If an account uses locked@example.com")
	ms := s.Mails(t, "locked@example.com")
	if len(ms) != 1 || hasCode(ms[0].Body) {
		t.Fatalf("a locked account was sent a code: %+v", ms)
	}
}
