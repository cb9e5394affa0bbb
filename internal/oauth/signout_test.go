package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Signing out everywhere else, and locking the account, take the refresh tokens of
// applications authorized from the other sessions with them.
func TestSignOutEverywhereElseRevokesAppTokens(t *testing.T) {
	e := newEnv(t)
	c, secret := e.mustClient(t, client.Settings{Name: "App", RedirectURIs: []string{redirectURI}, FirstParty: true,
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
	conf := e.config(c, secret, redirectURI, "openid", "offline_access")
	ana := e.signedUp(t)
	laptop := ana.OtherBrowser()
	laptop.SignIn(t)

	tokens := func(p interface{}) *oauth2.Token {
		t.Helper()
		verifier := oauth2.GenerateVerifier()
		cb := browse(t, laptop, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), redirectURI)
		tok, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token issued")
		}
		return tok
	}
	refreshWorks := func(tok *oauth2.Token) bool {
		t.Helper()
		status, _ := tokenCall(t, e.issuer+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, c.ID, secret)
		return status == http.StatusOK
	}

	// Refresh works while nothing is revoked (each refresh rotates the token).
	probe := tokens(nil)
	status, out := tokenCall(t, e.issuer+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {probe.RefreshToken}}, c.ID, secret)
	if status != http.StatusOK {
		t.Fatalf("refresh before revocation: %d %v", status, out)
	}
	// The app was authorized from the laptop; Ana signs out everywhere but her phone.
	tok := tokens(nil)
	if r := post(t, ana, "/t/"+tenantID+"/account/sessions/revoke-others", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out everywhere else answered %d", r.StatusCode)
	}
	if refreshWorks(tok) {
		t.Fatal("an app authorized from a signed-out session still refreshes")
	}

	// Locking the account ends every app's tokens, including ones from the kept session.
	laptop.SignIn(t)
	tok = tokens(nil)
	var uid string
	e.s.App.Store.View(context.Background(), func(tx store.Tx) error {
		us, err := tx.ListUsers(context.Background(), tenantID, store.UserQuery{})
		if err == nil && len(us) > 0 {
			uid = us[0].ID
		}
		return err
	})
	if _, err := e.s.App.Users.SetStatus(context.Background(), tenantID, uid, store.UserLocked, "test", audit.System()); err != nil {
		t.Fatal(err)
	}
	if refreshWorks(tok) {
		t.Fatal("a locked account's app still refreshes")
	}
}
