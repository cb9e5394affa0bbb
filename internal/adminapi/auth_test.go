package adminapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

func tenantIDs(t *testing.T, r *apptest.Response) []string {
	t.Helper()
	var out struct {
		Tenants []struct {
			ID     string `json:"id"`
			Issuer string `json:"issuer"`
		} `json:"tenants"`
	}
	r.JSON(t, &out)
	var ids []string
	for _, tn := range out.Tenants {
		ids = append(ids, tn.ID)
	}
	return ids
}

func TestTenantTokenAdministersOnlyItsTenant(t *testing.T) {
	s := start(t)
	_, sysTok := adminToken(t, s, tenant.System)
	_, defTok := adminToken(t, s, tenant.Default)
	sys, def := withToken(s, sysTok), withToken(s, defTok)

	if got := tenantIDs(t, sys.do(t, "GET", "/tenants", nil)); strings.Join(got, ",") != "default,system" && strings.Join(got, ",") != "system,default" {
		t.Errorf("system token lists %v, want both tenants", got)
	}
	if got := tenantIDs(t, def.do(t, "GET", "/tenants", nil)); strings.Join(got, ",") != "default" {
		t.Errorf("default token lists %v, want only default", got)
	}
	r := def.do(t, "GET", "/tenants/default", nil)
	expect(t, "own tenant", r, http.StatusOK, `"id":"default"`, `"issuer":"`+s.URL+`/t/default"`, `"policy":{"version":1`)
	expect(t, "own clients", def.do(t, "GET", "/tenants/default/clients", nil), http.StatusOK)

	// The default tenant's admin cannot see or touch the system tenant, nor learn
	// which other tenants exist.
	for _, tc := range []struct{ method, path string }{
		{"GET", "/tenants/system"},
		{"GET", "/tenants/system/clients"},
		{"POST", "/tenants/system/clients"},
		{"PATCH", "/tenants/system/policy"},
		{"GET", "/tenants/no-such-tenant"},
	} {
		var body any
		if tc.method != "GET" {
			body = map[string]any{"client_name": "backdoor"}
		}
		desc := expectError(t, tc.method+" "+tc.path, def.do(t, tc.method, tc.path, body), http.StatusForbidden, "access_denied")
		if !strings.Contains(desc, "tenant default only") {
			t.Errorf("%s %s: %q", tc.method, tc.path, desc)
		}
	}
	if n := len(mustClients(t, s, tenant.System)); n != 1 {
		t.Errorf("system tenant has %d clients, want only its admin client", n)
	}
	expectError(t, "system token, unknown tenant", sys.do(t, "GET", "/tenants/no-such-tenant", nil), http.StatusNotFound, "not_found")
}

func mustClients(t *testing.T, s *apptest.Server, tenantID string) []string {
	t.Helper()
	cs, err := s.App.Clients.List(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestTokenRefusals(t *testing.T) {
	clock := &apptest.Clock{}
	s := start(t, apptest.WithClock(clock))

	// A client without the admin scope gets a valid token, but not the API.
	id, sec := adminClient(t, s, tenant.System, "reports.read")
	noScope := token(t, s, tenant.System, id, sec, "reports.read")
	r := withToken(s, noScope).do(t, "GET", "/tenants", nil)
	expectError(t, "no scope", r, http.StatusForbidden, "insufficient_scope")
	if ch := r.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, client.AdminScope) {
		t.Errorf("no scope: WWW-Authenticate %q", ch)
	}

	adminID, tok := adminToken(t, s, tenant.System)
	good := withToken(s, tok)
	expect(t, "admin token", good.do(t, "GET", "/tenants", nil), http.StatusOK)

	// Anything else is a 401 with a Bearer challenge.
	forged := tok[:len(tok)-4] + "AAAA"
	for _, tc := range []struct {
		name, auth string
	}{
		{"garbage", "Bearer not-a-token"},
		{"forged signature", "Bearer " + forged},
		{"basic scheme", "Basic " + tok},
		{"empty bearer", "Bearer "},
		{"DPoP scheme for a bearer token", "DPoP " + tok},
		{"huge", "Bearer " + strings.Repeat("a", 20000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &caller{s: s, http: s.Client, auth: tc.auth}
			r := c.do(t, "GET", "/tenants", nil)
			if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") &&
				!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "DPoP") {
				t.Fatalf("%s: %d, challenge %q: %s", tc.name, r.Status, r.Header.Get("WWW-Authenticate"), r.Body)
			}
			expect(t, tc.name, r, http.StatusUnauthorized)
			if code := r.ErrorCode(); code != "invalid_token" && code != "invalid_dpop_proof" {
				t.Errorf("%s: error %q", tc.name, code)
			}
		})
	}
	r = (&caller{s: s, http: s.Client}).do(t, "GET", "/tenants", nil)
	expectError(t, "no credentials", r, http.StatusUnauthorized, "invalid_token")
	if ch := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") {
		t.Errorf("no credentials: WWW-Authenticate %q", ch)
	}

	// Removing the admin scope from the client, or deleting it, ends its tokens at once.
	ctx := context.Background()
	id2, tok2 := adminToken(t, s, tenant.System)
	scopes := []string{"reports.read"}
	if _, err := s.App.Clients.Update(ctx, tenant.System, id2, client.Changes{Scopes: &scopes}, audit.CLI("test")); err != nil {
		t.Fatal(err)
	}
	expectError(t, "scope removed", withToken(s, tok2).do(t, "GET", "/tenants", nil), http.StatusForbidden, "insufficient_scope")
	if err := s.App.Clients.Delete(ctx, tenant.System, adminID, audit.CLI("test")); err != nil {
		t.Fatal(err)
	}
	expectError(t, "client deleted", good.do(t, "GET", "/tenants", nil), http.StatusUnauthorized, "invalid_token")

	// Expired tokens are refused.
	_, tok3 := adminToken(t, s, tenant.System)
	clock.Advance(11 * time.Minute)
	expectError(t, "expired", withToken(s, tok3).do(t, "GET", "/tenants", nil), http.StatusUnauthorized, "invalid_token")
}

func TestDPoPBoundToken(t *testing.T) {
	s := start(t)
	id, sec := adminClient(t, s, tenant.System, client.AdminScope)
	k := newDPoPKey(t)
	tok := dpopToken(t, s, tenant.System, id, sec, k)
	target := s.URL + api + "/tenants"

	c := &caller{s: s, http: s.Client, auth: "DPoP " + tok}
	r := c.do(t, "GET", "/tenants", nil, "DPoP", k.proof(t, "GET", target, tok))
	expect(t, "DPoP with proof", r, http.StatusOK)
	if n := r.Header.Get("DPoP-Nonce"); n != "" {
		t.Errorf("without --dpop-nonce a call carries DPoP-Nonce %q", n)
	}

	for _, tc := range []struct {
		name, auth, proof string
	}{
		{"as a bearer token", "Bearer " + tok, ""},
		{"without a proof", "DPoP " + tok, ""},
		{"proof for another URL", "DPoP " + tok, k.proof(t, "GET", s.URL+api+"/tenants/default", tok)},
		{"proof for another method", "DPoP " + tok, k.proof(t, "POST", target, tok)},
		{"proof without ath", "DPoP " + tok, k.proof(t, "GET", target, "")},
		{"proof by another key", "DPoP " + tok, newDPoPKey(t).proof(t, "GET", target, tok)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &caller{s: s, http: s.Client, auth: tc.auth}
			var hdr []string
			if tc.proof != "" {
				hdr = []string{"DPoP", tc.proof}
			}
			r := c.do(t, "GET", "/tenants", nil, hdr...)
			expect(t, tc.name, r, http.StatusUnauthorized)
		})
	}
	// A proof works once.
	p := k.proof(t, "GET", target, tok)
	expect(t, "first use", c.do(t, "GET", "/tenants", nil, "DPoP", p), http.StatusOK)
	expectError(t, "replayed proof", c.do(t, "GET", "/tenants", nil, "DPoP", p), http.StatusUnauthorized, "invalid_dpop_proof")
}

func TestOperatorSession(t *testing.T) {
	s := start(t)
	op := operator(t, s)
	c := withSession(op)

	if got := tenantIDs(t, c.do(t, "GET", "/tenants", nil)); len(got) != 2 {
		t.Errorf("operator lists %v, want both tenants", got)
	}
	r := c.do(t, "POST", "/tenants/default/clients", map[string]any{"client_name": "Made by Olive", "grant_types": []string{"client_credentials"}})
	expect(t, "operator creates a client", r, http.StatusCreated)
	var v client.View
	r.JSON(t, &v)
	ops, err := s.App.Users.List(context.Background(), tenant.System, store.UserQuery{Role: user.RoleOperator})
	if err != nil || len(ops) != 1 {
		t.Fatalf("operators: %v %v", ops, err)
	}
	evs := events(t, s, tenant.Default, "client.created")
	if len(evs) != 1 || evs[0].ActorType != "user" || evs[0].ActorID != ops[0].ID || evs[0].SessionID == "" || evs[0].IP == "" {
		t.Errorf("client.created by the operator = %+v", evs)
	}

	// A change with the session cookie from another site is refused.
	r = c.do(t, "DELETE", "/tenants/default/clients/"+v.ClientID, nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	expectError(t, "cross-site delete", r, http.StatusForbidden, "access_denied")
	r = c.do(t, "PATCH", "/tenants/default/policy", map[string]any{"flows": map[string]any{"device_code": true}},
		"Origin", "https://evil.example")
	expectError(t, "cross-origin policy change", r, http.StatusForbidden, "access_denied")
	if p, _ := s.App.Tenants.Policy(context.Background(), tenant.Default); p.Flows.DeviceCode || p.Version != 1 {
		t.Errorf("policy changed by a cross-origin request: %+v", p.Flows)
	}
	expect(t, "the client is still there", c.do(t, "GET", "/tenants/default/clients/"+v.ClientID, nil), http.StatusOK)
	// The same change from our own origin goes through.
	r = c.do(t, "DELETE", "/tenants/default/clients/"+v.ClientID, nil, "Origin", s.URL, "Sec-Fetch-Site", "same-origin")
	expect(t, "same-origin delete", r, http.StatusOK)

	// An operator on a recovery hold cannot use the API, and is told until when.
	u := &ops[0]
	u.HoldUntil = time.Now().Add(20 * time.Hour).UTC().Truncate(time.Second)
	updateUser(t, s, u)
	desc := expectError(t, "on hold", c.do(t, "GET", "/tenants", nil), http.StatusForbidden, "access_denied")
	if !strings.Contains(desc, "recovery hold until "+u.HoldUntil.Format(time.RFC3339)) {
		t.Errorf("on hold: %q", desc)
	}
	// A session signed in with a passkey added during the hold is told until when too.
	provisional := sessionCaller(t, s, u, session.New{AMR: []string{session.AMRSoftwareKey}, ACR: session.ACRPhishingResistant,
		Flow: session.FlowProvisional})
	desc = expectError(t, "provisional, on hold", provisional.do(t, "GET", "/tenants", nil), http.StatusForbidden, "access_denied")
	if !strings.Contains(desc, "recovery hold until "+u.HoldUntil.Format(time.RFC3339)) {
		t.Errorf("provisional, on hold: %q", desc)
	}
	u.HoldUntil = time.Time{}
	updateUser(t, s, u)
	expect(t, "hold over", c.do(t, "GET", "/tenants", nil), http.StatusOK)
}

func TestTenantSessions(t *testing.T) {
	s := start(t)

	// A default-tenant admin administers the default tenant only.
	admin, _ := member(t, s, tenant.Default, user.RoleAdmin)
	c := withSession(admin)
	if got := tenantIDs(t, c.do(t, "GET", "/tenants", nil)); strings.Join(got, ",") != "default" {
		t.Errorf("default admin lists %v", got)
	}
	expect(t, "default admin, own clients", c.do(t, "GET", "/tenants/default/clients", nil), http.StatusOK)
	expectError(t, "default admin, system tenant", c.do(t, "GET", "/tenants/system/clients", nil), http.StatusForbidden, "access_denied")

	// Someone without a role is refused, whatever their session.
	plain, _ := member(t, s, tenant.Default)
	desc := expectError(t, "no role", withSession(plain).do(t, "GET", "/tenants/default", nil), http.StatusForbidden, "access_denied")
	if !strings.Contains(desc, "no operator or admin role") {
		t.Errorf("no role: %q", desc)
	}

	// A signed-out browser, or a bogus cookie, is not authenticated.
	expectError(t, "no session", withSession(s.NewPerson(tenant.Default)).do(t, "GET", "/tenants", nil), http.StatusUnauthorized, "invalid_token")
	bogus := &caller{s: s, http: s.Client, headers: map[string]string{"Cookie": "gh_session=" + strings.Repeat("x", 43)}}
	expectError(t, "bogus cookie", bogus.do(t, "GET", "/tenants", nil), http.StatusUnauthorized, "invalid_token")

	// A session signed in some other way than with a passkey does not qualify, nor
	// does one signed in with a passkey enrolled during a recovery hold.
	_, u2 := member(t, s, tenant.Default, user.RoleAdmin)
	for _, tc := range []struct {
		name string
		n    session.New
		want string
	}{
		{"email code", session.New{AMR: []string{session.AMROTP}, ACR: session.ACRSingleFactor}, "signed in with a passkey"},
		{"restricted", session.New{AMR: []string{session.AMRSoftwareKey}, ACR: session.ACRPhishingResistant, Restricted: true}, "signed in with a passkey"},
		// The hold is over (u2 has none): the sentence says why this session is refused
		// and what to do, not that the account is on hold.
		{"provisional after the hold", session.New{AMR: []string{session.AMRSoftwareKey}, ACR: session.ACRPhishingResistant, Flow: session.FlowProvisional},
			"signed in with a passkey added during a recovery hold: sign in again with a passkey (any of the account's passkeys, now that the hold is over)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			desc := expectError(t, tc.name, sessionCaller(t, s, u2, tc.n).do(t, "GET", "/tenants", nil), http.StatusForbidden, "access_denied")
			if !strings.Contains(desc, tc.want) {
				t.Errorf("%s: %q, want it to mention %q", tc.name, desc, tc.want)
			}
			if strings.Contains(desc, "on a recovery hold") {
				t.Errorf("%s: %q says the account is on hold, which it is not", tc.name, desc)
			}
		})
	}
	expect(t, "passkey session", sessionCaller(t, s, u2, session.New{AMR: []string{session.AMRSoftwareKey}, ACR: session.ACRPhishingResistant}).
		do(t, "GET", "/tenants", nil), http.StatusOK)

	// A locked account's session is refused.
	if _, err := s.App.Users.SetStatus(context.Background(), tenant.Default, u2.ID, store.UserLocked, "test", audit.CLI("test")); err != nil {
		t.Fatal(err)
	}
	expect(t, "locked", sessionCaller(t, s, u2, session.New{AMR: []string{session.AMRSoftwareKey}, ACR: session.ACRPhishingResistant}).
		do(t, "GET", "/tenants", nil), http.StatusForbidden)
}

// sessionCaller makes a session for u as described by n and returns a caller that
// presents its cookie.
func sessionCaller(t *testing.T, s *apptest.Server, u *store.User, n session.New) *caller {
	t.Helper()
	n.TenantID, n.UserID = u.TenantID, u.ID
	var cookie string
	err := s.App.Store.InTx(context.Background(), func(tx store.Tx) error {
		var err error
		cookie, _, err = s.App.Sessions.Create(context.Background(), tx, n)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return &caller{s: s, http: s.Client, headers: map[string]string{"Cookie": s.App.Sessions.CookieName + "=" + cookie}}
}

// TestUserTokenRefused: a token an application obtained for a person — even an
// admin, even with the admin scope — does not open the admin API.
func TestUserTokenRefused(t *testing.T) {
	s := start(t)
	const redirect = "https://app.example.com/cb"
	admin, _ := member(t, s, tenant.Default, user.RoleAdmin)
	res, err := s.App.Clients.Create(context.Background(), tenant.Default, client.Settings{
		Name: "Console", RedirectURIs: []string{redirect}, FirstParty: true,
		GrantTypes: []string{client.GrantAuthorizationCode}, Scopes: []string{"openid", client.AdminScope},
	}, audit.CLI("test"))
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: res.Client.ID, ClientSecret: res.Secret, RedirectURL: redirect,
		Scopes:   []string{"openid", client.AdminScope},
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/t/default/oauth2/authorize", TokenURL: s.URL + "/t/default/oauth2/token"}}
	verifier := oauth2.GenerateVerifier()
	next := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))
	var code string
	for range 8 {
		resp, err := admin.Client.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("authorization stopped at %s with %d", next, resp.StatusCode)
		}
		if strings.HasPrefix(loc.String(), redirect) {
			code = loc.Query().Get("code")
			break
		}
		next = loc.String()
	}
	if code == "" {
		t.Fatal("no authorization code")
	}
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if sc, _ := tok.Extra("scope").(string); !strings.Contains(sc, client.AdminScope) {
		t.Fatalf("the user token lacks the admin scope (%q): the test proves nothing", sc)
	}
	desc := expectError(t, "user token", withToken(s, tok.AccessToken).do(t, "GET", "/tenants/default", nil), http.StatusForbidden, "access_denied")
	if !strings.Contains(desc, "acts for a user") {
		t.Errorf("user token: %q", desc)
	}
}

// TestDPoPNonce: with server nonces required, a proof without the current nonce is
// answered 401 use_dpop_nonce with the nonce to use, and the retry goes through.
func TestDPoPNonce(t *testing.T) {
	s := start(t, apptest.WithConfig(func(c *config.Config) { c.DPoPNonce = true }))
	id, sec := adminClient(t, s, tenant.System, client.AdminScope)
	k := newDPoPKey(t)
	tok := dpopToken(t, s, tenant.System, id, sec, k)
	target := s.URL + api + "/tenants"
	c := &caller{s: s, http: s.Client, auth: "DPoP " + tok}

	r := c.do(t, "GET", "/tenants", nil, "DPoP", k.proof(t, "GET", target, tok))
	expectError(t, "no nonce", r, http.StatusUnauthorized, "use_dpop_nonce")
	nonce := r.Header.Get("DPoP-Nonce")
	if nonce == "" || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "DPoP") {
		t.Fatalf("no nonce: DPoP-Nonce %q, WWW-Authenticate %q", nonce, r.Header.Get("WWW-Authenticate"))
	}
	expectError(t, "wrong nonce", c.do(t, "GET", "/tenants", nil, "DPoP", k.proof(t, "GET", target, tok, "bogus")),
		http.StatusUnauthorized, "use_dpop_nonce")
	// A success carries the nonce too, as the token endpoint's does, so the client
	// always holds a fresh one for its next proof.
	ok := c.do(t, "GET", "/tenants", nil, "DPoP", k.proof(t, "GET", target, tok, nonce))
	expect(t, "with the nonce", ok, http.StatusOK)
	if got := ok.Header.Get("DPoP-Nonce"); got != nonce {
		t.Errorf("a successful DPoP call carries DPoP-Nonce %q, want the current nonce %q", got, nonce)
	}
	next := ok.Header.Get("DPoP-Nonce")
	expect(t, "with the nonce from the success", c.do(t, "GET", "/tenants/default", nil, "DPoP",
		k.proof(t, "GET", s.URL+api+"/tenants/default", tok, next)), http.StatusOK)
	// A bearer token has no proof to carry a nonce in, and gets none.
	_, bearer := adminToken(t, s, tenant.System)
	if r := withToken(s, bearer).do(t, "GET", "/tenants", nil); r.Status != http.StatusOK || r.Header.Get("DPoP-Nonce") != "" {
		t.Errorf("bearer call: status %d, DPoP-Nonce %q, want 200 without a nonce", r.Status, r.Header.Get("DPoP-Nonce"))
	}
}

// TestOperatorChangesNeedARecentPasskey: an operator session older than the step-up
// age can still read, but a change is refused with step_up_required until the
// operator confirms with their passkey.
func TestOperatorChangesNeedARecentPasskey(t *testing.T) {
	clock := &apptest.Clock{}
	s := start(t, apptest.WithClock(clock))
	op := operator(t, s)
	c := withSession(op)
	clock.Advance(6 * time.Minute)

	expect(t, "read with an old session", c.do(t, "GET", "/tenants/default/clients", nil), http.StatusOK)
	body := map[string]any{"client_name": "Made later", "grant_types": []string{"client_credentials"}}
	desc := expectError(t, "change with an old session", c.do(t, "POST", "/tenants/default/clients", body), http.StatusForbidden, "step_up_required")
	if !strings.Contains(desc, "passkey") {
		t.Errorf("step_up_required description %q does not say how to confirm", desc)
	}
	if got := events(t, s, tenant.Default, "client.created"); len(got) != 0 {
		t.Fatalf("a refused change was made: %+v", got)
	}
	if r := op.StepUp(t); r.Status != 200 {
		t.Fatalf("step-up: %d %s", r.Status, r.Body)
	}
	expect(t, "change after a step-up", c.do(t, "POST", "/tenants/default/clients", body), http.StatusCreated)
}
