package oauth_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestDiscoveryMatchesGolden(t *testing.T) {
	e := newEnv(t)
	resp := get(t, e.s.NewPerson(tenantID), "/t/"+tenantID+"/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery answered %d", resp.StatusCode)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body(t, resp)), &doc); err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(doc, "", "  ")
	got = []byte(strings.ReplaceAll(string(got), e.s.URL, "{base}") + "\n")
	golden := filepath.Join("testdata", "discovery.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("discovery document changed (run with -update if intended):\n%s", got)
	}
	// Every endpoint advertised answers, none with 404.
	for _, k := range []string{"jwks_uri", "authorization_endpoint", "token_endpoint", "userinfo_endpoint",
		"introspection_endpoint", "revocation_endpoint", "end_session_endpoint"} {
		u := doc[k].(string)
		resp, err := http.PostForm(u, nil)
		if k == "jwks_uri" {
			resp, err = http.Get(u)
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode >= 500 {
			t.Errorf("%s (%s) answered %d", k, u, resp.StatusCode)
		}
	}
	if resp := get(t, e.s.NewPerson(tenantID), "/t/nosuchtenant/.well-known/openid-configuration"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("discovery of an unknown tenant answered %d, want 404", resp.StatusCode)
	}
}

// TestCodeFlowEndToEnd drives a third-party confidential client with x/oauth2 and
// go-oidc through sign-in, consent, code exchange, userinfo, refresh, introspection,
// revocation and logout.
func TestCodeFlowEndToEnd(t *testing.T) {
	e := newEnv(t)
	c, secret := e.mustClient(t, client.Settings{Name: "Photo Prints", RedirectURIs: []string{redirectURI},
		PostLogoutRedirectURIs: []string{logoutRedir}, GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
	conf := e.config(c, secret, redirectURI, oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess)
	ana := e.signedUp(t).OtherBrowser() // signed up elsewhere; must sign in here

	verifier := oauth2.GenerateVerifier()
	start := conf.AuthCodeURL("st-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-456"))
	cb := browse(t, ana, start, redirectURI)
	q := cb.Query()
	if q.Get("state") != "st-123" || q.Get("iss") != e.issuer || q.Get("code") == "" {
		t.Fatalf("callback = %s", cb)
	}
	tok, err := conf.Exchange(e.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := e.provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(e.ctx, rawID)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		Nonce    string   `json:"nonce"`
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
		SID      string   `json:"sid"`
		AuthTime int64    `json:"auth_time"`
		Name     string   `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Nonce != "n-456" || claims.ACR != session.ACRPhishingResistant || len(claims.AMR) == 0 || claims.SID == "" ||
		claims.AuthTime == 0 || claims.Name != "Ana Lima" {
		t.Errorf("ID token claims = %+v", claims)
	}
	checkAccessToken(t, e, tok.AccessToken, c.ID, true)

	// userinfo with the access token
	ui, err := e.provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Subject != idt.Subject {
		t.Errorf("userinfo sub %q, ID token sub %q", ui.Subject, idt.Subject)
	}

	// refresh rotates
	old := *tok
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	tok2, err := conf.TokenSource(e.ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == old.RefreshToken {
		t.Fatalf("refresh token did not rotate")
	}
	introspect := func(token string) map[string]any {
		t.Helper()
		status, out := tokenCall(t, e.issuer+"/oauth2/introspect", url.Values{"token": {token}}, c.ID, secret)
		if status != http.StatusOK {
			t.Fatalf("introspection answered %d: %v", status, out)
		}
		return out
	}
	if out := introspect(tok2.AccessToken); out["active"] != true || out["client_id"] != c.ID || out["sub"] != idt.Subject {
		t.Errorf("introspection of a live token = %v", out)
	}
	if out := introspect(tok2.RefreshToken); out["active"] != true {
		t.Errorf("introspection of the live refresh token = %v", out)
	}
	if out := introspect(old.RefreshToken); out["active"] != false {
		t.Errorf("introspection of a rotated refresh token = %v", out)
	}

	// reusing the rotated refresh token revokes the whole family
	status, out := tokenCall(t, e.issuer+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old.RefreshToken}}, c.ID, secret)
	if status != http.StatusBadRequest || out["error"] != "invalid_grant" || out["error_description"] == "" {
		t.Fatalf("reuse answered %d %v", status, out)
	}
	for name, tk := range map[string]string{"new access token": tok2.AccessToken, "new refresh token": tok2.RefreshToken} {
		if out := introspect(tk); out["active"] != false {
			t.Errorf("%s still active after reuse: %v", name, out)
		}
	}
	status, out = tokenCall(t, e.issuer+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}}, c.ID, secret)
	if status != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Errorf("refresh after family revocation answered %d %v", status, out)
	}
	wantAudit(t, e, "oauth.refresh_reused", "high")
	if _, err := e.provider.UserInfo(e.ctx, oauth2.StaticTokenSource(tok2)); err == nil {
		t.Errorf("userinfo accepted an access token of a revoked family")
	}

	// a second sign-in needs no consent (remembered), then revocation by the client
	verifier = oauth2.GenerateVerifier()
	cb = browse(t, ana, conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)), redirectURI)
	tok3, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	status, out = tokenCall(t, e.issuer+"/oauth2/revoke", url.Values{"token": {tok3.RefreshToken}}, c.ID, secret)
	if status != http.StatusOK {
		t.Fatalf("revocation answered %d %v", status, out)
	}
	if out := introspect(tok3.AccessToken); out["active"] != false {
		t.Errorf("access token active after its refresh token was revoked: %v", out)
	}
	wantAudit(t, e, "oauth.token_revoked", "info")

	// RP-initiated logout with the ID token of this session ends it and returns.
	verifier = oauth2.GenerateVerifier()
	cb = browse(t, ana, conf.AuthCodeURL("s3", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n3")), redirectURI)
	tok4, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	lo := e.issuer + "/oauth2/logout?" + url.Values{"id_token_hint": {tok4.Extra("id_token").(string)},
		"post_logout_redirect_uri": {logoutRedir}, "state": {"bye"}}.Encode()
	resp := get(t, ana, lo)
	body(t, resp)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != logoutRedir+"?state=bye" {
		t.Fatalf("logout answered %d to %q", resp.StatusCode, loc)
	}
	if r := ana.Do(t, "GET", "api/passkey/credentials", nil); r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
		t.Errorf("session still works after logout: %d", r.Status)
	}
	// An unregistered post-logout redirect is a page, not a redirect.
	resp = get(t, ana, e.issuer+"/oauth2/logout?"+url.Values{"id_token_hint": {tok4.Extra("id_token").(string)},
		"post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	body(t, resp)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("bad post_logout_redirect_uri answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	wantAudit(t, e, "oauth.consent_granted", "info")
	wantAudit(t, e, "oauth.logout", "info")
}

// TestConsentIsRememberedAndRevocable checks the apps page: a remembered consent is
// listed, and removing it revokes the app's tokens and brings the consent screen back.
func TestConsentIsRememberedAndRevocable(t *testing.T) {
	e := newEnv(t)
	c, secret := e.mustClient(t, client.Settings{Name: "Photo Prints", RedirectURIs: []string{redirectURI},
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
	conf := e.config(c, secret, redirectURI, oidc.ScopeOpenID, oidc.ScopeOfflineAccess)
	ana := e.signedUp(t)
	v := oauth2.GenerateVerifier()
	cb := browse(t, ana, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), redirectURI)
	tok, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, get(t, ana, "/t/"+tenantID+"/account/apps"))
	if !strings.Contains(page, "Photo Prints") {
		t.Fatalf("apps page does not list the app: %s", page)
	}
	// Remembered: the next authorization goes straight back with a code.
	resp := get(t, ana, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	body(t, resp)
	resume := resp.Header.Get("Location")
	resp = get(t, ana, resume)
	body(t, resp)
	if !strings.HasPrefix(resp.Header.Get("Location"), redirectURI) {
		t.Fatalf("remembered consent was asked again: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = post(t, ana, "/t/"+tenantID+"/account/apps/"+c.ID+"/revoke", nil)
	body(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke answered %d", resp.StatusCode)
	}
	if _, err := conf.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Errorf("refresh token still works after the consent was removed")
	}
	if page := body(t, get(t, ana, "/t/"+tenantID+"/account/apps")); strings.Contains(page, "Photo Prints") {
		t.Errorf("apps page still lists the app")
	}
	resp = get(t, ana, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	body(t, resp)
	if page := body(t, get(t, ana, resp.Header.Get("Location"))); !strings.Contains(page, `id="consent-form"`) {
		t.Errorf("consent screen did not come back after revocation")
	}
	wantAudit(t, e, "oauth.consent_revoked", "info")
}

// checkAccessToken checks the RFC 9068 shape of an access token.
func checkAccessToken(t *testing.T, e *env, raw, clientID string, user bool) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWS")
	}
	var hdr struct {
		Typ, Kid, Alg string
	}
	var cl map[string]any
	decodeSeg(t, parts[0], &hdr)
	decodeSeg(t, parts[1], &cl)
	if hdr.Typ != "at+jwt" || hdr.Kid == "" || hdr.Alg != "ES256" {
		t.Errorf("access token header = %+v", hdr)
	}
	want := []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"}
	if user {
		want = append(want, "auth_time", "acr", "amr")
	}
	for _, k := range want {
		if _, ok := cl[k]; !ok {
			t.Errorf("access token lacks %s: %v", k, cl)
		}
	}
	if cl["client_id"] != clientID || cl["iss"] != e.issuer {
		t.Errorf("access token claims = %v", cl)
	}
}

func wantAudit(t *testing.T, e *env, typ, severity string) {
	t.Helper()
	var evs []store.AuditEvent
	err := e.s.App.Store.View(t.Context(), func(tx store.Tx) error {
		var err error
		evs, err = tx.QueryAudit(t.Context(), store.AuditQuery{TenantID: tenantID, Type: typ})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Severity == severity {
			return
		}
	}
	t.Errorf("no %s audit event of severity %s (found %d of the type)", typ, severity, len(evs))
}
