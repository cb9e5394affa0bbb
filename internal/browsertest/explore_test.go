package browsertest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

func exploreServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "script-src 'self'")
		if r.URL.Path == "/bare.html" {
			w.Write([]byte(`<!doctype html><title>x</title><script src="/passkey.js" defer></script><button id=register>r</button><button id=signin>s</button><button id=autofill>a</button><output id=status></output><output id=detail></output>`))
			return
		}
		http.FileServerFS(os.DirFS("testdata")).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return LocalhostURL(t, srv.URL)
}

func waitStatus(t *testing.T, tab *Tab, not string) (string, string, time.Duration) {
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		var s string
		tab.Eval(`document.getElementById("status").textContent`, &s)
		if s != not {
			var d string
			tab.Eval(`document.getElementById("detail").textContent`, &d)
			return s, d, time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return not, "", time.Since(start)
}

func TestExplore2(t *testing.T) {
	base := exploreServer(t)
	b := New(t)

	t.Run("no-credential-timing", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		tab.Navigate(base + "/passkey.html")
		tab.Click("#autofill")
		s, d, el := waitStatus(t, tab, "autofill-pending")
		t.Logf("%q %q after %v", s, d, el)
	})
	t.Run("no-webauthn-input", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		tab.Navigate(base + "/bare.html")
		tab.Click("#register")
		s, d, _ := waitStatus(t, tab, "creating")
		t.Logf("register %q %q", s, d)
		tab.Click("#autofill")
		s, d, el := waitStatus(t, tab, "autofill-pending")
		t.Logf("autofill without input: %q %q after %v", s, d, el)
	})
	t.Run("two-credentials", func(t *testing.T) {
		tab := b.NewTab(t)
		id := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		tab.Navigate(base + "/passkey.html")
		tab.Click("#register")
		waitStatus(t, tab, "creating")
		// second credential with a different user id
		tab.Eval(`navigator.credentials.create({publicKey:{rp:{name:"t",id:"localhost"},user:{id:new Uint8Array([1,2,3]),name:"b",displayName:"b"},challenge:new Uint8Array(32),pubKeyCredParams:[{type:"public-key",alg:-7}],authenticatorSelection:{residentKey:"required",userVerification:"required"}}}).then(c=>c.id)`, nil)
		for _, c := range tab.Credentials(id) {
			t.Logf("cred %x user=%x name=%q", c.CredentialID, c.UserHandle, c.UserName)
		}
		tab.Click("#autofill")
		s, d, el := waitStatus(t, tab, "autofill-pending")
		t.Logf("conditional with two: %q %q after %v", s, d, el)
		tab.Click("#signin")
		s, d, el = waitStatus(t, tab, "signing-in")
		t.Logf("modal with two: %q %q after %v", s, d, el)
	})
	t.Run("uv-fails", func(t *testing.T) {
		tab := b.NewTab(t)
		id := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		tab.Navigate(base + "/passkey.html")
		tab.Click("#register")
		waitStatus(t, tab, "creating")
		tab.SetUserVerified(id, false)
		tab.Click("#signin")
		s, d, el := waitStatus(t, tab, "signing-in")
		t.Logf("modal uv false: %q %q after %v", s, d, el)
		tab.Click("#autofill")
		s, d, el = waitStatus(t, tab, "autofill-pending")
		t.Logf("conditional uv false: %q %q after %v", s, d, el)
	})
	t.Run("uv-fails-register", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.AddPasskeyAuthenticator(AuthenticatorOptions{UserVerificationFails: true})
		tab.Navigate(base + "/passkey.html")
		tab.Click("#register")
		s, d, el := waitStatus(t, tab, "creating")
		t.Logf("register uv false: %q %q after %v", s, d, el)
	})
	t.Run("two-authenticators", func(t *testing.T) {
		tab := b.NewTab(t)
		a := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		tab.Navigate(base + "/passkey.html")
		tab.Click("#register")
		waitStatus(t, tab, "creating")
		other := tab.AddPasskeyAuthenticator(AuthenticatorOptions{Transport: "usb"})
		tab.Click("#register")
		s, d, _ := waitStatus(t, tab, "creating")
		t.Logf("second register: %q %q a=%d other=%d", s, d, len(tab.Credentials(a)), len(tab.Credentials(other)))
		tab.Click("#signin")
		s, d, el := waitStatus(t, tab, "signing-in")
		t.Logf("modal two auths: %q %q after %v", s, d, el)
		tab.RemoveAuthenticator(a)
		tab.Click("#signin")
		s, d, el = waitStatus(t, tab, "signing-in")
		t.Logf("modal after removing a: %q %q after %v (other=%d)", s, d, el, len(tab.Credentials(other)))
	})
	t.Run("only-other-device-empty", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		tab.AddPasskeyAuthenticator(AuthenticatorOptions{Transport: "usb"})
		tab.Navigate(base + "/passkey.html")
		tab.Click("#register")
		s, d, _ := waitStatus(t, tab, "creating")
		t.Logf("register with internal+usb: %q %q", s, d)
	})
}
