package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// A person signed in without a passkey who has skipped "Sign in faster" as often as
// the policy allows is sent to the prompt, not to the application.
func TestAuthorizeSendsExhaustedNudgeToPrompt(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c, secret := e.mustClient(t, client.Settings{Name: "App", RedirectURIs: []string{redirectURI}, FirstParty: true})
	u, err := e.s.App.Users.Create(ctx, tenantID, user.NewUser{Email: "nopasskey@example.com", EmailVerified: true}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	var token string
	err = e.s.App.Store.InTx(ctx, func(tx store.Tx) error {
		acct, err := tx.GetUser(ctx, tenantID, u.ID)
		if err != nil {
			return err
		}
		acct.NudgeSkips = 100
		if err := tx.UpdateUser(ctx, acct); err != nil {
			return err
		}
		token, _, err = e.s.App.Sessions.Create(ctx, tx, session.New{TenantID: tenantID, UserID: u.ID,
			AMR: []string{session.AMROTP}, ACR: session.ACRSingleFactor})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p := e.s.NewPerson(tenantID)
	p.Client.Jar.SetCookies(mustParse(t, e.s.URL), []*http.Cookie{{Name: "gh_session", Value: token, Path: "/"}})
	conf := e.config(c, secret, redirectURI, "openid")
	next := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	for hop := 0; hop < 6; hop++ {
		resp := get(t, p, next)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if strings.HasPrefix(loc, redirectURI) {
			t.Fatalf("the application got an answer: %s", loc)
		}
		if strings.Contains(loc, "/t/"+tenantID+"/nudge?") {
			if !strings.Contains(loc, "next=") {
				t.Fatalf("nudge redirect without a way back: %s", loc)
			}
			return
		}
		if loc == "" {
			t.Fatalf("stopped at %d without reaching the prompt", resp.StatusCode)
		}
		next = loc
	}
	t.Fatal("never reached the prompt")
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
