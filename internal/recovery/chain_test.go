package recovery_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// TestAttackChainIsRefusedOrVisible runs the documented attack (issue 6): the attacker
// recovers the victim's account by email code (as if the victim read it out to a
// caller posing as IT), creates a passkey on their own device, and then tries to strip
// the victim's passkey, add another, change the email, use the admin API and act
// through applications. Each step is refused with a clear message while the hold
// lasts; the victim's sessions and tokens are gone; every verified address hears of
// it; and "This wasn't me" locks the account and removes the attacker's passkey.
//
// The victim is an admin in a tenant whose policy lets admins recover on their own,
// so that the lateral move through the admin API is a real possibility to refuse.
func TestAttackChainIsRefusedOrVisible(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", func(p *tenant.Policy) {
		p.Recovery.PrivilegedSelfService = true
		p.Flows.DeviceCode = true
	})
	const primary, backup = "ana@example.com", "ana.backup@example.com"
	victim := accountHolder(t, s, "Ana Lima", primary, backup)
	victimSession := victim.Session(t)
	ctx := context.Background()
	err := s.App.Store.InTx(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, "default", victimSession.UserID)
		if err != nil {
			return err
		}
		u.Roles = []string{user.RoleAdmin}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		// An application the victim authorized: its refresh tokens must die too.
		now := store.Micro(time.Now())
		return tx.CreateGrant(ctx, &store.Grant{ID: "victim-app-grant", TenantID: "default", ClientID: "mail-app",
			UserID: u.ID, SessionID: victimSession.ID, Scope: "openid offline_access", AuthTime: now,
			ACR: session.ACRPhishingResistant, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	victimKeys := credentials(t, s, "default", victimSession.UserID)
	if len(victimKeys) != 1 {
		t.Fatalf("victim has %d passkeys, want 1", len(victimKeys))
	}
	created, err := s.App.Clients.Create(ctx, "default", client.Settings{Name: "Mail", RedirectURIs: []string{"https://mail.example/cb"},
		GrantTypes: []string{client.GrantAuthorizationCode}}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	app := created.Client
	tv, err := s.App.Clients.Create(ctx, "default", client.Settings{Name: "Living Room TV", Type: store.ClientPublic,
		AuthMethod: client.AuthNone, GrantTypes: []string{client.GrantDeviceCode}, Scopes: []string{"openid"}}, audit.System())
	if err != nil {
		t.Fatal(err)
	}

	// 1. The attacker starts recovery and gets the code (read out by the victim).
	attacker := newDevice(s)
	recoverByEmail(t, attacker, primary)
	restricted := attacker.Session(t)
	if !restricted.Restricted || restricted.Flow != session.FlowRecovery || session.PhishingResistant(restricted) {
		t.Fatalf("recovery session: restricted=%v flow=%s acr=%s", restricted.Restricted, restricted.Flow, restricted.ACR)
	}

	// 2. Before the passkey exists, the session can do nothing else.
	t.Run("restricted session does only one thing", func(t *testing.T) {
		expect(t, "account page", attacker.Get(t, "account"), http.StatusForbidden, "Finish recovering your account first")
		expect(t, "add an email", attacker.Post(t, "account/emails", "email", "evil@example.com"), http.StatusForbidden,
			"Finish recovering your account first")
		if r := attacker.Do(t, "GET", "api/passkey/credentials", nil); r.Status != http.StatusForbidden || r.ErrorCode() != "recovery_session" {
			t.Fatalf("passkey API list: %d %s", r.Status, r.Body)
		}
		if r := attacker.Do(t, "DELETE", "api/passkey/credentials/"+victimKeys[0].ID, nil); r.Status != http.StatusForbidden {
			t.Fatalf("passkey API remove: %d %s", r.Status, r.Body)
		}
		expect(t, "recovery codes", attacker.Get(t, "account/recovery-codes"), http.StatusForbidden, "Finish recovering your account first")
		noCodeFor(t, attacker, app.ID)
		if r := attacker.Do(t, "GET", "/admin/api/v1/tenants", nil); r.Status != http.StatusForbidden && r.Status != http.StatusUnauthorized {
			t.Fatalf("admin API with a recovery session: %d %s", r.Status, r.Body)
		}
	})

	// 3. The attacker enrolls a passkey on their own device: the recovery completes.
	if r := attacker.AddPasskey(t, "Attacker laptop"); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"provisional":true`) {
		t.Fatalf("enroll during recovery: %d %s", r.Status, r.Body)
	}
	expect(t, "done page", attacker.Get(t, "recover/done"), http.StatusOK, "Your account is on hold until")
	after := attacker.Session(t)
	if after.Restricted || after.Flow != session.FlowProvisional || session.PhishingResistant(after) {
		t.Fatalf("session after recovery: restricted=%v flow=%s acr=%s", after.Restricted, after.Flow, after.ACR)
	}

	t.Run("invariant 4: other sessions and tokens revoked, every address told", func(t *testing.T) {
		apptest.ExpectRedirect(t, "victim's old session", victim.Get(t, "account"), "/t/default/signin")
		var g *store.Grant
		s.App.Store.View(ctx, func(tx store.Tx) error {
			var err error
			g, err = tx.GetGrant(ctx, "default", "victim-app-grant")
			return err
		})
		if g == nil || g.RevokedAt.IsZero() {
			t.Fatalf("the victim's application grant survived the recovery: %+v", g)
		}
		for _, addr := range []string{primary, backup} {
			m := mailWith(t, s, addr, "was recovered")
			for _, want := range []string{"Attacker laptop", "When:", "From: 127.0.0.1", "using A browser on Mac", "This wasn't me: "} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("notice to %s lacks %q:\n%s", addr, want, m.Body)
				}
			}
		}
		done := s.Events(t, "default", audit.RecoveryCompleted)
		if len(done) != 1 || done[0].Severity != audit.High || done[0].TargetID != victimSession.UserID {
			t.Fatalf("recovery.completed events: %+v", done)
		}
	})

	// 4. Each next step of the chain is refused during the hold, with a clear message.
	t.Run("hold refuses the rest of the chain", func(t *testing.T) {
		expect(t, "remove the victim's passkey", attacker.Post(t, "account/passkeys/"+victimKeys[0].ID+"/remove"),
			http.StatusForbidden, "Your account is on hold", "cannot remove a passkey")
		if r := attacker.Do(t, "DELETE", "api/passkey/credentials/"+victimKeys[0].ID, nil); r.Status != http.StatusForbidden || r.ErrorCode() != "on_hold" {
			t.Fatalf("remove through the API: %d %s", r.Status, r.Body)
		}
		if r := attacker.AddPasskey(t, "Second attacker key"); r.Status != http.StatusForbidden || r.ErrorCode() != "on_hold" {
			t.Fatalf("add another passkey: %d %s", r.Status, r.Body)
		}
		expect(t, "change the email", attacker.Post(t, "account/emails", "email", "evil@example.com"), http.StatusForbidden, "on hold")
		expect(t, "create recovery codes", attacker.Post(t, "account/recovery-codes"), http.StatusForbidden, "on hold")
		expect(t, "sign out the victim elsewhere", attacker.Post(t, "account/sessions/revoke-others"), http.StatusForbidden, "Your account is on hold")
		// A device code the attacker started (or phished) cannot be approved.
		userCode, deviceCode := startDevice(t, s, tv.Client.ID)
		for _, step := range []string{"before", "after confirming with the provisional passkey"} {
			r := attacker.Post(t, "device/decide", "user_code", userCode, "decision", "approve")
			if r.Status != http.StatusForbidden || strings.Contains(string(r.Body), "Device approved") {
				t.Fatalf("approve a device code %s: %d\n%s", step, r.Status, r.Body)
			}
			if r := attacker.StepUp(t); r.Status != http.StatusOK {
				t.Fatalf("step-up with the provisional passkey: %d %s", r.Status, r.Body)
			}
		}
		if got := pollDevice(t, s, tv.Client.ID, deviceCode); got != "authorization_pending" {
			t.Fatalf("device poll after the refused approvals: %q, want authorization_pending", got)
		}
		r := attacker.Do(t, "GET", "/admin/api/v1/tenants", nil)
		if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "recovery hold") {
			t.Fatalf("admin API during the hold: %d %s", r.Status, r.Body)
		}
		// Signing in again with the new passkey gives the same provisional session.
		again := attacker.OtherBrowser()
		again.SignIn(t)
		if s := again.Session(t); s.Flow != session.FlowProvisional || session.PhishingResistant(s) {
			t.Fatalf("sign-in with the provisional passkey: flow=%s acr=%s", s.Flow, s.ACR)
		}
		if n := len(credentials(t, s, "default", victimSession.UserID)); n != 2 {
			t.Fatalf("account has %d passkeys, want the victim's and the attacker's", n)
		}
	})

	// 5. The victim reads the notice and says "This wasn't me".
	t.Run("this wasn't me", func(t *testing.T) {
		link := notMeURL(t, s, mailWith(t, s, backup, "was recovered"))
		reader := s.NewPerson("default")
		// Opening the link (as a mail scanner would) changes nothing.
		expect(t, "open the link", reader.Get(t, link), http.StatusOK, "This wasn't me: lock my account")
		if u, _ := s.User(t, "default", victimSession.UserID); u.Status != store.UserActive {
			t.Fatalf("opening the link changed the account: %s", u.Status)
		}
		token := mustQuery(t, link, "token")
		expect(t, "confirm", reader.Post(t, "recover/not-me", "token", token), http.StatusOK, "Your account is locked", "removed the passkey")
		if u, _ := s.User(t, "default", victimSession.UserID); u.Status != store.UserLocked {
			t.Fatalf("account status %s, want locked", u.Status)
		}
		left := credentials(t, s, "default", victimSession.UserID)
		if len(left) != 1 || left[0].ID != victimKeys[0].ID {
			t.Fatalf("passkeys after repudiation: %+v, want only the victim's", left)
		}
		apptest.ExpectRedirect(t, "attacker's session", attacker.Get(t, "account"), "/t/default/signin")
		rep := s.Events(t, "default", audit.RecoveryRepudiated)
		if len(rep) != 1 || rep[0].Severity != audit.High {
			t.Fatalf("recovery.repudiated events: %+v", rep)
		}
		expect(t, "use the link twice", reader.Post(t, "recover/not-me", "token", token), http.StatusNotFound, "already been used")
		mailWith(t, s, primary, "locked for your safety")
	})
}

func mustQuery(t *testing.T, link, name string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(name)
}

// noCodeFor starts an authorization request in p's browser and follows it: a recovery
// session must get neither a code nor a consent page.
func noCodeFor(t *testing.T, p *apptest.Person, clientID string) {
	t.Helper()
	q := url.Values{"client_id": {clientID}, "redirect_uri": {"https://mail.example/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s1"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWLGT3W1bqosg"},
		"code_challenge_method": {"S256"}}
	next := "/t/" + p.Tenant + "/oauth2/authorize?" + q.Encode()
	for range 6 {
		r := p.Get(t, next)
		loc := r.Header.Get("Location")
		if strings.HasPrefix(loc, "https://mail.example/") {
			if strings.Contains(loc, "code=") {
				t.Fatalf("a recovery session got an authorization code: %s", loc)
			}
			return
		}
		if r.Status/100 != 3 {
			if strings.Contains(string(r.Body), "consent") && strings.Contains(string(r.Body), "decision") {
				t.Fatalf("a recovery session was asked for consent:\n%s", r.Body)
			}
			expect(t, "authorization with a recovery session", r, http.StatusOK, "middle of recovering your account")
			return
		}
		next = strings.TrimPrefix(loc, p.S.URL)
	}
	t.Fatal("too many redirects")
}

// startDevice starts a device authorization for a public client and returns its
// user code and device code.
func startDevice(t *testing.T, s *apptest.Server, clientID string) (string, string) {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/t/default/oauth2/device_authorization", url.Values{"client_id": {clientID}, "scope": {"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		UserCode   string `json:"user_code"`
		DeviceCode string `json:"device_code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.UserCode == "" {
		t.Fatalf("device authorization: %d %v %+v", resp.StatusCode, err, out)
	}
	return out.UserCode, out.DeviceCode
}

// pollDevice asks the token endpoint once for the device's tokens and returns the
// error code, or "" when tokens came back.
func pollDevice(t *testing.T, s *apptest.Server, clientID, deviceCode string) string {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/t/default/oauth2/token", url.Values{"client_id": {clientID},
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {deviceCode}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	return out.Error
}
