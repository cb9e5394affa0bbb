package browsertest

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
)

// newSite serves testdata on 127.0.0.1 with a policy that allows only the
// site's own scripts, and returns its address under the name localhost.
func newSite(t *testing.T) string {
	t.Helper()
	files := http.FileServerFS(os.DirFS("testdata"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			// Chromium asks for one, and a 404 would be a console error.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'")
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return LocalhostURL(t, srv.URL)
}

// ceremony clicks a button of testdata/passkey.html and returns the outcome
// the page shows: "created", "signed-in" or the name of the error, and the
// credential ID or the error message.
func ceremony(t *testing.T, tab *Tab, button string) (outcome, detail string) {
	t.Helper()
	tab.Eval(`document.getElementById("status").removeAttribute("data-done")`, nil)
	tab.Click(button)
	return shownOutcome(t, tab)
}

// shownOutcome waits for the page to finish its WebAuthn call and returns what
// it shows.
func shownOutcome(t *testing.T, tab *Tab) (outcome, detail string) {
	t.Helper()
	tab.WaitVisible("#status[data-done]")
	return tab.Text("#status"), tab.Text("#detail")
}

// register creates the passkey of testdata/passkey.html on the tab's
// authenticator id and returns it.
func register(t *testing.T, tab *Tab, site string, id AuthenticatorID) *webauthn.Credential {
	t.Helper()
	tab.Navigate(site + "/passkey.html")
	if got, detail := ceremony(t, tab, "#register"); got != "created" {
		t.Fatalf("registration: the page shows %q (%s), want created", got, detail)
	}
	creds := tab.Credentials(id)
	if len(creds) != 1 {
		t.Fatalf("after registration the authenticator holds %d credentials, want 1", len(creds))
	}
	return creds[0]
}

// credentialID encodes a credential ID as PublicKeyCredential.id does.
func credentialID(c *webauthn.Credential) string {
	return base64.RawURLEncoding.EncodeToString(c.CredentialID)
}

func assertNoConsoleErrors(t *testing.T, tab *Tab) {
	t.Helper()
	if errs := tab.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

func TestPasskeyRegistrationAndSignIn(t *testing.T) {
	site := newSite(t)
	tab := New(t).NewTab(t)
	id := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})

	cred := register(t, tab, site, id)
	if !cred.IsResidentCredential || cred.RpID != "localhost" || cred.UserName != "a" {
		t.Errorf("credential: resident %v, RP ID %q, user name %q; want a resident credential of user a for localhost",
			cred.IsResidentCredential, cred.RpID, cred.UserName)
	}

	outcome, detail := ceremony(t, tab, "#signin")
	if outcome != "signed-in" {
		t.Fatalf("sign-in: the page shows %q (%s), want signed-in", outcome, detail)
	}
	if detail != credentialID(cred) {
		t.Errorf("signed in with credential %s, want the registered %s", detail, credentialID(cred))
	}

	path := tab.Screenshot("signed-in")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", path, err)
	}
	if w := img.Bounds().Dx(); w != windowWidth {
		t.Errorf("screenshot is %d pixels wide, want the window's %d", w, windowWidth)
	}
	assertNoConsoleErrors(t, tab)
}

// TestPasskeyAutofill checks what doc.go says about conditional mediation, so
// that a Chromium that behaves otherwise fails here first.
func TestPasskeyAutofill(t *testing.T) {
	site := newSite(t)
	b := New(t)

	probe := b.NewTab(t)
	probe.Navigate(site + "/passkey.html")
	var available bool
	probe.Eval(`PublicKeyCredential.isConditionalMediationAvailable()`, &available)
	t.Logf("PublicKeyCredential.isConditionalMediationAvailable() = %v", available)
	if !available {
		t.Skip("this Chromium does not offer passkey autofill (conditional mediation)")
	}

	tests := []struct {
		name    string
		page    string
		passkey bool
		want    string
	}{
		{"passkey is picked with no user action", "/autofill.html", true, "signed-in"},
		{"page without a webauthn input", "/autofill-noinput.html", true, "signed-in"},
		{"no passkey rejects instead of waiting", "/autofill.html", false, "NotAllowedError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := b.NewTab(t)
			id := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
			var cred *webauthn.Credential
			if tt.passkey {
				cred = register(t, tab, site, id)
			}
			tab.Navigate(site + tt.page)
			outcome, detail := shownOutcome(t, tab)
			if outcome != tt.want {
				t.Fatalf("the page shows %q (%s), want %q", outcome, detail, tt.want)
			}
			if cred != nil && detail != credentialID(cred) {
				t.Errorf("signed in with credential %s, want the registered %s", detail, credentialID(cred))
			}
			tab.Screenshot("outcome")
			assertNoConsoleErrors(t, tab)
		})
	}
}

func TestUserVerification(t *testing.T) {
	site := newSite(t)
	b := New(t)

	t.Run("authenticator that cannot verify its user registers nothing", func(t *testing.T) {
		tab := b.NewTab(t)
		id := tab.AddPasskeyAuthenticator(AuthenticatorOptions{UserVerificationFails: true})
		tab.Navigate(site + "/passkey.html")
		if got, detail := ceremony(t, tab, "#register"); got != "NotAllowedError" {
			t.Errorf("registration: the page shows %q (%s), want NotAllowedError", got, detail)
		}
		if n := len(tab.Credentials(id)); n != 0 {
			t.Errorf("the authenticator holds %d credentials, want none", n)
		}
	})

	t.Run("sign-in follows SetUserVerified", func(t *testing.T) {
		tab := b.NewTab(t)
		id := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		register(t, tab, site, id)

		tab.SetUserVerified(id, false)
		if got, detail := ceremony(t, tab, "#signin"); got != "NotAllowedError" {
			t.Errorf("sign-in with a refused fingerprint: the page shows %q (%s), want NotAllowedError", got, detail)
		}
		tab.SetUserVerified(id, true)
		if got, detail := ceremony(t, tab, "#signin"); got != "signed-in" {
			t.Errorf("sign-in after verification works again: the page shows %q (%s), want signed-in", got, detail)
		}
	})
}

func TestSeveralAuthenticators(t *testing.T) {
	site := newSite(t)
	b := New(t)

	t.Run("the authenticator added last answers first", func(t *testing.T) {
		tab := b.NewTab(t)
		laptop := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		cred := register(t, tab, site, laptop)
		key := tab.AddPasskeyAuthenticator(AuthenticatorOptions{Transport: webauthn.AuthenticatorTransportUsb})

		// The security key has no passkey, and its answer ends the ceremony.
		if got, detail := ceremony(t, tab, "#signin"); got != "NotAllowedError" {
			t.Errorf("sign-in with an empty security key plugged in: the page shows %q (%s), want NotAllowedError", got, detail)
		}
		tab.RemoveAuthenticator(key)
		outcome, detail := ceremony(t, tab, "#signin")
		if outcome != "signed-in" || detail != credentialID(cred) {
			t.Errorf("sign-in after unplugging the key: the page shows %q (%s), want signed-in with %s", outcome, detail, credentialID(cred))
		}
	})

	t.Run("lost device", func(t *testing.T) {
		tab := b.NewTab(t)
		lost := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		register(t, tab, site, lost)
		tab.RemoveAuthenticator(lost)
		// Chromium allows one internal authenticator a tab, so this also shows the first is gone.
		tab.AddPasskeyAuthenticator(AuthenticatorOptions{})

		if got, detail := ceremony(t, tab, "#signin"); got != "NotAllowedError" {
			t.Errorf("sign-in on the new device: the page shows %q (%s), want NotAllowedError", got, detail)
		}
	})

	t.Run("another tab has its own authenticators", func(t *testing.T) {
		first := b.NewTab(t)
		register(t, first, site, first.AddPasskeyAuthenticator(AuthenticatorOptions{}))

		other := b.NewTab(t)
		other.AddPasskeyAuthenticator(AuthenticatorOptions{})
		other.Navigate(site + "/passkey.html")
		if got, detail := ceremony(t, other, "#signin"); got != "NotAllowedError" {
			t.Errorf("sign-in in the other tab: the page shows %q (%s), want NotAllowedError", got, detail)
		}
	})
}

func TestConsoleErrors(t *testing.T) {
	site := newSite(t)
	b := New(t)
	tests := []struct {
		page string
		want string
	}{
		{"/csp-inline.html", "Content Security Policy"},
		{"/throws.html", "TypeError: self-test exception"},
		{"/console-error.html", "console.error: self-test console error 42"},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			tab := b.NewTab(t)
			tab.Navigate(site + tt.page)
			errs := tab.ConsoleErrors()
			if !strings.Contains(strings.Join(errs, "\n"), tt.want) {
				t.Errorf("console errors %q, want one that says %q", errs, tt.want)
			}
			if got := tab.Text("#content"); got == "inline script ran" {
				t.Errorf("the policy did not block the inline script")
			}
		})
	}
}
