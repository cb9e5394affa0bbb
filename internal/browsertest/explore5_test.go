package browsertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

func presence(tab *Tab, id AuthenticatorID, on bool) {
	tab.Run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on})
		return err
	}))
}

func TestExplore5(t *testing.T) {
	base := exploreServer(t)
	b := New(t)
	for _, mode := range []string{"conditional", "modal"} {
		t.Run(mode, func(t *testing.T) {
			tab := b.NewTab(t)
			id := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
			tab.Navigate(base + "/passkey.html")
			tab.Click("#register")
			s, _, _ := waitStatus(t, tab, "creating")
			t.Logf("register: %s", s)
			presence(tab, id, false)
			btn := "#autofill"
			pending := "autofill-pending"
			if mode == "modal" {
				btn, pending = "#signin", "signing-in"
			}
			tab.Click(btn)
			s, d, el := waitStatus(t, tab, pending)
			t.Logf("presence off: %q %q after %v", s, d, el)
			tab.Screenshot("pending-" + mode)
			presence(tab, id, true)
			s, d, el = waitStatus(t, tab, pending)
			t.Logf("presence back on: %q %q after %v", s, d, el)
			tab.Click("#username")
			s, d, el = waitStatus(t, tab, pending)
			t.Logf("after focusing the input: %q %q after %v", s, d, el)
			var aborted string
			start := time.Now()
			_ = start
			tab.Eval(fmt.Sprintf(getJS, ""), &aborted)
			t.Logf("a second get while pending: %s", aborted)
			s, d, el = waitStatus(t, tab, pending)
			t.Logf("first request then: %q %q", s, d)
		})
	}
}
