// Package browsertest drives a headless Chromium for the browser tests of
// Gatehouse: pages, forms, passkeys through a virtual WebAuthn authenticator,
// console errors, and screenshots kept as test artifacts.
//
// A test starts one browser and opens a tab in it:
//
//	b := browsertest.New(t)
//	tab := b.NewTab(t)
//	tab.AddPasskeyAuthenticator(browsertest.AuthenticatorOptions{})
//	tab.Navigate(browsertest.LocalhostURL(t, srv.URL) + "/t/acme/signin")
//	tab.Click("#passkey")
//	tab.WaitURLContains("/account")
//	tab.Screenshot("signed-in")
//	if errs := tab.ConsoleErrors(); len(errs) > 0 {
//		t.Errorf("the page logged errors: %q", errs)
//	}
//
// Without Chromium the test is skipped, unless GATEHOUSE_REQUIRE_BROWSER=1, as
// in CI, makes it fail. Chromium runs offline: its calls to Google's services
// are switched off, and every host name but localhost and *.localhost fails to
// resolve, so tests browse loopback servers only.
//
// Every call on a Tab is bounded by Tab.Timeout (30 s unless the test sets it)
// and fails the test with the page's URL, its console errors and a screenshot,
// so a page that hangs fails the test instead of hanging CI.
//
// Pages are served by an [net/http/httptest] server on 127.0.0.1 and browsed as
// http://localhost:PORT (see [LocalhostURL]): WebAuthn needs a secure context,
// and http://localhost is one without a certificate. The relying party ID is
// then "localhost".
//
// # Passkeys
//
// WebAuthn calls of a page reach only the virtual authenticators of its tab,
// which [Tab.AddPasskeyAuthenticator] adds. Behaviour of Chromium 156 that
// tests must allow for:
//
//   - In a tab without a virtual authenticator, navigator.credentials.create
//     and get wait for ever, as a browser waiting for a security key would;
//     Tab.Timeout then fails the test.
//   - Ceremonies complete at once, with no dialog and no touch. When the
//     authenticator has no matching passkey, or user verification is required
//     and fails, the promise rejects at once with NotAllowedError.
//   - A tab has at most one "internal" authenticator; a second one must be
//     roaming (usb, nfc, ble or hybrid). With several, the one added last
//     answers first and its answer ends the ceremony: a create lands on it
//     (unless authenticatorAttachment rules it out), and a get fails with
//     NotAllowedError when it holds no passkey, even if an older one does.
//   - An authenticator keeps at most 3 discoverable credentials; a fourth
//     create fails with NotAllowedError.
//   - With several passkeys for the relying party, a get without
//     allowCredentials picks one without asking (in our runs the one with the
//     lowest credential ID, not the newest), so a test that cares which account
//     signs in gives the authenticator only that account's passkey.
//   - Virtual authenticators belong to a tab, and the tabs of a Browser share
//     cookies. "Another device" is a second tab with its own authenticator, or
//     [Tab.RemoveAuthenticator] followed by a new one, as after a lost phone.
//
// # Passkey autofill (conditional mediation)
//
// PublicKeyCredential.isConditionalMediationAvailable() resolves to true in
// headless Chromium, with or without a virtual authenticator, and
// PublicKeyCredential.getClientCapabilities() reports conditionalGet. With
// a virtual authenticator (and the WebAuthn UI disabled, as here) Chromium
// shows no autofill suggestion and waits for no user. A
// navigator.credentials.get({mediation: "conditional", ...}):
//
//   - resolves at once, as if the user had picked the passkey from the
//     autofill list, when the authenticator holds a passkey for the relying
//     party. Focusing or typing into the <input autocomplete="username
//     webauthn"> is not needed, and nor is the input itself: the request
//     resolves on a page without one. The assertion is user-verified.
//   - rejects at once with NotAllowedError when the authenticator holds no such
//     passkey or user verification fails. A real browser keeps the request
//     pending instead, so page code must treat a rejected conditional request
//     as "no autofill" and stay quiet; a console.error there shows up in
//     ConsoleErrors.
//   - stays pending for ever when the authenticator's automatic presence
//     simulation is off; turning it back on or focusing the input does not
//     release the request. While it is pending, a second get rejects with
//     OperationError, so a page must abort its conditional request (with an
//     AbortController) before a modal sign-in.
//
// So an autofill sign-in test adds an authenticator holding the passkey and
// loads the sign-in page; a page that starts its conditional request on load is
// signed in without any action of the test, which waits for the page that
// follows sign-in. Two things it cannot show: the autofill list itself, and
// that the username input is annotated, so assert the input's autocomplete
// attribute separately. For the same reason, on a page that starts a
// conditional request on load, a test whose authenticator holds the passkey is
// signed in by autofill before it can click a "sign in with a passkey" button.
package browsertest
