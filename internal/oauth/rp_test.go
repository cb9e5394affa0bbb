package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

// nonceKey carries the nonce a relying party expects in the ID token it verifies.
type nonceKey struct{}

// expectNonce returns ctx with the nonce the next ID token must carry.
func expectNonce(ctx context.Context, nonce string) context.Context {
	return context.WithValue(ctx, nonceKey{}, nonce)
}

// TestZitadelRelyingParty is the third independent client of the "Done when": the
// relying party of zitadel/oidc, configured from the discovery document alone, signs
// a person in with a passkey (code flow with PKCE), verifies the ID token against
// the JWKS, calls userinfo, refreshes, revokes and logs the person out.
func TestZitadelRelyingParty(t *testing.T) {
	e := newEnv(t)
	c, secret := e.mustClient(t, client.Settings{Name: "Bookshelf", RedirectURIs: []string{redirectURI},
		PostLogoutRedirectURIs: []string{logoutRedir}, GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
	scopes := []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess}
	ctx := t.Context()

	// The relying party's own back channel: no cookies, only client credentials.
	party, err := rp.NewRelyingPartyOIDC(ctx, e.issuer, c.ID, secret, redirectURI, scopes,
		rp.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		// The client is registered for client_secret_basic, which Gatehouse holds it to.
		rp.WithAuthStyle(oauth2.AuthStyleInHeader),
		rp.WithSigningAlgsFromDiscovery(),
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string {
			n, _ := ctx.Value(nonceKey{}).(string)
			return n
		})))
	if err != nil {
		t.Fatalf("relying party from discovery: %v", err)
	}
	if got := party.GetEndSessionEndpoint(); got != e.issuer+"/oauth2/logout" {
		t.Errorf("end_session_endpoint from discovery = %q", got)
	}

	ana := e.signedUp(t).OtherBrowser() // has an account; signs in with a passkey here
	verifier := oauth2.GenerateVerifier()
	start := rp.AuthURL("rp-state", party,
		rp.WithCodeChallenge(oidc.NewSHACodeChallenge(verifier)),
		rp.AuthURLOpt(rp.WithURLParam("nonce", "rp-nonce")))
	cb := browse(t, ana, start, redirectURI)
	if q := cb.Query(); q.Get("state") != "rp-state" || q.Get("iss") != e.issuer || q.Get("code") == "" {
		t.Fatalf("callback = %s", cb)
	}

	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](expectNonce(ctx, "rp-nonce"), cb.Query().Get("code"), party,
		rp.WithCodeVerifier(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	claims := tokens.IDTokenClaims
	if claims.Subject == "" || claims.Nonce != "rp-nonce" || claims.AuthTime == 0 || claims.SessionID == "" ||
		claims.AuthenticationContextClassReference != session.ACRPhishingResistant || len(claims.AuthenticationMethodsReferences) == 0 {
		t.Errorf("ID token claims = %+v", claims)
	}
	if tokens.RefreshToken == "" || tokens.AccessToken == "" {
		t.Fatalf("the token response lacks a token: %+v", tokens.Token)
	}
	checkAccessToken(t, e, tokens.AccessToken, c.ID, true)

	info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, tokens.TokenType, claims.Subject, party)
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if info.Name != "Ana Lima" {
		t.Errorf("userinfo name = %q, want Ana Lima", info.Name)
	}

	// Refresh: a new access token and a rotated refresh token; the old one is spent.
	refreshed, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, party, tokens.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.RefreshToken == "" || refreshed.RefreshToken == tokens.RefreshToken || refreshed.AccessToken == tokens.AccessToken {
		t.Fatalf("refresh did not rotate: %+v", refreshed.Token)
	}
	if refreshed.IDTokenClaims != nil && refreshed.IDTokenClaims.Subject != claims.Subject {
		t.Errorf("refreshed ID token names %q, first one %q", refreshed.IDTokenClaims.Subject, claims.Subject)
	}
	if _, err := rp.Userinfo[*oidc.UserInfo](ctx, refreshed.AccessToken, refreshed.TokenType, claims.Subject, party); err != nil {
		t.Errorf("userinfo with the refreshed access token: %v", err)
	}

	// Revoking the live refresh token ends the family.
	if err := rp.RevokeToken(ctx, party, refreshed.RefreshToken, "refresh_token"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, party, refreshed.RefreshToken, "", ""); err == nil {
		t.Error("a revoked refresh token was refreshed")
	}

	// RP-initiated logout travels through the person's browser, which carries the
	// Gatehouse session; the ID token proves the request speaks for that session.
	browserSide, err := rp.NewRelyingPartyOIDC(ctx, e.issuer, c.ID, secret, redirectURI, scopes,
		rp.WithHTTPClient(ana.Client), rp.WithAuthStyle(oauth2.AuthStyleInHeader))
	if err != nil {
		t.Fatal(err)
	}
	back, err := rp.EndSession(ctx, browserSide, tokens.IDToken, logoutRedir, "rp-bye", "", nil)
	if err != nil {
		t.Fatalf("end session: %v", err)
	}
	if want := logoutRedir + "?state=rp-bye"; back == nil || back.String() != want {
		t.Fatalf("logout sent the browser to %v, want %s with the state", back, logoutRedir)
	}
	if r := ana.Do(t, "GET", "api/passkey/credentials", nil); r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
		t.Errorf("the Gatehouse session still works after logout: %d", r.Status)
	}
	wantAudit(t, e, "oauth.logout", "info")

	// Signed out, a new authorization request goes to the sign-in page again.
	resp := get(t, ana, rp.AuthURL("rp-again", party, rp.WithCodeChallenge(oidc.NewSHACodeChallenge(oauth2.GenerateVerifier()))))
	body(t, resp)
	for resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusFound {
		loc := resp.Header.Get("Location")
		if u, _ := url.Parse(loc); u != nil && u.Path == "/t/"+tenantID+"/signin" {
			return
		}
		resp = get(t, ana, loc)
		body(t, resp)
	}
	t.Errorf("after logout the authorization request answered %d instead of asking to sign in", resp.StatusCode)
}
