package device_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/browsertest"
)

// TestBrowserApprovesDevice approves a TV by hand in Chromium with a virtual passkey
// authenticator: sign up, type the code shown on the TV, read where the request came
// from, press Approve, confirm with the passkey because the sign-in is no longer
// fresh, and the TV gets its tokens.
func TestBrowserApprovesDevice(t *testing.T) {
	e := newEnv(t, envOpts{})
	tv := &http.Client{Timeout: 10 * time.Second}
	da := e.startDevice(t, tv, "openid", "profile")

	b := browsertest.New(t)
	tab := b.NewTab(t)
	tab.Timeout = 15 * time.Second
	tab.AddPasskeyAuthenticator(browsertest.AuthenticatorOptions{})
	check := func(page string) {
		t.Helper()
		tab.Screenshot("device-" + page)
		for _, line := range tab.ConsoleErrors() {
			// The passkey confirmation page is answered 403 (the approval is not
			// allowed yet), which the browser logs; anything else is a fault.
			if !strings.Contains(line, "status of 403") || !strings.Contains(line, "/device/decide") {
				t.Errorf("page %s logged: %s", page, line)
			}
		}
	}

	tab.Navigate(e.s.URL + "/t/" + tenantID + "/signup")
	tab.SetValue("#passkey-signup-name", "Ana Lima")
	tab.Click("#passkey-signup")
	tab.WaitURLContains("/t/" + tenantID + "/account")

	tab.Navigate(da.VerificationURI)
	tab.WaitVisible("#device-code-form")
	if got := tab.Text("#device-lure-warning"); !strings.Contains(got, "do not enter it") {
		t.Errorf("code page warning = %q", got)
	}
	check("enter-code")
	tab.SendKeys("#user_code", strings.ToLower(da.UserCode))
	tab.Click("#device-continue")
	tab.WaitVisible("#device-decision-form")
	for sel, want := range map[string]string{
		"#approve-title":       "Sign in Living Room TV on a device?",
		"#device-stop-warning": "If someone sent you this code, stop — they are trying to get into your account.",
		"#device-user-code":    da.UserCode,
		"#requester-ip":        "127.0.0.1",
		"#requester-when":      "ago",
		"#approver-network":    "127.0.0.0/24",
	} {
		if got := tab.Text(sel); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", sel, got, want)
		}
	}
	var focused string
	tab.Eval(`document.activeElement && document.activeElement.id`, &focused)
	if focused != "device-deny" {
		t.Errorf("the focused button is %q, want Deny", focused)
	}
	check("approve")

	// Six minutes later the sign-in is no longer fresh: Approve asks for the passkey,
	// then carries on by itself.
	e.clock.Advance(6 * time.Minute)
	tab.Click("#device-approve")
	tab.WaitVisible("#step-up")
	check("confirm")
	tab.Click("#step-up")
	tab.WaitVisible("#device-message-title")
	if got := tab.Text("#device-message-title"); got != "Device approved" {
		t.Fatalf("after confirming: %q (%s)", got, tab.Text("main"))
	}
	check("approved")

	if _, code, body := e.poll(t, tv, da.DeviceCode); code != "" || body["access_token"] == nil {
		t.Fatalf("the TV's poll after approval: %q %v", code, body)
	}
}
