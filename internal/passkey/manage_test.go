package passkey_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// addVerifiedEmail gives the account a verified address so notices have somewhere to go.
func addVerifiedEmail(t *testing.T, s *apptest.Server, userID, email string) {
	t.Helper()
	err := s.App.Store.InTx(context.Background(), func(tx store.Tx) error {
		now := time.Now()
		return tx.AddIdentifier(context.Background(), &store.Identifier{ID: secret.ID(), TenantID: "default", UserID: userID,
			Kind: store.IdentEmail, Value: email, Verified: true, Primary: true, CreatedAt: now, VerifiedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitMail waits for a message to addr whose subject contains subject.
func waitMail(t *testing.T, s *apptest.Server, addr, subject string) store.Mail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var mails []store.Mail
		s.App.Store.View(context.Background(), func(tx store.Tx) error {
			var err error
			mails, err = tx.ListMail(context.Background(), 100)
			return err
		})
		for _, m := range mails {
			if m.To == addr && strings.Contains(m.Subject, subject) {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no mail to %s about %q", addr, subject)
	return store.Mail{}
}

func TestAddSecondPasskeyNeedsFreshStepUpAndNotifies(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	ana := s.NewPerson("default")
	ana.SignUp(t, "Ana")
	uid := currentSession(t, ana).UserID
	addVerifiedEmail(t, s, uid, "ana@example.com")

	// Ten minutes later the session is no longer fresh: adding a passkey needs a step-up.
	clock.Advance(10 * time.Minute)
	r := ana.AddPasskey(t, "Laptop")
	if r.Status != 403 || r.ErrorCode() != "step_up_required" {
		t.Fatalf("stale session added a passkey: %d %s", r.Status, r.Body)
	}
	if r := ana.StepUp(t); r.Status != 200 {
		t.Fatalf("step-up: %d %s", r.Status, r.Body)
	}
	if len(s.Events(t, "default", audit.StepUpSucceeded)) != 1 {
		t.Fatal("step-up not audited")
	}
	// The second passkey lives on another authenticator (a laptop).
	laptop := s.NewPersonWith("default", passkeytest.New(passkeytest.Options{}))
	laptop.Client = ana.Client
	if r := laptop.AddPasskey(t, "Laptop"); r.Status != 200 {
		t.Fatalf("add passkey: %d %s", r.Status, r.Body)
	}
	if ids := ana.CredentialIDs(t); len(ids) != 2 {
		t.Fatalf("credentials: %v", ids)
	}
	m := waitMail(t, s, "ana@example.com", "A passkey was added")
	if !strings.Contains(m.Body, "Laptop") || !strings.Contains(m.Body, "127.0.0.1") {
		t.Fatalf("notice lacks what/where: %s", m.Body)
	}

	// The laptop passkey signs in on its own.
	laptop.OtherBrowser().SignIn(t)
}

func TestRemovePasskeyRules(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	ana := s.NewPerson("default")
	ana.SignUp(t, "Ana")
	uid := currentSession(t, ana).UserID
	addVerifiedEmail(t, s, uid, "ana@example.com")
	second := s.NewPersonWith("default", passkeytest.New(passkeytest.Options{}))
	second.Client = ana.Client
	if r := second.AddPasskey(t, "Key"); r.Status != 200 {
		t.Fatalf("add: %d %s", r.Status, r.Body)
	}
	ids := ana.CredentialIDs(t)

	clock.Advance(6 * time.Minute)
	r := ana.Do(t, "DELETE", "api/passkey/credentials/"+ids[0], nil)
	if r.Status != 403 || r.ErrorCode() != "step_up_required" {
		t.Fatalf("removal without step-up: %d %s", r.Status, r.Body)
	}
	if r := ana.StepUp(t); r.Status != 200 {
		t.Fatalf("step-up: %d %s", r.Status, r.Body)
	}
	if r := ana.Do(t, "DELETE", "api/passkey/credentials/"+ids[0], nil); r.Status != 200 {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	waitMail(t, s, "ana@example.com", "A passkey was removed")
	r = ana.Do(t, "DELETE", "api/passkey/credentials/"+ids[1], nil)
	if r.Status != 409 || r.ErrorCode() != "last_method" {
		t.Fatalf("last passkey removed: %d %s", r.Status, r.Body)
	}
	if got := ana.CredentialIDs(t); len(got) != 1 || got[0] != ids[1] {
		t.Fatalf("credentials after removals: %v", got)
	}
	// Another user's passkey is invisible.
	eve := s.NewPerson("default")
	eve.SignUp(t, "Eve")
	if r := eve.Do(t, "DELETE", "api/passkey/credentials/"+ids[1], nil); r.Status != 404 {
		t.Fatalf("removed someone else's passkey: %d %s", r.Status, r.Body)
	}
	if r := eve.Do(t, "POST", "api/passkey/credentials/"+ids[1]+"/name", map[string]string{"name": "mine"}); r.Status != 404 {
		t.Fatalf("renamed someone else's passkey: %d %s", r.Status, r.Body)
	}
	if r := ana.Do(t, "POST", "api/passkey/credentials/"+ids[1]+"/name", map[string]string{"name": "Work phone"}); r.Status != 200 {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	if r := ana.Do(t, "POST", "api/passkey/credentials/"+ids[1]+"/name", map[string]string{"name": strings.Repeat("x", 65)}); r.Status != 400 {
		t.Fatalf("overlong name: %d %s", r.Status, r.Body)
	}
}

// TestInvariant1_NoPhishingResistantWithoutPasskey: a session obtained without a
// passkey does not carry acr phr, and only a passkey assertion raises it.
func TestInvariant1_NoPhishingResistantWithoutPasskey(t *testing.T) {
	s := apptest.Start(t)
	ana := s.NewPerson("default")
	ana.SignUp(t, "Ana")
	uid := currentSession(t, ana).UserID

	// An email-code style session for the same account.
	var token string
	err := s.App.Store.InTx(context.Background(), func(tx store.Tx) error {
		var err error
		token, _, err = s.App.Sessions.Create(context.Background(), tx, session.New{
			TenantID: "default", UserID: uid, AMR: []string{session.AMROTP}, ACR: session.ACRSingleFactor})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	otp := s.NewPersonWith("default", ana.Auth)
	otp.Client.Jar.SetCookies(mustURL(s.URL), []*httpCookie{{Name: "gh_session", Value: token, Path: "/"}})
	sess := currentSession(t, otp)
	if sess.ACR == session.ACRPhishingResistant || session.PhishingResistant(sess) {
		t.Fatalf("otp session is phishing-resistant: %+v", sess)
	}
	// A forged step-up (no UV) leaves it as it was.
	r := otp.Do(t, "POST", "api/passkey/stepup/begin", nil)
	o, _ := passkeytest.ParseRequestOptions(r.Body)
	o.Origin = s.URL
	forged := otp.Assert(t, o, func(o *passkeytest.GetOptions) { o.NoUserVerification = true })
	if r := otp.Do(t, "POST", "api/passkey/stepup/finish", forged); r.Status != 400 {
		t.Fatalf("forged step-up accepted: %d %s", r.Status, r.Body)
	}
	if s := currentSession(t, otp); s.ACR != session.ACRSingleFactor {
		t.Fatalf("forged step-up changed acr to %s", s.ACR)
	}
	// It cannot add a passkey (the account already has one) without a real step-up.
	if r := otp.AddPasskey(t, "x"); r.ErrorCode() != "step_up_required" {
		t.Fatalf("otp session added a passkey: %d %s", r.Status, r.Body)
	}
	// A real passkey assertion raises it.
	if r := otp.StepUp(t); r.Status != 200 {
		t.Fatalf("step-up: %d %s", r.Status, r.Body)
	}
	if s := currentSession(t, otp); s.ACR != session.ACRPhishingResistant {
		t.Fatalf("after step-up acr=%s", s.ACR)
	}
}

// TestInvariant2_CredentialAddedOnlyFreshOrUnderHold: a fresh passkey session may
// add a credential; a stale one may not; an account with no credential at all gets
// its first one only as provisional, under a hold.
func TestInvariant2_CredentialAddedOnlyFreshOrUnderHold(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	ctx := context.Background()
	u, err := s.App.Users.Create(ctx, "default", newUser("legacy@example.com"), audit.System())
	if err != nil {
		t.Fatal(err)
	}
	var token string
	err = s.App.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		token, _, err = s.App.Sessions.Create(ctx, tx, session.New{TenantID: "default", UserID: u.ID, AMR: []string{"otp"}, ACR: session.ACRSingleFactor})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p := s.NewPerson("default")
	p.Client.Jar.SetCookies(mustURL(s.URL), []*httpCookie{{Name: "gh_session", Value: token, Path: "/"}})
	r := p.AddPasskey(t, "First")
	if r.Status != 200 {
		t.Fatalf("first passkey for an account with none: %d %s", r.Status, r.Body)
	}
	var out struct {
		Provisional bool `json:"provisional"`
	}
	json.Unmarshal(r.Body, &out)
	if !out.Provisional {
		t.Fatal("first passkey from a non-phishing-resistant session was not provisional")
	}
	var acct *store.User
	s.App.Store.View(ctx, func(tx store.Tx) error {
		acct, err = tx.GetUser(ctx, "default", u.ID)
		return err
	})
	if acct.HoldUntil.Before(clock.Now().Add(23 * time.Hour)) {
		t.Fatalf("account not on hold: %v", acct.HoldUntil)
	}
	// Now the account has a credential: the otp session can add no more.
	if r := p.AddPasskey(t, "Second"); r.ErrorCode() != "step_up_required" {
		t.Fatalf("second passkey from otp session: %d %s", r.Status, r.Body)
	}
	// A fresh passkey session can; after five minutes it can't without a step-up.
	q := s.NewPerson("default")
	q.SignUp(t, "Fresh")
	laptop := s.NewPersonWith("default", passkeytest.New(passkeytest.Options{}))
	laptop.Client = q.Client
	if r := laptop.AddPasskey(t, "Second"); r.Status != 200 {
		t.Fatalf("fresh session could not add: %d %s", r.Status, r.Body)
	}
	clock.Advance(5*time.Minute + time.Second)
	third := s.NewPersonWith("default", passkeytest.New(passkeytest.Options{}))
	third.Client = q.Client
	if r := third.AddPasskey(t, "Third"); r.ErrorCode() != "step_up_required" {
		t.Fatalf("stale session added: %d %s", r.Status, r.Body)
	}
}

func TestRegistrationRejections(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	for _, c := range []struct {
		name  string
		forge func(*passkeytest.CreateOptions)
		code  string
	}{
		{"wrong origin", func(o *passkeytest.CreateOptions) { o.OriginOverride = "http://evil.example" }, "verification_failed"},
		{"wrong rpId hash", func(o *passkeytest.CreateOptions) { o.RPIDHashOverride = make([]byte, 32) }, "verification_failed"},
		{"no user verification", func(o *passkeytest.CreateOptions) { o.NoUserVerification = true }, "verification_failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := p.BeginRegister(t, "", "Mallory")
			r := p.FinishRegister(t, o, c.forge)
			if r.Status != 400 || r.ErrorCode() != c.code {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	if n := len(s.Events(t, "default", audit.PasskeyEnrollFailed)); n != 3 {
		t.Fatalf("enroll failures audited: %d", n)
	}
	// A sign-up begun in one browser cannot be finished in another.
	o := p.BeginRegister(t, "", "Mallory")
	other := s.NewPersonWith("default", p.Auth)
	if r := other.FinishRegister(t, o, nil); r.Status != 403 {
		t.Fatalf("finished someone else's sign-up: %d %s", r.Status, r.Body)
	}
	// No name, no passkey-first account.
	if r := s.NewPerson("default").Do(t, "POST", "api/passkey/register/begin", map[string]string{}); r.Status != 400 {
		t.Fatalf("nameless sign-up: %d %s", r.Status, r.Body)
	}
}

func TestNoSelfSignUpWhereNotAllowed(t *testing.T) {
	s := apptest.Start(t)
	// Operators are never self-made.
	op := s.NewPerson("system")
	if r := op.Do(t, "POST", "api/passkey/register/begin", map[string]string{"display_name": "Mallory"}); r.Status != 403 {
		t.Fatalf("passkey-first sign-up in the system tenant: %d %s", r.Status, r.Body)
	}
	// A tenant can turn self sign-up off.
	setPolicy(t, s, "default", func(p *tenant.Policy) { p.Flows.SelfSignUp = false })
	if r := s.NewPerson("default").Do(t, "POST", "api/passkey/register/begin", map[string]string{"display_name": "Eve"}); r.Status != 403 {
		t.Fatalf("sign-up with self_sign_up off: %d %s", r.Status, r.Body)
	}
}

// A passkey enrolled during a hold signs in, but its sessions are provisional: they
// cannot add or remove passkeys and do not count as phishing-resistant until the hold
// ends.
func TestProvisionalPasskeySessionsAreLimitedDuringHold(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	ctx := context.Background()
	u, err := s.App.Users.Create(ctx, "default", newUser("held@example.com"), audit.System())
	if err != nil {
		t.Fatal(err)
	}
	var token string
	err = s.App.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		token, _, err = s.App.Sessions.Create(ctx, tx, session.New{TenantID: "default", UserID: u.ID, AMR: []string{"otp"}, ACR: session.ACRSingleFactor})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p := s.NewPerson("default")
	p.Client.Jar.SetCookies(mustURL(s.URL), []*httpCookie{{Name: "gh_session", Value: token, Path: "/"}})
	if r := p.AddPasskey(t, "First"); r.Status != 200 {
		t.Fatalf("first passkey: %d %s", r.Status, r.Body)
	}
	// Signing in with the provisional passkey gives a provisional session.
	q := p.OtherBrowser()
	q.SignIn(t)
	sess := currentSession(t, q)
	if sess.Flow != session.FlowProvisional || session.PhishingResistant(sess) || sess.ACR == session.ACRPhishingResistant {
		t.Fatalf("session during hold: flow=%s acr=%s", sess.Flow, sess.ACR)
	}
	// It cannot add a second passkey, even after confirming with the provisional one:
	// the refusal names the hold.
	if r := q.StepUp(t); r.Status != 200 {
		t.Fatalf("step-up: %d %s", r.Status, r.Body)
	}
	second := s.NewPersonWith("default", passkeytest.New(passkeytest.Options{}))
	second.Client = q.Client
	if r := second.AddPasskey(t, "Second"); r.ErrorCode() != "on_hold" {
		t.Fatalf("provisional session added a passkey: %d %s", r.Status, r.Body)
	}
	ids := q.CredentialIDs(t)
	if r := q.Do(t, "DELETE", "api/passkey/credentials/"+ids[0], nil); r.ErrorCode() != "on_hold" {
		t.Fatalf("provisional session removed a passkey: %d %s", r.Status, r.Body)
	}
	// After the hold, the same passkey gives ordinary phishing-resistant sessions.
	clock.Advance(25 * time.Hour)
	r := q.OtherBrowser()
	r.SignIn(t)
	if got := currentSession(t, r); got.Flow != session.FlowNormal || !session.PhishingResistant(got) {
		t.Fatalf("session after hold: flow=%s acr=%s", got.Flow, got.ACR)
	}
}

// TestRemovingAPasskeySignsOutItsSessions: removing a lost phone's passkey signs out
// the browser that signed in with it, and only that one.
func TestRemovingAPasskeySignsOutItsSessions(t *testing.T) {
	s := apptest.Start(t)
	ana := s.NewPerson("default")
	ana.SignUp(t, "Ana")
	phoneKey := passkeytest.New(passkeytest.Options{})
	adder := s.NewPersonWith("default", phoneKey)
	adder.Client = ana.Client
	if r := adder.AddPasskey(t, "Phone"); r.Status != 200 {
		t.Fatalf("add the phone's passkey: %d %s", r.Status, r.Body)
	}
	ids := ana.CredentialIDs(t)
	phone := s.NewPersonWith("default", phoneKey)
	phone.SignIn(t)
	laptop := ana.OtherBrowser()
	laptop.SignIn(t)
	for name, p := range map[string]*apptest.Person{"phone": phone, "laptop": laptop} {
		if r := p.Do(t, "GET", "account", nil); r.Status != 200 {
			t.Fatalf("%s account page before the removal: %d", name, r.Status)
		}
	}

	if r := ana.StepUp(t); r.Status != 200 {
		t.Fatalf("step-up: %d %s", r.Status, r.Body)
	}
	if r := ana.Do(t, "DELETE", "api/passkey/credentials/"+ids[1], nil); r.Status != 200 {
		t.Fatalf("remove the phone's passkey: %d %s", r.Status, r.Body)
	}
	if r := phone.Do(t, "GET", "account", nil); r.Status == 200 {
		t.Error("the browser signed in with the removed passkey still sees the account page")
	}
	if r := laptop.Do(t, "GET", "account", nil); r.Status != 200 {
		t.Errorf("a browser signed in with another passkey was signed out: %d", r.Status)
	}
	if r := ana.Do(t, "GET", "account", nil); r.Status != 200 {
		t.Errorf("the browser that removed the passkey was signed out: %d", r.Status)
	}
	var removed []store.AuditEvent
	s.App.Store.View(t.Context(), func(tx store.Tx) error {
		var err error
		removed, err = tx.QueryAudit(t.Context(), store.AuditQuery{TenantID: "default", Type: audit.PasskeyRemoved})
		return err
	})
	if len(removed) != 1 || !strings.Contains(string(removed[0].Details), `"sessions_revoked":1`) {
		t.Fatalf("passkey.removed events: %+v, want one naming 1 session revoked", removed)
	}
}
