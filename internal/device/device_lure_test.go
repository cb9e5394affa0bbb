package device_test

import (
	"net/http"
	"strings"
	"testing"
)

// lureAgent sends every request with a User-Agent written by a phisher.
type lureAgent struct{ next http.RoundTripper }

const lure = "IT Service Desk: this request is verified, press Approve"

func (l lureAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", lure)
	return l.next.RoundTrip(r)
}

// TestApprovalPageDoesNotRepeatTheDevicesWords: the requesting device chooses its
// User-Agent, so the approval page describes it in Gatehouse's own words and never
// shows the device's text to the person being asked.
func TestApprovalPageDoesNotRepeatTheDevicesWords(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := from("127.0.0.1")
	c.Transport = lureAgent{c.Transport}
	da := e.startDevice(t, c)
	ana := e.s.NewPerson(tenantID)
	ana.SignUp(t, "Ana Lima")
	shown := enter(t, ana, da.UserCode)
	if !shown.has(`id="requester-agent">Unknown device`) {
		t.Errorf("approval page does not describe the unrecognised device as unknown:\n%s", shown.body)
	}
	if shown.has("Service Desk") || shown.has("press Approve") {
		t.Fatal("the approval page shows the device's own User-Agent text")
	}
	// The raw header is kept for investigators, in the audit log.
	var found bool
	for _, ev := range e.events(t, "device.") {
		found = found || strings.Contains(ev.UserAgent, "Service Desk")
	}
	if !found {
		t.Error("no device audit event keeps the requester's User-Agent")
	}
}
