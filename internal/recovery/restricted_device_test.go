package recovery_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// TestRestrictedSessionCannotUseTheDevicePage checks that a recovery session that has
// yet to create its passkey is refused by the device verification page before it
// shows or accepts anything: no approval screen (which would tell an attacker what a
// phished code is for), no denial, and no code entry counted or audited.
func TestRestrictedSessionCannotUseTheDevicePage(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", func(p *tenant.Policy) { p.Flows.DeviceCode = true })
	accountHolder(t, s, "Ana Lima", "ana@example.com")
	tv, err := s.App.Clients.Create(context.Background(), "default", client.Settings{Name: "Living Room TV",
		Type: store.ClientPublic, AuthMethod: client.AuthNone, GrantTypes: []string{client.GrantDeviceCode},
		Scopes: []string{"openid"}}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	userCode, deviceCode := startDevice(t, s, tv.Client.ID)

	attacker := newDevice(s)
	recoverByEmail(t, attacker, "ana@example.com")
	if !attacker.Session(t).Restricted {
		t.Fatal("the recovery session is not restricted")
	}
	for _, tc := range []struct {
		name string
		do   func() *apptest.Response
	}{
		{"open the page", func() *apptest.Response { return attacker.Get(t, "device") }},
		{"open the page with a code", func() *apptest.Response { return attacker.Get(t, "device?user_code="+userCode) }},
		{"enter the right code", func() *apptest.Response { return attacker.Post(t, "device", "user_code", userCode) }},
		{"enter a wrong code", func() *apptest.Response { return attacker.Post(t, "device", "user_code", "BCDF-GHJK") }},
		{"approve", func() *apptest.Response {
			return attacker.Post(t, "device/decide", "user_code", userCode, "decision", "approve")
		}},
		{"deny", func() *apptest.Response {
			return attacker.Post(t, "device/decide", "user_code", userCode, "decision", "deny")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do()
			expect(t, tc.name, r, http.StatusForbidden, "Finish recovering your account first",
				`href="/t/default/recover/passkey"`)
			for _, leak := range []string{"Living Room TV", "Approve", "Deny", "user_code"} {
				if strings.Contains(string(r.Body), leak) {
					t.Fatalf("%s: the refusal shows %q:\n%s", tc.name, leak, r.Body)
				}
			}
		})
	}
	for _, e := range s.Events(t, "default", "device.") {
		if e.Type != audit.DeviceRequested {
			t.Errorf("the restricted session left a %s event: %+v", e.Type, e)
		}
	}
	if got := pollDevice(t, s, tv.Client.ID, deviceCode); got != "authorization_pending" {
		t.Fatalf("device poll after the refused steps: %q, want authorization_pending", got)
	}
}
