package device_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/device"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// backends run a test on SQLite and, when GATEHOUSE_TEST_POSTGRES_URL is set, on
// PostgreSQL: the races and the text rules differ between them.
var backends = []struct {
	name string
	opts func(t *testing.T) []apptest.Option
}{
	{"sqlite", func(*testing.T) []apptest.Option { return nil }},
	{"postgres", func(t *testing.T) []apptest.Option {
		return []apptest.Option{apptest.WithDatabase(apptest.FreshPostgres(t))}
	}},
}

// TestConcurrentGuessesStayWithinTheLimit: a guesser who fires many wrong codes at
// once from one browser session gets no more of them checked than one who sends them
// one by one. Checking the limit and counting the guess are one step, so a burst
// cannot slip between them.
func TestConcurrentGuessesStayWithinTheLimit(t *testing.T) {
	for _, db := range backends {
		t.Run(db.name, func(t *testing.T) {
			e := newEnv(t, envOpts{policy: func(p *tenant.Policy) { p.Throttles.IPAttemptsPerHour = 10_000 },
				server: append([]apptest.Option{apptest.WithConfig(func(c *config.Config) { c.RateLimit = 0 })}, db.opts(t)...)})
			mallory := e.s.NewPerson(tenantID)
			mallory.SignUp(t, "Mallory")
			const burst = 40
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				checked int
			)
			for i := range burst {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Distinct well-formed codes none of which was issued.
					code := strings.Repeat(string(device.Alphabet[i%20]), 4) + "-" + strings.Repeat(string(device.Alphabet[(i/20)+1]), 4)
					resp, err := mallory.Client.PostForm(e.issuer()+"/device", url.Values{"user_code": {code}})
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusBadRequest {
						mu.Lock()
						checked++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			limit := tenant.DefaultPolicy().Throttles.DeviceCodeEntries
			failures := 0
			for _, ev := range e.events(t, audit.DeviceCodeEntered) {
				if ev.Result == audit.Failure {
					failures++
				}
			}
			// The guess that uses up the limit is checked and answered with the lock.
			if checked > limit-1 || failures > limit {
				t.Errorf("a burst of %d wrong codes got %d answered \"not right\" and %d checked (audited); the limit is %d",
					burst, checked, failures, limit)
			}
		})
	}
}

// TestRevokeStopsApprovedCodesNotYetRedeemed: `grant revoke --flow device_code` is
// what an operator runs when an approval was phished. A device that was approved but
// has not polled since must not get tokens after the revoke.
func TestRevokeStopsApprovedCodesNotYetRedeemed(t *testing.T) {
	for _, db := range backends {
		t.Run(db.name, func(t *testing.T) {
			e := newEnv(t, envOpts{server: db.opts(t)})
			tv := &http.Client{}
			da := e.startDevice(t, tv, "openid")
			ana := e.s.NewPerson(tenantID)
			ana.SignUp(t, "Ana Lima")
			if got := decide(t, ana, da.UserCode, "approve"); got.status != http.StatusOK {
				t.Fatalf("approve: %d %s", got.status, got.body)
			}
			n, err := device.RevokeGrants(t.Context(), e.s.App.Store, e.clock.Now(), tenantID, e.userOf(t, ana), "phishing report", audit.System())
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("revoke counted %d, want 1 (the approval not yet redeemed)", n)
			}
			if status, code, _ := e.poll(t, tv, da.DeviceCode); status != http.StatusBadRequest || code != "access_denied" {
				t.Errorf("poll after the revoke: %d %q, want 400 access_denied", status, code)
			}
		})
	}
}

// TestHostileUserAgentOnDeviceRequest: the device names itself with any bytes it
// likes. Bytes that are not UTF-8, or a long name cut in the middle of a character,
// must not make PostgreSQL refuse the row (a 500), and the approval page shows text.
func TestHostileUserAgentOnDeviceRequest(t *testing.T) {
	e := newEnv(t, envOpts{server: []apptest.Option{apptest.WithDatabase(apptest.FreshPostgres(t))}})
	ana := e.s.NewPerson(tenantID)
	ana.SignUp(t, "Ana Lima")
	for _, ua := range []string{"TV\xff\xfe/1.0", strings.Repeat("a", 511) + "é and more"} {
		req, _ := http.NewRequest(http.MethodPost, e.issuer()+"/oauth2/device_authorization",
			strings.NewReader(url.Values{"client_id": {e.client.ID}, "scope": {"openid"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", ua)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			UserCode string `json:"user_code"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("device authorization answer: %d, not JSON: %v", resp.StatusCode, err)
		}
		if resp.StatusCode != http.StatusOK || body.UserCode == "" {
			t.Fatalf("device authorization with user agent %q: %d", ua[:min(len(ua), 20)], resp.StatusCode)
		}
		if got := enter(t, ana, body.UserCode); got.status != http.StatusOK || !utf8.ValidString(got.body) {
			t.Errorf("approval page for user agent %q: %d", ua[:min(len(ua), 20)], got.status)
		}
	}
}

// TestCodeLinksFillOnlyForClientsAllowedThem: verification_uri_complete is off for a
// client unless it is allowed it, because a link with the code in it is what a
// phishing message wants to send. Anyone can write such a link to the verification
// page by hand, so the page fills in the code only for a client allowed the link, and
// a code in a link is an entry like a typed one: counted when wrong.
func TestCodeLinksFillOnlyForClientsAllowedThem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed bool
	}{{"client not allowed the link", false}, {"client allowed the link", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{uriComplet: tc.allowed})
			da := e.startDevice(t, &http.Client{}, "openid")
			if tc.allowed != (da.VerificationURIComplete != "") {
				t.Fatalf("verification_uri_complete = %q", da.VerificationURIComplete)
			}
			ana := e.s.NewPerson(tenantID)
			ana.SignUp(t, "Ana Lima")
			crafted := "/t/" + tenantID + "/device?user_code=" + url.QueryEscape(strings.ToLower(da.UserCode))
			pg := getPage(t, ana, crafted)
			if filled := pg.has(`value="` + da.UserCode + `"`); pg.status != http.StatusOK || filled != tc.allowed {
				t.Errorf("link with the code: %d, filled in = %v, want %v", pg.status, filled, tc.allowed)
			}
			before := len(e.events(t, audit.DeviceCodeEntered))
			if pg := getPage(t, ana, "/t/"+tenantID+"/device?user_code=BBBB-BBBB"); pg.status != http.StatusBadRequest ||
				!pg.has("That code is not right") {
				t.Errorf("link with a wrong code: %d", pg.status)
			}
			if got := len(e.events(t, audit.DeviceCodeEntered)) - before; got != 1 {
				t.Errorf("a wrong code in a link made %d entry events, want 1 (counted like a typed one)", got)
			}
		})
	}
}

// TestSigningOutEverywhereElseEndsDeviceGrants: a person who approved a device from
// this browser and then suspects a phish presses "sign out everywhere else". The
// device is somewhere else: its tokens must stop working, though they were approved
// from the session the person keeps.
func TestSigningOutEverywhereElseEndsDeviceGrants(t *testing.T) {
	e := newEnv(t, envOpts{})
	tv := &http.Client{}
	da := e.startDevice(t, tv, "openid", "offline_access")
	ana := e.s.NewPerson(tenantID)
	ana.SignUp(t, "Ana Lima")
	if got := decide(t, ana, da.UserCode, "approve"); got.status != http.StatusOK {
		t.Fatalf("approve: %d %s", got.status, got.body)
	}
	status, _, tok := e.poll(t, tv, da.DeviceCode)
	refresh, _ := tok["refresh_token"].(string)
	if status != http.StatusOK || refresh == "" {
		t.Fatalf("device token: %d %v", status, tok)
	}
	if id, _ := tok["id_token"].(string); id != "" && claims(t, id)["sid"] != nil {
		t.Errorf("the device's ID token names the approver's browser session: %v", claims(t, id)["sid"])
	}
	if r := ana.Post(t, "/t/"+tenantID+"/account/sessions/revoke-others"); r.Status >= 400 {
		t.Fatalf("sign out everywhere else: %d %s", r.Status, r.Body)
	}
	resp, err := tv.PostForm(e.issuer()+"/oauth2/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {refresh}, "client_id": {e.client.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh after signing out everywhere else: %d %v, want 400 invalid_grant", resp.StatusCode, body)
	}
}
