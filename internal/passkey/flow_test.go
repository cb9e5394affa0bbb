package passkey_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func detail(e store.AuditEvent, key string) string {
	var m map[string]any
	json.Unmarshal(e.Details, &m)
	v, _ := m[key].(string)
	return v
}

// currentSession returns the session of the person's browser.
func currentSession(t *testing.T, p *apptest.Person) *store.Session {
	t.Helper()
	var list []store.Session
	// The jar holds the cookie; find the newest live session of the signed-in user by
	// asking the API for credentials first (which needs a session).
	r := p.Do(t, "GET", "api/passkey/credentials", nil)
	if r.Status != 200 {
		t.Fatalf("not signed in: %d %s", r.Status, r.Body)
	}
	for _, c := range p.Client.Jar.Cookies(mustURL(p.S.URL)) {
		if c.Name == "gh_session" {
			err := p.S.App.Store.View(context.Background(), func(tx store.Tx) error {
				s, err := tx.GetSessionByTokenHash(context.Background(), hash(c.Value))
				if err == nil {
					list = append(list, *s)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(list) != 1 {
		t.Fatalf("found %d sessions for the browser", len(list))
	}
	return &list[0]
}

func setPolicy(t testing.TB, s *apptest.Server, tenantID string, f func(*tenant.Policy)) {
	t.Helper()
	p, err := s.App.Tenants.Policy(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	f(&p)
	if _, err := s.App.Tenants.SetPolicy(context.Background(), tenantID, p, audit.System()); err != nil {
		t.Fatal(err)
	}
}

func TestPasskeyFirstSignUpThenUsernamelessSignIn(t *testing.T) {
	s := apptest.Start(t)
	ana := s.NewPerson("default")
	ana.SignUp(t, "Ana Lima")

	sess := currentSession(t, ana)
	if sess.ACR != session.ACRPhishingResistant || !slices.Equal(sess.AMR, []string{"swk", "user"}) {
		t.Fatalf("sign-up session assurance acr=%s amr=%v", sess.ACR, sess.AMR)
	}
	if ids := ana.CredentialIDs(t); len(ids) != 1 {
		t.Fatalf("credentials after sign-up: %v", ids)
	}
	for _, typ := range []string{audit.UserSignedUp, audit.PasskeyEnrolled, audit.SessionCreated} {
		if len(s.Events(t, "default", typ)) != 1 {
			t.Errorf("want one %s event", typ)
		}
	}

	// The same person on another browser signs in without typing anything.
	other := ana.OtherBrowser()
	other.SignIn(t)
	s2 := currentSession(t, other)
	if s2.UserID != sess.UserID || s2.ID == sess.ID || s2.ACR != session.ACRPhishingResistant {
		t.Fatalf("second sign-in session %+v", s2)
	}
	ok := s.Events(t, "default", audit.SignInSucceeded)
	if len(ok) != 1 || ok[0].TargetID != sess.UserID {
		t.Fatalf("signin.succeeded events: %+v", ok)
	}
}

func TestDeviceBoundPasskeyGetsHardwareKeyAMR(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPersonWith("default", passkeytest.New(passkeytest.Options{}))
	p.SignUp(t, "Dev Bound")
	if got := currentSession(t, p).AMR; !slices.Equal(got, []string{"hwk", "user"}) {
		t.Fatalf("amr = %v, want [hwk user]", got)
	}
}

// TestSignInRejections: every forged or replayed response is refused with a clear
// error code and leaves a signin.failed audit event naming the reason.
func TestSignInRejections(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	ana := s.NewPerson("default")
	ana.SignUp(t, "Ana")
	if _, err := s.App.Tenants.Create(context.Background(), "acme", "Acme", audit.System()); err != nil {
		t.Fatal(err)
	}
	// The same person also has an account in tenant acme, on the same authenticator.
	inAcme := s.NewPersonWith("acme", ana.Auth)
	inAcme.SignUp(t, "Ana at Acme")
	acmeCred := ana.Auth.Credentials()[1].ID
	defaultCred := ana.Auth.Credentials()[0].ID

	// A credential the server never saw.
	stranger := s.NewPerson("default")
	if _, err := stranger.Auth.Create(passkeytest.CreateOptions{Origin: s.URL, Challenge: make([]byte, 32), UserHandle: []byte("nobody")}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		who    *apptest.Person
		forge  func(*passkeytest.GetOptions)
		code   string
		reason string
	}{
		{"wrong origin", ana, func(o *passkeytest.GetOptions) {
			o.OriginOverride = "http://evil.example"
			o.CredentialID = defaultCred
		}, "verification_failed", "origin"},
		{"wrong rpId hash", ana, func(o *passkeytest.GetOptions) { o.RPIDHashOverride = make([]byte, 32); o.CredentialID = defaultCred }, "verification_failed", "RP Hash"},
		{"UV flag missing", ana, func(o *passkeytest.GetOptions) { o.NoUserVerification = true; o.CredentialID = defaultCred }, "verification_failed", "verif"},
		{"webauthn.create type", ana, func(o *passkeytest.GetOptions) { o.ClientDataType = "webauthn.create"; o.CredentialID = defaultCred }, "verification_failed", ""},
		{"unknown credential", stranger, nil, "unknown_credential", "not registered"},
		{"credential of another tenant", ana, func(o *passkeytest.GetOptions) { o.CredentialID = acmeCred }, "unknown_credential", "not registered"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(s.Events(t, "default", audit.SignInFailed))
			r := c.who.FinishLogin(t, c.who.Assert(t, c.who.BeginLogin(t), c.forge))
			if r.Status != 400 || r.ErrorCode() != c.code {
				t.Fatalf("got %d %s, want 400 %s", r.Status, r.Body, c.code)
			}
			if strings.Contains(string(r.Body), "Hash") || strings.Contains(string(r.Body), "Error validating") {
				t.Errorf("response leaks verifier internals: %s", r.Body)
			}
			evs := s.Events(t, "default", audit.SignInFailed)
			if len(evs) != before+1 {
				t.Fatalf("signin.failed events %d -> %d", before, len(evs))
			}
			last := evs[len(evs)-1]
			if detail(last, "code") != c.code || !strings.Contains(strings.ToLower(detail(last, "reason")), strings.ToLower(c.reason)) {
				t.Errorf("audit detail code=%q reason=%q", detail(last, "code"), detail(last, "reason"))
			}
			if last.Result != audit.Failure || last.IP == "" {
				t.Errorf("audit event %+v", last)
			}
		})
	}

	t.Run("replayed assertion", func(t *testing.T) {
		a := ana.Assert(t, ana.BeginLogin(t), func(o *passkeytest.GetOptions) { o.CredentialID = defaultCred })
		if r := ana.FinishLogin(t, a); r.Status != 200 {
			t.Fatalf("first use: %d %s", r.Status, r.Body)
		}
		r := ana.OtherBrowser().FinishLogin(t, a)
		if r.Status != 400 || r.ErrorCode() != "challenge_invalid" {
			t.Fatalf("replay: %d %s", r.Status, r.Body)
		}
	})
	t.Run("failed attempt burns the challenge", func(t *testing.T) {
		o := ana.BeginLogin(t)
		o.CredentialID = defaultCred
		bad := ana.Assert(t, o, func(o *passkeytest.GetOptions) { o.NoUserVerification = true })
		if r := ana.FinishLogin(t, bad); r.ErrorCode() != "verification_failed" {
			t.Fatalf("forged: %d %s", r.Status, r.Body)
		}
		good := ana.Assert(t, o, nil)
		if r := ana.FinishLogin(t, good); r.Status != 400 || r.ErrorCode() != "challenge_invalid" {
			t.Fatalf("challenge reused after a failure: %d %s", r.Status, r.Body)
		}
	})
	t.Run("expired challenge", func(t *testing.T) {
		o := ana.BeginLogin(t)
		clock.Advance(6 * time.Minute)
		r := ana.FinishLogin(t, ana.Assert(t, o, func(o *passkeytest.GetOptions) { o.CredentialID = defaultCred }))
		if r.Status != 400 || r.ErrorCode() != "challenge_invalid" {
			t.Fatalf("expired: %d %s", r.Status, r.Body)
		}
	})
	t.Run("challenge from another tenant", func(t *testing.T) {
		o := inAcme.BeginLogin(t)
		r := ana.FinishLogin(t, ana.Assert(t, o, func(o *passkeytest.GetOptions) { o.CredentialID = defaultCred }))
		if r.Status != 400 || r.ErrorCode() != "challenge_invalid" {
			t.Fatalf("cross-tenant challenge: %d %s", r.Status, r.Body)
		}
	})
	t.Run("malformed bodies", func(t *testing.T) {
		for _, b := range []string{"", "{}", "null", "[]", `{"id":"x","rawId":"!!!","type":"public-key","response":{}}`, strings.Repeat("{", 10000), "\xff\xfe"} {
			r := ana.FinishLogin(t, b)
			if r.Status != 400 || r.ErrorCode() != "invalid_request" {
				t.Errorf("body %.20q: %d %s", b, r.Status, r.Body)
			}
		}
	})
}

func TestSignCountRegression(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPersonWith("default", passkeytest.New(passkeytest.Options{}))
	p.SignUp(t, "Counter")
	p.SignIn(t)
	p.SignIn(t) // counter now 2
	zero := uint32(1)
	clone := func(o *passkeytest.GetOptions) { o.SignCount = &zero }

	// Default policy "flag": allowed, flagged high.
	if r := p.FinishLogin(t, p.Assert(t, p.BeginLogin(t), clone)); r.Status != 200 {
		t.Fatalf("flag policy refused: %d %s", r.Status, r.Body)
	}
	evs := s.Events(t, "default", audit.SignCountRegression)
	if len(evs) != 1 || evs[0].Severity != audit.High {
		t.Fatalf("regression events %+v", evs)
	}

	setPolicy(t, s, "default", func(p *tenant.Policy) { p.Passkeys.SignCountRegression = "refuse" })
	r := p.FinishLogin(t, p.Assert(t, p.BeginLogin(t), clone))
	if r.Status != 400 || r.ErrorCode() != "verification_failed" {
		t.Fatalf("refuse policy: %d %s", r.Status, r.Body)
	}
	failed := s.Events(t, "default", audit.SignInFailed)
	if len(failed) == 0 || !strings.Contains(detail(failed[len(failed)-1], "reason"), "sign count") {
		t.Fatalf("no audited refusal: %+v", failed)
	}
}

// TestInvariant3_ChallengesSingleUseHashedExpiring: a ceremony's challenge is stored
// only as a hash, and of concurrent finishes exactly one succeeds (expiry is covered
// by TestSignInRejections/expired_challenge).
func TestInvariant3_ChallengesSingleUseHashedExpiring(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	p.SignUp(t, "Racer")
	o := p.BeginLogin(t)
	challenge := apptest.B64(o.Challenge)
	var n int
	if err := s.App.DB.SQL().QueryRow(`SELECT COUNT(*) FROM artifacts WHERE hash = ? OR data LIKE ?`, challenge, "%"+challenge+"%").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("challenge stored in clear in %d rows", n)
	}
	var hashed int
	s.App.DB.SQL().QueryRow(`SELECT COUNT(*) FROM artifacts WHERE hash = ?`, hash(challenge)).Scan(&hashed)
	if hashed != 1 {
		t.Fatalf("challenge not stored under its hash (%d rows)", hashed)
	}

	for round := 0; round < 10; round++ {
		a := p.Assert(t, p.BeginLogin(t), nil)
		var wg sync.WaitGroup
		results := make([]int, 4)
		for i := range results {
			wg.Go(func() { results[i] = p.OtherBrowser().FinishLogin(t, a).Status })
		}
		wg.Wait()
		ok := 0
		for _, st := range results {
			if st == 200 {
				ok++
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d successes (%v)", round, ok, results)
		}
	}
}

func TestLockedAccountCannotSignIn(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	p.SignUp(t, "Locked")
	uid := currentSession(t, p).UserID
	if _, err := s.App.Users.SetStatus(context.Background(), "default", uid, store.UserLocked, "test", audit.System()); err != nil {
		t.Fatal(err)
	}
	r := p.OtherBrowser().FinishLogin(t, p.Assert(t, p.BeginLogin(t), nil))
	if r.Status != 403 || r.ErrorCode() != "account_unavailable" {
		t.Fatalf("locked account: %d %s", r.Status, r.Body)
	}
}
