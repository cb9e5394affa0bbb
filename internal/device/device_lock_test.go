package device_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestLockingAnAccountEndsItsDeviceGrants: a device grant belongs to no browser
// session, and revoking "every grant of the user" (locking the account, "This wasn't
// me") must include it — the device cannot refresh afterwards, not even once an
// operator has unlocked the account.
func TestLockingAnAccountEndsItsDeviceGrants(t *testing.T) {
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
	uid := ana.Session(t).UserID
	for _, status := range []string{store.UserLocked, store.UserActive} {
		if _, err := e.s.App.Users.SetStatus(t.Context(), tenantID, uid, status, "test", audit.CLI("test")); err != nil {
			t.Fatal(err)
		}
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
		t.Errorf("device refresh after the account was locked and unlocked: %d (error %v), want 400 invalid_grant", resp.StatusCode, body["error"])
	}
	var g []store.AuditEvent
	e.s.App.Store.View(t.Context(), func(tx store.Tx) error {
		var err error
		g, err = tx.QueryAudit(t.Context(), store.AuditQuery{TenantID: tenantID, Type: audit.UserLocked})
		return err
	})
	if len(g) != 1 {
		t.Fatalf("user.locked events: %d", len(g))
	}
}
