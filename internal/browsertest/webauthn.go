package browsertest

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// AuthenticatorID names a virtual authenticator of a Tab.
type AuthenticatorID = webauthn.AuthenticatorID

// AuthenticatorOptions describe a virtual authenticator. The zero value is the
// passkey provider of a phone or laptop: a platform authenticator that keeps
// discoverable credentials, verifies its user and needs no touch.
type AuthenticatorOptions struct {
	// UserVerificationFails makes the authenticator report that it could not
	// verify its user, as when a fingerprint or PIN is refused. A ceremony that
	// requires user verification then fails with a NotAllowedError.
	UserVerificationFails bool

	// Transport is how the browser reaches the authenticator; empty means
	// "internal", built into the device. A roaming authenticator, such as a
	// security key, is "usb".
	Transport webauthn.AuthenticatorTransport
}

// AddPasskeyAuthenticator adds a virtual CTAP2 authenticator to the tab and
// returns its ID. WebAuthn calls of the page then reach the virtual
// authenticators of the tab and no real one. A tab can have one internal
// authenticator besides any number of roaming ones; the package documentation
// says how Chromium chooses among them.
func (tab *Tab) AddPasskeyAuthenticator(opts AuthenticatorOptions) AuthenticatorID {
	tab.t.Helper()
	transport := opts.Transport
	if transport == "" {
		transport = webauthn.AuthenticatorTransportInternal
	}
	return runValue(tab, "AddPasskeyAuthenticator", func(ctx context.Context, t *chromedp.Target) (AuthenticatorID, error) {
		if err := tab.enableWebAuthn(ctx, t); err != nil {
			return "", err
		}
		res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Transport:                   transport,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              !opts.UserVerificationFails,
				AutomaticPresenceSimulation: true,
			},
		})
		return res.AuthenticatorID, err
	})
}

// enableWebAuthn turns on the WebAuthn domain once per tab. Without the UI,
// Chromium shows no dialog a headless test could not click.
func (tab *Tab) enableWebAuthn(ctx context.Context, t *chromedp.Target) error {
	tab.mu.Lock()
	enabled := tab.webauthn
	tab.mu.Unlock()
	if enabled {
		return nil
	}
	if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
		return fmt.Errorf("enabling WebAuthn: %w", err)
	}
	tab.mu.Lock()
	tab.webauthn = true
	tab.mu.Unlock()
	return nil
}

// Credentials returns the credentials the authenticator holds, such as the
// passkey a registration created.
func (tab *Tab) Credentials(id AuthenticatorID) []*webauthn.Credential {
	tab.t.Helper()
	return runValue(tab, "Credentials", func(ctx context.Context, t *chromedp.Target) ([]*webauthn.Credential, error) {
		res, err := cdp.Call(ctx, t, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		return res.Credentials, err
	})
}

// RemoveAuthenticator removes the authenticator and its credentials, as when a
// security key is unplugged or a device is lost.
func (tab *Tab) RemoveAuthenticator(id AuthenticatorID) {
	tab.t.Helper()
	tab.run("RemoveAuthenticator", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id})
		return err
	}))
}

// SetUserVerified sets whether the authenticator's next user verifications
// succeed.
func (tab *Tab) SetUserVerified(id AuthenticatorID, verified bool) {
	tab.t.Helper()
	tab.run("SetUserVerified", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: id, IsUserVerified: verified})
		return err
	}))
}
