package device_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/device"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// TestCLIAppSignsInThroughDeviceGrant is the "done": a CLI app using
// golang.org/x/oauth2 signs in through the device grant, approved by a person with a
// passkey, and gets tokens marked auth_flow=device_code.
func TestCLIAppSignsInThroughDeviceGrant(t *testing.T) {
	e := newEnv(t, envOpts{})
	tv := &http.Client{Timeout: 30 * time.Second}
	ctx := deviceCtx(t.Context(), tv)
	conf := e.oauthConfig("openid", "profile", "offline_access")
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if !userCodeShape.MatchString(da.UserCode) || len(da.DeviceCode) < 22 || da.VerificationURI != e.issuer()+"/device" ||
		da.VerificationURIComplete != "" || da.Interval != 1 {
		t.Fatalf("device authorization response: %+v", da)
	}
	if left := time.Until(da.Expiry); left < 9*time.Minute || left > 10*time.Minute+time.Second {
		t.Errorf("code lifetime %v, want the policy's 10 minutes", left)
	}

	type result struct {
		tok *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := conf.DeviceAccessToken(ctx, da)
		done <- result{tok, err}
	}()

	ana := e.s.NewPerson(tenantID)
	ana.SignUp(t, "Ana Lima")
	// Lower case and without the dash: people type it however they like.
	shown := enter(t, ana, strings.ToLower(strings.ReplaceAll(da.UserCode, "-", "")))
	for _, want := range []string{"Living Room TV", "See your name", "Only continue if you started this on a device that is in front of you.",
		"If someone sent you this code, stop — they are trying to get into your account.", `id="requester-ip">127.0.0.1`,
		`id="approver-network">127.0.0.0/24`, "less than a minute ago", `id="requester-agent">A Go program`, da.UserCode} {
		if !shown.has(want) {
			t.Errorf("approval page lacks %q", want)
		}
	}
	// Deny comes first and has the focus, so Enter denies.
	if i, j := strings.Index(shown.body, `id="device-deny"`), strings.Index(shown.body, `id="device-approve"`); i < 0 || j < 0 || i > j ||
		!strings.Contains(shown.body[i:j], "autofocus") {
		t.Errorf("Deny must be the first, focused button:\n%s", shown.body)
	}
	if got := decide(t, ana, da.UserCode, "approve"); got.status != http.StatusOK || !got.has("Device approved") {
		t.Fatalf("approve: %d\n%s", got.status, got.body)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the device never got its tokens")
	}
	if r.err != nil {
		t.Fatalf("DeviceAccessToken: %v", r.err)
	}
	if r.tok.RefreshToken == "" || r.tok.Extra("id_token") == nil {
		t.Errorf("token response lacks a refresh or ID token: %+v", r.tok)
	}
	at := claims(t, r.tok.AccessToken)
	id := claims(t, r.tok.Extra("id_token").(string))
	if at["auth_flow"] != "device_code" || id["auth_flow"] != "device_code" {
		t.Errorf("tokens must say auth_flow=device_code: access %v, id %v", at, id)
	}
	// A passkey approved it, but the device may be a phisher's: never acr phr.
	if at["acr"] != session.ACRMultiFactor || id["acr"] != session.ACRMultiFactor {
		t.Errorf("device tokens claim acr %v / %v, want %s", at["acr"], id["acr"], session.ACRMultiFactor)
	}

	// The family is a device-flow grant with the policy's shorter life.
	var grants []store.Grant
	if err := e.s.App.Store.View(t.Context(), func(tx store.Tx) error {
		g, err := tx.GetGrant(t.Context(), tenantID, strings.SplitN(at["jti"].(string), ".", 2)[0])
		if err == nil {
			grants = append(grants, *g)
		}
		return err
	}); err != nil {
		t.Fatalf("grant of the access token: %v", err)
	}
	if g := grants[0]; g.AuthFlow != device.Flow || g.ExpiresAt.Sub(g.CreatedAt) != 24*time.Hour {
		t.Errorf("grant: flow %q, life %v; want device_code and 24h", g.AuthFlow, g.ExpiresAt.Sub(g.CreatedAt))
	}

	// Introspection tells a resource server the token came from the device flow.
	rs, err := e.s.App.Clients.Create(t.Context(), tenantID, client.Settings{Name: "Reports API",
		GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"reports:read"}}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.issuer()+"/oauth2/introspect",
		strings.NewReader(url.Values{"token": {r.tok.AccessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(rs.Client.ID, rs.Secret)
	resp, err := tv.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var intro map[string]any
	json.NewDecoder(resp.Body).Decode(&intro)
	resp.Body.Close()
	if intro["active"] != true || intro["auth_flow"] != "device_code" {
		t.Errorf("introspection: %v, want active with auth_flow device_code", intro)
	}

	// The code is spent: polling again is invalid_grant, and a refresh still works.
	if _, code, _ := e.poll(t, tv, da.DeviceCode); code != "invalid_grant" {
		t.Errorf("second redemption: %q, want invalid_grant", code)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: r.tok.RefreshToken}).Token(); err != nil {
		t.Errorf("refresh a device-flow token: %v", err)
	}
	for _, typ := range []string{audit.DeviceRequested, audit.DeviceCodeEntered, audit.DeviceApproved, audit.DeviceTokenIssued} {
		if len(e.events(t, typ)) != 1 {
			t.Errorf("want one %s audit event, got %d", typ, len(e.events(t, typ)))
		}
	}
	// Discovery advertises the endpoint and grant while the flow is on.
	disc := getPage(t, ana, "/t/"+tenantID+"/.well-known/openid-configuration")
	if !disc.has(`"device_authorization_endpoint":"`+e.issuer()+`/oauth2/device_authorization"`) || !disc.has(`urn:ietf:params:oauth:grant-type:device_code`) {
		t.Errorf("discovery does not advertise the device grant: %s", disc.body)
	}
}

// TestDefaultTenantRefusesDeviceGrant: off by default at both levels, the same app is
// refused with unauthorized_client, and discovery does not mention the grant.
func TestDefaultTenantRefusesDeviceGrant(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    envOpts
	}{
		{"tenant flow off", envOpts{flowOff: true}},
		{"client not allowed", envOpts{grantOff: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.o)
			_, err := e.oauthConfig("openid").DeviceAuth(deviceCtx(t.Context(), http.DefaultClient))
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "unauthorized_client" {
				t.Fatalf("DeviceAuth on a default tenant: %v, want unauthorized_client", err)
			}
			if n := len(e.events(t, audit.DeviceRequested)); n != 0 {
				t.Errorf("%d device requests recorded, want none", n)
			}
			if tc.o.flowOff {
				p := e.s.NewPerson(tenantID)
				if disc := getPage(t, p, "/t/"+tenantID+"/.well-known/openid-configuration"); disc.has("device") {
					t.Errorf("discovery mentions the device grant while it is off: %s", disc.body)
				}
				p.SignUp(t, "Ana Lima")
				if pg := getPage(t, p, "/t/"+tenantID+"/device"); pg.status != http.StatusNotFound || !pg.has("Device sign-in is off") {
					t.Errorf("verification page while off: %d %s", pg.status, pg.body)
				}
			}
		})
	}
}

// TestPollingFollowsRFC8628: pending, slow_down (+5 s each time), denial, expiry.
func TestPollingFollowsRFC8628(t *testing.T) {
	e := newEnv(t, envOpts{uriComplet: true})
	tv := &http.Client{Timeout: 10 * time.Second}

	t.Run("pending and slow_down", func(t *testing.T) {
		da := e.startDevice(t, tv, "openid")
		if da.VerificationURIComplete != e.issuer()+"/device?user_code="+da.UserCode {
			t.Errorf("verification_uri_complete = %q for a client allowed it", da.VerificationURIComplete)
		}
		if status, code, _ := e.poll(t, tv, da.DeviceCode); status != http.StatusBadRequest || code != "authorization_pending" {
			t.Fatalf("first poll: %d %q, want 400 authorization_pending", status, code)
		}
		if _, code, _ := e.poll(t, tv, da.DeviceCode); code != "slow_down" {
			t.Fatalf("immediate second poll: %q, want slow_down", code)
		}
		// The interval is now 1 s + 5 s: polling after 2 s is still too fast...
		e.clock.Advance(2 * time.Second)
		if _, code, _ := e.poll(t, tv, da.DeviceCode); code != "slow_down" {
			t.Fatalf("poll 2 s after slow_down: %q, want slow_down again", code)
		}
		// ...and after another slow_down it is 11 s.
		e.clock.Advance(11 * time.Second)
		if _, code, _ := e.poll(t, tv, da.DeviceCode); code != "authorization_pending" {
			t.Fatalf("poll after waiting the grown interval: %q, want authorization_pending", code)
		}
	})

	t.Run("denial ends the request", func(t *testing.T) {
		da := e.startDevice(t, tv, "openid")
		ana := e.s.NewPerson(tenantID)
		ana.SignUp(t, "Ana Lima")
		if pg := getPage(t, ana, "/t/"+tenantID+"/device?user_code="+strings.ToLower(da.UserCode)); !pg.has(`value="` + da.UserCode + `"`) {
			t.Errorf("the code of verification_uri_complete is not filled in: %s", pg.body)
		}
		if got := decide(t, ana, da.UserCode, "deny"); got.status != http.StatusOK || !got.has("Request denied") {
			t.Fatalf("deny: %d %s", got.status, got.body)
		}
		if _, code, _ := e.poll(t, tv, da.DeviceCode); code != "access_denied" {
			t.Errorf("poll after denial: %q, want access_denied", code)
		}
		if got := decide(t, ana, da.UserCode, "approve"); got.status != http.StatusGone {
			t.Errorf("approve after denial: %d, want 410", got.status)
		}
		if _, code, _ := e.poll(t, tv, da.DeviceCode); code != "access_denied" {
			t.Errorf("poll after a late approval: %q, want access_denied", code)
		}
		if len(e.events(t, audit.DeviceDenied)) != 1 {
			t.Errorf("want one %s event", audit.DeviceDenied)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		da := e.startDevice(t, tv, "openid")
		ana := e.s.NewPerson(tenantID)
		ana.SignUp(t, "Ana Lima")
		e.clock.Advance(10*time.Minute + time.Second)
		if got := enter(t, ana, da.UserCode); got.status != http.StatusGone {
			t.Errorf("entering an expired code: %d, want 410", got.status)
		}
		before := len(e.events(t, audit.DeviceExpired))
		for range 2 {
			if _, code, _ := e.poll(t, tv, da.DeviceCode); code != "expired_token" {
				t.Errorf("poll after expiry: %q, want expired_token", code)
			}
		}
		if got := len(e.events(t, audit.DeviceExpired)) - before; got != 1 {
			t.Errorf("%d expiry events, want exactly one", got)
		}
	})

	t.Run("unknown and foreign codes", func(t *testing.T) {
		if _, code, _ := e.poll(t, tv, "not-a-device-code"); code != "invalid_grant" {
			t.Errorf("unknown code: %q, want invalid_grant", code)
		}
		if _, code, _ := e.poll(t, tv, strings.Repeat("x", 5000)); code != "invalid_grant" && code != "invalid_request" {
			t.Errorf("huge code: %q, want a 4xx error", code)
		}
	})
}
