package device_test

import (
	"errors"
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/device"
)

// Addresses of the drill. The attacker's "device" and the victim's browser are on
// different /24 networks; no proxy header is trusted, so the server sees exactly these.
const (
	attackerIP = "127.0.0.2"
	victimIP   = "127.1.0.3"
)

// TestPhishingDrill plays device-code phishing: the attacker starts a device
// authorization from one network and lures the victim, on another network, into
// approving it with a real passkey.
func TestPhishingDrill(t *testing.T) {
	t.Run("require refuses the approval", func(t *testing.T) {
		e := newEnv(t, envOpts{proximity: device.ProximityRequire})
		attacker := from(attackerIP)
		da := e.startDevice(t, attacker, "openid", "profile")
		victim := e.personFrom(victimIP)
		victim.SignUp(t, "Vera Victim")

		shown := enter(t, victim, da.UserCode)
		if shown.status != http.StatusOK || !shown.has(`id="device-proximity-mismatch"`) || !shown.has(`id="requester-ip">`+attackerIP) ||
			!shown.has(`id="approver-ip">`+victimIP) {
			t.Fatalf("approval page does not show the mismatch: %d\n%s", shown.status, shown.body)
		}
		if shown.has(`id="device-approve"`) {
			t.Errorf("require mode must not offer Approve on a mismatch")
		}
		// Posting Approve anyway is refused on the server.
		if got := decide(t, victim, da.UserCode, "approve"); got.status != http.StatusForbidden || !got.has("Approval refused") {
			t.Fatalf("approval from another network: %d\n%s", got.status, got.body)
		}
		if _, code, _ := e.poll(t, attacker, da.DeviceCode); code != "authorization_pending" {
			t.Errorf("attacker's poll: %q, want authorization_pending", code)
		}
		if len(e.events(t, audit.DeviceApprovalRefused)) != 1 || len(e.events(t, audit.DeviceProximityMismatch)) != 1 {
			t.Errorf("refusal and mismatch must be audited")
		}
		if n := len(e.events(t, audit.DeviceApproved)); n != 0 {
			t.Errorf("%d approvals recorded", n)
		}
	})

	t.Run("warn lets it through, shows and records the mismatch", func(t *testing.T) {
		e := newEnv(t, envOpts{proximity: device.ProximityWarn})
		attacker := from(attackerIP)
		da := e.startDevice(t, attacker, "openid", "profile")
		victim := e.personFrom(victimIP)
		victim.SignUp(t, "Vera Victim")

		shown := enter(t, victim, da.UserCode)
		if !shown.has(`id="device-proximity-mismatch"`) || !shown.has("This request came from a different network") ||
			!shown.has(`id="requester-network">127.0.0.0/24`) || !shown.has(`id="approver-network">127.1.0.0/24`) {
			t.Fatalf("warn mode must show the mismatch:\n%s", shown.body)
		}
		if got := decide(t, victim, da.UserCode, "approve"); got.status != http.StatusOK {
			t.Fatalf("approval in warn mode: %d\n%s", got.status, got.body)
		}
		if _, code, body := e.poll(t, attacker, da.DeviceCode); code != "" || body["access_token"] == nil {
			t.Fatalf("attacker's poll after approval: %q %v", code, body)
		}
		ev := e.events(t, audit.DeviceProximityMismatch)
		if len(ev) != 1 || ev[0].Severity != "high" || ev[0].IP != victimIP {
			t.Errorf("want one high device.proximity_mismatch event from the victim, got %+v", ev)
		}
	})

	t.Run("with the grant off the attacker gets nothing", func(t *testing.T) {
		e := newEnv(t, envOpts{flowOff: true})
		_, err := e.oauthConfig("openid").DeviceAuth(deviceCtx(t.Context(), from(attackerIP)))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "unauthorized_client" {
			t.Fatalf("device authorization with the grant off: %v, want unauthorized_client", err)
		}
	})

	t.Run("same network passes require", func(t *testing.T) {
		e := newEnv(t, envOpts{proximity: device.ProximityRequire})
		tv := from("127.0.0.2")
		da := e.startDevice(t, tv, "openid")
		owner := e.personFrom("127.0.0.9")
		owner.SignUp(t, "Olga Owner")
		if shown := enter(t, owner, da.UserCode); shown.has(`id="device-proximity-mismatch"`) {
			t.Errorf("same /24 shown as a mismatch")
		}
		if got := decide(t, owner, da.UserCode, "approve"); got.status != http.StatusOK {
			t.Fatalf("approval from the same network: %d\n%s", got.status, got.body)
		}
		if _, code, _ := e.poll(t, tv, da.DeviceCode); code != "" {
			t.Errorf("poll after approval: %q", code)
		}
	})
}
