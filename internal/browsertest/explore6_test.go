package browsertest

import (
	"encoding/base64"
	"context"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

func TestExplore6(t *testing.T) {
	base := exploreServer(t)
	b := New(t)
	tab := b.NewTab(t)
	a := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
	tab.Navigate(base + "/passkey.html")
	tab.Click("#register")
	s, _, _ := waitStatus(t, tab, "creating")
	creds := tab.Credentials(a)
	t.Logf("register: %s, %d creds", s, len(creds))
	tab.RemoveAuthenticator(a)
	tab.Navigate(base + "/passkey.html")
	tab.Click("#autofill")
	s, d, el := waitStatus(t, tab, "autofill-pending")
	t.Logf("no authenticator: %q %q after %v", s, d, el)
	var bid AuthenticatorID
	tab.Run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: "ctap2", Transport: "internal", HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		if err != nil {
			return err
		}
		bid = res.AuthenticatorID
		c := creds[0]
		return tg.Call(ctx, "WebAuthn.addCredential", map[string]any{"authenticatorId": bid, "credential": map[string]any{
			"credentialId": base64.StdEncoding.EncodeToString(c.CredentialID), "isResidentCredential": true, "rpId": c.RpID,
			"privateKey": base64.StdEncoding.EncodeToString(c.PrivateKey), "userHandle": base64.StdEncoding.EncodeToString(c.UserHandle), "signCount": c.SignCount,
			"userName": c.UserName, "userDisplayName": c.UserDisplayName}}, nil)
	}))
	s, d, el = waitStatus(t, tab, "autofill-pending")
	t.Logf("after adding B with the credential: %q %q after %v", s, d, el)
	tab.Click("#username")
	s, d, el = waitStatus(t, tab, "autofill-pending")
	t.Logf("after focus: %q %q after %v", s, d, el)
	tab.Navigate(base + "/passkey.html")
	tab.Click("#autofill")
	s, d, el = waitStatus(t, tab, "autofill-pending")
	t.Logf("fresh page with B: %q %q after %v", s, d, el)
}
