package oauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/client"
)

// TestPromptLoginForcesAFreshSignIn checks that prompt=login and max_age=0 do not
// accept the existing session, and that signing in again satisfies them.
func TestPromptLoginForcesAFreshSignIn(t *testing.T) {
	e := newEnv(t)
	c, secret := e.mustClient(t, client.Settings{Name: "App", RedirectURIs: []string{redirectURI}, FirstParty: true})
	conf := e.config(c, secret, redirectURI, "openid")
	p := e.signedUp(t)
	for _, opt := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0")} {
		v := oauth2.GenerateVerifier()
		start := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v), opt)
		resp, page := authorizeOnce(t, p, start)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="reauth-form"`) {
			t.Fatalf("existing session accepted: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		before := time.Now().Add(-time.Second)
		cb := browse(t, p, start, redirectURI)
		tok, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := e.provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(e.ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		var cl struct {
			AuthTime int64 `json:"auth_time"`
		}
		idt.Claims(&cl)
		if time.Unix(cl.AuthTime, 0).Before(before.Truncate(time.Second)) {
			t.Errorf("auth_time %d is older than the forced sign-in", cl.AuthTime)
		}
	}
}

func TestUserinfoRefusesBadTokensWithAChallenge(t *testing.T) {
	e := newEnv(t)
	svc, secret := e.mustClient(t, client.Settings{Name: "Svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"reports:read"}})
	_, out := tokenCall(t, e.issuer+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, svc.ID, secret)
	for name, tc := range map[string]struct {
		auth   string
		status int
	}{
		"no token":               {"", http.StatusUnauthorized},
		"garbage":                {"Bearer abc.def.ghi", http.StatusUnauthorized},
		"machine token, no user": {"Bearer " + out["access_token"].(string), http.StatusForbidden},
	} {
		req, _ := http.NewRequest("GET", e.issuer+"/oauth2/userinfo", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") || body["error"] == nil {
			t.Errorf("%s: %d %q %v", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	}
}

// TestPrivateKeyJWT authenticates a client by a signed assertion and refuses the
// same assertion a second time.
func TestPrivateKeyJWT(t *testing.T) {
	e := newEnv(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	c, _ := e.mustClient(t, client.Settings{Name: "Batch", AuthMethod: client.AuthPrivateKeyJWT, JWKS: set,
		GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"reports:read"}})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tokenURL := e.issuer + "/oauth2/token"
	assertion := func(aud string, exp time.Duration) string {
		now := time.Now()
		s, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: c.ID, Subject: c.ID, Audience: jwt.Audience{aud},
			Expiry: jwt.NewNumericDate(now.Add(exp)), IssuedAt: jwt.NewNumericDate(now), ID: rand.Text()}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	form := func(a string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_assertion": {a},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
	}
	a := assertion(tokenURL, time.Minute)
	if status, out := tokenCall(t, tokenURL, form(a), "", ""); status != 200 || out["access_token"] == nil {
		t.Fatalf("private_key_jwt answered %d %v", status, out)
	}
	for name, f := range map[string]url.Values{
		"replayed assertion": form(a),
		"wrong audience":     form(assertion("https://elsewhere.example/token", time.Minute)),
		"expired":            form(assertion(tokenURL, -time.Minute)),
		"too long-lived":     form(assertion(tokenURL, 48*time.Hour)),
		"garbage":            form("not-a-jwt"),
	} {
		if status, out := tokenCall(t, tokenURL, f, "", ""); status != 401 || out["error"] != "invalid_client" {
			t.Errorf("%s: answered %d %v", name, status, out)
		}
	}
}
