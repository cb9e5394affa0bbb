package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/client"
)

func TestPushedAuthorizationRequests(t *testing.T) {
	e := newEnv(t)
	c, secret := e.mustClient(t, client.Settings{Name: "Bank", RedirectURIs: []string{redirectURI}, FirstParty: true, RequirePAR: true})
	conf := e.config(c, secret, redirectURI, "openid")
	p := e.signedUp(t)
	parURL := e.issuer + "/oauth2/par"
	v := oauth2.GenerateVerifier()
	params := url.Values{"response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {"openid"}, "state": {"st"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(v)}, "code_challenge_method": {"S256"}}

	// A client that must push is refused on the front channel.
	resp := get(t, p, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	body(t, resp)
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "invalid_request" {
		t.Fatalf("front-channel request of a PAR-only client answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	status, out := tokenCall(t, parURL, params, c.ID, secret)
	if status != http.StatusCreated || out["expires_in"] != float64(60) {
		t.Fatalf("PAR answered %d %v", status, out)
	}
	requestURI := out["request_uri"].(string)
	if !strings.HasPrefix(requestURI, "urn:ietf:params:oauth:request_uri:") {
		t.Fatalf("request_uri = %q", requestURI)
	}
	start := e.issuer + "/oauth2/authorize?" + url.Values{"client_id": {c.ID}, "request_uri": {requestURI}}.Encode()
	cb := browse(t, p, start, redirectURI)
	if cb.Query().Get("state") != "st" {
		t.Errorf("callback lost the pushed state: %s", cb)
	}
	if _, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(v)); err != nil {
		t.Fatalf("exchange of a pushed request's code: %v", err)
	}
	// The request_uri is single use.
	resp = get(t, p, start)
	body(t, resp)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("reused request_uri answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	bad := func(mod func(url.Values)) url.Values {
		f := url.Values{}
		for k, v := range params {
			f[k] = v
		}
		mod(f)
		return f
	}
	for _, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		want       string
	}{
		{"wrong secret", params, c.ID, "nope", 401, "invalid_client"},
		{"no authentication", params, "", "", 401, "invalid_client"},
		{"unregistered redirect", bad(func(f url.Values) { f.Set("redirect_uri", "https://evil.example/cb") }), c.ID, secret, 400, "invalid_request"},
		{"pushed request_uri", bad(func(f url.Values) { f.Set("request_uri", requestURI) }), c.ID, secret, 400, "invalid_request"},
		{"plain PKCE", bad(func(f url.Values) { f.Set("code_challenge_method", "plain") }), c.ID, secret, 400, "invalid_request"},
		{"implicit", bad(func(f url.Values) { f.Set("response_type", "token") }), c.ID, secret, 400, "unsupported_response_type"},
		{"bad max_age", bad(func(f url.Values) { f.Set("max_age", "-1") }), c.ID, secret, 400, "invalid_request"},
	} {
		status, out := tokenCall(t, parURL, tc.form, tc.user, tc.pass)
		if status != tc.status || out["error"] != tc.want || out["error_description"] == "" {
			t.Errorf("%s: PAR answered %d %v, want %d %s", tc.name, status, out, tc.status, tc.want)
		}
	}
}
