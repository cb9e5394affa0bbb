package device_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// TestUserCodeGuessingHitsTheLimits: five wrong codes lock the form for the browser
// session and the account (a new browser does not help), a correct code included,
// and an address hits its own ceiling across accounts.
func TestUserCodeGuessingHitsTheLimits(t *testing.T) {
	e := newEnv(t, envOpts{policy: func(p *tenant.Policy) { p.Throttles.IPAttemptsPerHour = 7 }})
	da := e.startDevice(t, http.DefaultClient, "openid")
	mallory := e.s.NewPerson(tenantID)
	mallory.SignUp(t, "Mallory")
	wrong := []string{"BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF", "GGGG-GGGG"}
	for i, code := range wrong {
		got := enter(t, mallory, code)
		switch {
		case i < 4 && (got.status != http.StatusBadRequest || !got.has("That code is not right")):
			t.Fatalf("wrong code %d: %d\n%s", i+1, got.status, got.body)
		case i == 4 && (got.status != http.StatusTooManyRequests || !got.has(`id="device-locked"`)):
			t.Fatalf("fifth wrong code must lock the form: %d\n%s", got.status, got.body)
		}
	}
	if got := enter(t, mallory, da.UserCode); got.status != http.StatusTooManyRequests || got.has("Living Room TV") {
		t.Errorf("a correct code after the lock: %d; the form must stay locked", got.status)
	}
	if got := decide(t, mallory, da.UserCode, "approve"); got.status != http.StatusTooManyRequests {
		t.Errorf("deciding after the lock: %d, want 429", got.status)
	}
	// Not a code at all is not a guess.
	if got := getPage(t, mallory, "/t/"+tenantID+"/device"); got.status != http.StatusTooManyRequests || !got.has("Too many wrong codes") {
		t.Errorf("the form page while locked: %d", got.status)
	}
	again := mallory.OtherBrowser()
	again.SignIn(t)
	if got := enter(t, again, da.UserCode); got.status != http.StatusTooManyRequests {
		t.Errorf("same account in a new browser: %d, want 429 (per-account limit)", got.status)
	}
	if len(e.events(t, audit.DeviceEntryLocked)) == 0 || len(e.events(t, audit.DeviceCodeEntered)) < 5 {
		t.Errorf("the failures and the lock must be audited")
	}

	// Two more wrong codes from another account on the same address reach the
	// address's ceiling of seven.
	trudy := e.s.NewPerson(tenantID)
	trudy.SignUp(t, "Trudy")
	for _, code := range []string{"HHHH-HHHH", "JJJJ-JJJJ"} {
		enter(t, trudy, code)
	}
	if got := enter(t, trudy, da.UserCode); got.status != http.StatusTooManyRequests {
		t.Errorf("after the address ceiling: %d, want 429", got.status)
	}
	if got := enter(t, trudy, "aeiou"); got.status != http.StatusTooManyRequests {
		t.Errorf("locked form must stay locked for any input: %d", got.status)
	}
}

// TestOnlyFreshPasskeySessionsApprove: invariant 1. An email-code session cannot
// approve: without a passkey it is told to get one, with one it is sent to confirm
// with it first, and only then does the approval go through.
func TestOnlyFreshPasskeySessionsApprove(t *testing.T) {
	e := newEnv(t, envOpts{})
	tv := &http.Client{}

	t.Run("email-code session of an account without a passkey", func(t *testing.T) {
		da := e.startDevice(t, tv, "openid")
		u, err := e.s.App.Users.Create(t.Context(), tenantID, user.NewUser{Email: "eve@example.com", EmailVerified: true,
			DisplayName: "Eve"}, audit.System())
		if err != nil {
			t.Fatal(err)
		}
		p := e.s.NewPerson(tenantID)
		e.emailCodeSession(t, p, u.ID)
		if shown := enter(t, p, da.UserCode); shown.status != http.StatusOK {
			t.Fatalf("an email-code session may look at the request: %d", shown.status)
		}
		got := decide(t, p, da.UserCode, "approve")
		if got.status != http.StatusForbidden || !got.has("Sign in with a passkey to approve") {
			t.Fatalf("approval by an email-code session: %d\n%s", got.status, got.body)
		}
		if _, code, _ := e.poll(t, tv, da.DeviceCode); code != "authorization_pending" {
			t.Errorf("poll: %q, want authorization_pending", code)
		}
	})

	t.Run("email-code session of an account with a passkey steps up first", func(t *testing.T) {
		da := e.startDevice(t, tv, "openid")
		ana := e.s.NewPerson(tenantID)
		ana.SignUp(t, "Ana Lima")
		owner := e.userOf(t, ana)
		p := e.s.NewPersonWith(tenantID, ana.Auth)
		e.emailCodeSession(t, p, owner)
		got := decide(t, p, da.UserCode, "approve")
		if got.status != http.StatusForbidden || !got.has(`data-passkey="stepup"`) || !got.has(`action="/t/`+tenantID+`/device/decide"`) ||
			!got.has(`name="decision" value="approve"`) {
			t.Fatalf("want the passkey confirmation page that posts the approval again: %d\n%s", got.status, got.body)
		}
		if r := p.StepUp(t); r.Status != http.StatusOK {
			t.Fatalf("step-up: %d %s", r.Status, r.Body)
		}
		if got := decide(t, p, da.UserCode, "approve"); got.status != http.StatusOK {
			t.Fatalf("approval after the passkey confirmation: %d\n%s", got.status, got.body)
		}
	})

	t.Run("a stale passkey session confirms again", func(t *testing.T) {
		ana := e.s.NewPerson(tenantID)
		ana.SignUp(t, "Ana Lima")
		e.clock.Advance(6 * time.Minute) // past the five-minute step-up age
		da := e.startDevice(t, tv, "openid")
		if got := decide(t, ana, da.UserCode, "approve"); got.status != http.StatusForbidden || !got.has(`data-passkey="stepup"`) {
			t.Fatalf("approval by a six-minute-old session: %d", got.status)
		}
	})
}

// emailCodeSession signs p in as userID with an email code: a session that is not
// phishing-resistant, as the email-code sign-in would make.
func (e *env) emailCodeSession(t *testing.T, p *apptest.Person, userID string) {
	t.Helper()
	var token string
	err := e.s.App.Store.InTx(t.Context(), func(tx store.Tx) error {
		var err error
		token, _, err = e.s.App.Sessions.Create(t.Context(), tx, session.New{TenantID: tenantID, UserID: userID,
			AMR: []string{session.AMROTP}, ACR: session.ACRSingleFactor, IP: "127.0.0.1", Network: "127.0.0.0/24"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.s.URL)
	p.Client.Jar.SetCookies(u, []*http.Cookie{{Name: e.s.App.Config.CookieName(), Value: token, Path: "/"}})
}

// userOf returns the id of the user signed in in p's browser.
func (e *env) userOf(t *testing.T, p *apptest.Person) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.s.URL+"/t/"+tenantID+"/account", nil)
	for _, c := range p.Client.Jar.Cookies(req.URL) {
		if c.Name == e.s.App.Config.CookieName() {
			req.AddCookie(c)
		}
	}
	s, err := e.s.App.Sessions.Lookup(t.Context(), req, tenantID)
	if err != nil {
		t.Fatalf("session of the browser: %v", err)
	}
	return s.UserID
}
