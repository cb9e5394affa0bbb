package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// authorizeOnce sends one authorization request from the person's browser and
// follows Gatehouse's own redirect to the resume step, returning the answer there.
func authorizeOnce(t *testing.T, p *apptest.Person, u string) (*http.Response, string) {
	t.Helper()
	resp := get(t, p, u)
	b := body(t, resp)
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || !strings.Contains(loc, "/oauth2/authorize/resume") {
		return resp, b
	}
	resp = get(t, p, loc)
	return resp, body(t, resp)
}

func TestAuthorizeRefusesBadClientOrRedirectWithAPage(t *testing.T) {
	e := newEnv(t)
	c, _ := e.mustClient(t, client.Settings{Name: "App", RedirectURIs: []string{redirectURI}})
	p := e.signedUp(t)
	base := e.issuer + "/oauth2/authorize?"
	for name, q := range map[string]url.Values{
		"unknown client":         {"client_id": {"nope"}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"}},
		"missing client":         {"redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"}},
		"other redirect":         {"client_id": {c.ID}, "redirect_uri": {"https://evil.example/callback"}, "response_type": {"code"}, "scope": {"openid"}},
		"redirect with a suffix": {"client_id": {c.ID}, "redirect_uri": {redirectURI + "/x"}, "response_type": {"code"}, "scope": {"openid"}},
		"redirect with a query":  {"client_id": {c.ID}, "redirect_uri": {redirectURI + "?a=b"}, "response_type": {"code"}, "scope": {"openid"}},
		"missing redirect":       {"client_id": {c.ID}, "response_type": {"code"}, "scope": {"openid"}},
	} {
		resp := get(t, p, base+q.Encode())
		b := body(t, resp)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: answered %d, Location %q, type %q", name, resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Content-Type"))
		}
		if strings.Contains(b, "evil.example") {
			t.Errorf("%s: the page repeats the refused redirect URI", name)
		}
	}
}

func TestAuthorizeErrorsReachTheClient(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.mustClient(t, client.Settings{Name: "Native", Type: store.ClientPublic, RedirectURIs: []string{publicRedir}})
	conf := e.config(pub, "", publicRedir, oidc.ScopeOpenID)
	p := e.signedUp(t)
	v := oauth2.GenerateVerifier()
	for name, tc := range map[string]struct {
		opts []oauth2.AuthCodeOption
		want string
	}{
		"public client without PKCE": {nil, "invalid_request"},
		"plain PKCE":                 {[]oauth2.AuthCodeOption{oauth2.SetAuthURLParam("code_challenge", oauth2.S256ChallengeFromVerifier(v)), oauth2.SetAuthURLParam("code_challenge_method", "plain")}, "invalid_request"},
		"token response type":        {[]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("response_type", "token")}, "unsupported_response_type"},
		"request object":             {[]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("request", "x.y.z")}, "request_not_supported"},
		"unknown scope only":         {[]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("scope", "payments")}, "invalid_scope"},
	} {
		resp := get(t, p, conf.AuthCodeURL("st", tc.opts...))
		body(t, resp)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || !strings.HasPrefix(loc.String(), publicRedir) || loc.Query().Get("error") != tc.want || loc.Query().Get("state") != "st" {
			t.Errorf("%s: answered %d to %q, want error %s", name, resp.StatusCode, resp.Header.Get("Location"), tc.want)
		}
	}
}

func TestPromptNoneWithoutSessionIsLoginRequired(t *testing.T) {
	e := newEnv(t)
	c, _ := e.mustClient(t, client.Settings{Name: "App", RedirectURIs: []string{redirectURI}, FirstParty: true})
	stranger := e.s.NewPerson(tenantID)
	v := oauth2.GenerateVerifier()
	resp, _ := authorizeOnce(t, stranger, e.config(c, "", redirectURI, "openid").AuthCodeURL("st",
		oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "none")))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "st" || loc.Query().Get("iss") != e.issuer {
		t.Fatalf("prompt=none without a session answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Third-party client, signed in, never consented: consent_required.
	tp, _ := e.mustClient(t, client.Settings{Name: "Third", RedirectURIs: []string{redirectURI}})
	resp, _ = authorizeOnce(t, e.signedUp(t), e.config(tp, "", redirectURI, "openid").AuthCodeURL("st",
		oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "none")))
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "consent_required" {
		t.Fatalf("prompt=none without consent answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestACRValuesForcePasskey gives a person a session that did not come from a passkey
// and checks that a client asking for the phishing-resistant ACR gets no code from it.
func TestACRValuesForcePasskey(t *testing.T) {
	e := newEnv(t)
	c, secret := e.mustClient(t, client.Settings{Name: "Bank", RedirectURIs: []string{redirectURI}, FirstParty: true})
	conf := e.config(c, secret, redirectURI, "openid")
	p := e.signedUp(t)
	// Downgrade the session as an email-code sign-in would have made it.
	ctx := t.Context()
	err := e.s.App.Store.InTx(ctx, func(tx store.Tx) error {
		users, err := tx.ListUsers(ctx, tenantID, store.UserQuery{})
		if err != nil {
			return err
		}
		for _, u := range users {
			ss, err := tx.ListUserSessions(ctx, tenantID, u.ID, time.Now())
			if err != nil {
				return err
			}
			for _, s := range ss {
				s.ACR, s.AMR = session.ACRSingleFactor, []string{session.AMROTP}
				if err := tx.UpdateSessionAuth(ctx, &s); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	v := oauth2.GenerateVerifier()
	phr := oauth2.SetAuthURLParam("acr_values", session.ACRPhishingResistant)
	resp, _ := authorizeOnce(t, p, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v), phr, oauth2.SetAuthURLParam("prompt", "none")))
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none with a weak session answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := authorizeOnce(t, p, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v), phr))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="reauth-form"`) {
		t.Fatalf("weak session got %d %q instead of the sign-in-again page", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Without acr_values the same session is good enough, and the ID token says what it was.
	cb := browse(t, p, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)), redirectURI)
	tok, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := e.provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(e.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var cl struct{ ACR string }
	idt.Claims(&cl)
	if cl.ACR != session.ACRSingleFactor {
		t.Errorf("acr = %q", cl.ACR)
	}
}

func TestFormPostResponse(t *testing.T) {
	e := newEnv(t)
	c, _ := e.mustClient(t, client.Settings{Name: "App", RedirectURIs: []string{redirectURI}, FirstParty: true})
	v := oauth2.GenerateVerifier()
	resp, page := authorizeOnce(t, e.signedUp(t), e.config(c, "", redirectURI, "openid").AuthCodeURL("st",
		oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("response_mode", "form_post")))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="`+redirectURI+`"`) || !strings.Contains(page, `name="code"`) {
		t.Fatalf("form_post answered %d: %s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example;") {
		t.Errorf("form_post CSP = %q", csp)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	e := newEnv(t)
	conf, secret := e.mustClient(t, client.Settings{Name: "Svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"reports:read", "reports:write"}})
	web, webSecret := e.mustClient(t, client.Settings{Name: "Web", RedirectURIs: []string{redirectURI}, FirstParty: true})
	tokenURL := e.issuer + "/oauth2/token"

	// A code for the web client, to test the exchange's refusals.
	p := e.signedUp(t)
	v := oauth2.GenerateVerifier()
	cb := browse(t, p, e.config(web, webSecret, redirectURI, "openid").AuthCodeURL("s", oauth2.S256ChallengeOption(v)), redirectURI)
	code := cb.Query().Get("code")

	for name, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		want       string
	}{
		{"bad grant_type", url.Values{"grant_type": {"password"}}, conf.ID, secret, 400, "unsupported_grant_type"},
		{"missing grant_type", url.Values{}, conf.ID, secret, 400, "invalid_request"},
		{"unknown client", url.Values{"grant_type": {"client_credentials"}}, "nobody", "x", 401, "invalid_client"},
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}}, conf.ID, "wrong", 401, "invalid_client"},
		{"grant not allowed", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {redirectURI}}, conf.ID, secret, 400, "unauthorized_client"},
		{"scope not allowed", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, conf.ID, secret, 400, "invalid_scope"},
		{"user scope for a machine", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, conf.ID, secret, 400, "invalid_scope"},
		{"missing verifier", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}, web.ID, webSecret, 400, "invalid_grant"},
		{"wrong verifier", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {oauth2.GenerateVerifier()}}, web.ID, webSecret, 400, "invalid_grant"},
		{"wrong redirect", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI + "x"}, "code_verifier": {v}}, web.ID, webSecret, 400, "invalid_grant"},
		{"unknown code", url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "redirect_uri": {redirectURI}, "code_verifier": {v}}, web.ID, webSecret, 400, "invalid_grant"},
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, web.ID, webSecret, 400, "unauthorized_client"},
		{"oversized code", url.Values{"grant_type": {"authorization_code"}, "code": {strings.Repeat("a", 5000)}, "redirect_uri": {redirectURI}}, web.ID, webSecret, 400, "invalid_request"},
	} {
		_ = name
		status, out := tokenCall(t, tokenURL, tc.form, tc.user, tc.pass)
		if status != tc.status || out["error"] != tc.want || out["error_description"] == "" {
			t.Errorf("%s: answered %d %v, want %d %s with a description", tc.name, status, out, tc.status, tc.want)
		}
	}

	// client_credentials works within the client's scopes.
	status, out := tokenCall(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {"reports:read"}}, conf.ID, secret)
	if status != 200 || out["token_type"] != "Bearer" || out["scope"] != "reports:read" || out["refresh_token"] != nil {
		t.Fatalf("client_credentials answered %d %v", status, out)
	}
	checkAccessToken(t, e, out["access_token"].(string), conf.ID, false)
	status, in := tokenCall(t, e.issuer+"/oauth2/introspect", url.Values{"token": {out["access_token"].(string)}}, conf.ID, secret)
	if status != 200 || in["active"] != true || in["sub"] != conf.ID {
		t.Errorf("introspection of a client_credentials token: %d %v", status, in)
	}
	status, in = tokenCall(t, e.issuer+"/oauth2/introspect", url.Values{"token": {"garbage.garbage.garbage"}}, conf.ID, secret)
	if status != 200 || in["active"] != false {
		t.Errorf("introspection of garbage: %d %v", status, in)
	}
	status, in = tokenCall(t, e.issuer+"/oauth2/introspect", url.Values{"token": {out["access_token"].(string)}}, conf.ID, "wrong")
	if status != 401 || in["error"] != "invalid_client" {
		t.Errorf("introspection with a wrong secret: %d %v", status, in)
	}
	// The code still works once for the right verifier after all those refusals? No:
	// refusals do not use a code up, so the right request succeeds.
	status, out = tokenCall(t, tokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {v}}, web.ID, webSecret)
	if status != 200 {
		t.Fatalf("exchange answered %d %v", status, out)
	}
	// Reusing the code fails and revokes what it produced.
	status, again := tokenCall(t, tokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {v}}, web.ID, webSecret)
	if status != 400 || again["error"] != "invalid_grant" {
		t.Fatalf("code reuse answered %d %v", status, again)
	}
	status, in = tokenCall(t, e.issuer+"/oauth2/introspect", url.Values{"token": {out["access_token"].(string)}}, conf.ID, secret)
	if status != 200 || in["active"] != false {
		t.Errorf("token of a reused code still active: %v", in)
	}
	wantAudit(t, e, "oauth.code_reused", "high")
	// Metrics count issued tokens by grant and client.
	resp := get(t, p, "/metrics")
	if m := body(t, resp); !strings.Contains(m, `gatehouse_tokens_issued_total{client="`+conf.ID+`",grant="client_credentials"} 1`) {
		t.Errorf("metrics lack the client_credentials counter")
	}
}

func TestPublicClientCodeFlowAndKeyRotation(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.mustClient(t, client.Settings{Name: "CLI", Type: store.ClientPublic, RedirectURIs: []string{publicRedir}, FirstParty: true})
	conf := e.config(pub, "", publicRedir, "openid")
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	p := e.signedUp(t)
	v := oauth2.GenerateVerifier()
	cb := browse(t, p, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), publicRedir)
	tok, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("public exchange: %v", err)
	}
	// Rotate at once: the old key leaves signing but stays published.
	rot, err := e.s.App.Keys.Rotate(t.Context(), tenantID, keys.ES256, 0, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	verifier := e.provider.Verifier(&oidc.Config{ClientID: pub.ID})
	if _, err := verifier.Verify(e.ctx, tok.Extra("id_token").(string)); err != nil {
		t.Errorf("ID token signed before the rotation no longer verifies: %v", err)
	}
	if _, err := e.provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Errorf("access token signed before the rotation refused: %v", err)
	}
	v = oauth2.GenerateVerifier()
	cb = browse(t, p, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), publicRedir)
	tok2, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct{ Kid string }
	decodeSeg(t, strings.Split(tok2.Extra("id_token").(string), ".")[0], &hdr)
	if hdr.Kid != rot.KID {
		t.Errorf("new ID token signed by %q, want the new key %q", hdr.Kid, rot.KID)
	}
	if _, err := verifier.Verify(e.ctx, tok2.Extra("id_token").(string)); err != nil {
		t.Errorf("ID token of the new key does not verify: %v", err)
	}
}
