package browsertest

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"testing"
)

const createJS = `navigator.credentials.create({publicKey:{rp:{name:"t",id:"localhost"},user:{id:new Uint8Array([%d]),name:"u%d",displayName:"u"},challenge:new Uint8Array(32),pubKeyCredParams:[{type:"public-key",alg:-7}],authenticatorSelection:{residentKey:"required",userVerification:"required"}}}).then(c=>c.id, e=>e.name)`
const getJS = `navigator.credentials.get({%spublicKey:{challenge:new Uint8Array(32),rpId:"localhost",userVerification:"required"}}).then(c=>c.id, e=>e.name)`

func owner(tab *Tab, id string, auths map[string]AuthenticatorID) string {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return id
	}
	for name, a := range auths {
		for _, c := range tab.Credentials(a) {
			if hex.EncodeToString(c.CredentialID) == hex.EncodeToString(raw) {
				return fmt.Sprintf("%s (user %x)", name, c.UserHandle)
			}
		}
	}
	return "?" + hex.EncodeToString(raw)
}

func TestExplore3(t *testing.T) {
	base := exploreServer(t)
	b := New(t)
	for i := 0; i < 3; i++ {
		t.Run("internal+usb", func(t *testing.T) {
			tab := b.NewTab(t)
			auths := map[string]AuthenticatorID{
				"internal": tab.AddPasskeyAuthenticator(AuthenticatorOptions{}),
				"usb":      tab.AddPasskeyAuthenticator(AuthenticatorOptions{Transport: "usb"}),
			}
			tab.Navigate(base + "/passkey.html")
			var id string
			tab.Eval(fmt.Sprintf(createJS, 1, 1), &id)
			t.Logf("create -> %s", owner(tab, id, auths))
			tab.Eval(fmt.Sprintf(getJS, ""), &id)
			t.Logf("modal get -> %s", owner(tab, id, auths))
			tab.Eval(fmt.Sprintf(getJS, `mediation:"conditional",`), &id)
			t.Logf("conditional get -> %s", owner(tab, id, auths))
		})
	}
	t.Run("two-internal", func(t *testing.T) {
		tab := b.NewTab(t)
		a1 := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		tab.Navigate(base + "/passkey.html")
		var id string
		tab.Eval(fmt.Sprintf(createJS, 1, 1), &id)
		a2 := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		auths := map[string]AuthenticatorID{"first": a1, "second": a2}
		t.Logf("create on first -> %s", owner(tab, id, auths))
		tab.Eval(fmt.Sprintf(getJS, ""), &id)
		t.Logf("modal get -> %s", owner(tab, id, auths))
		tab.Eval(fmt.Sprintf(getJS, `mediation:"conditional",`), &id)
		t.Logf("conditional get -> %s", owner(tab, id, auths))
		tab.Eval(fmt.Sprintf(createJS, 2, 2), &id)
		t.Logf("create with two -> %s", owner(tab, id, auths))
		tab.Eval(fmt.Sprintf(getJS, ""), &id)
		t.Logf("modal get with both having creds -> %s", owner(tab, id, auths))
		tab.Eval(fmt.Sprintf(getJS, `mediation:"conditional",`), &id)
		t.Logf("conditional get with both having creds -> %s", owner(tab, id, auths))
	})
	t.Run("cred-order", func(t *testing.T) {
		tab := b.NewTab(t)
		a := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		auths := map[string]AuthenticatorID{"a": a}
		tab.Navigate(base + "/passkey.html")
		var id string
		for u := 1; u <= 4; u++ {
			tab.Eval(fmt.Sprintf(createJS, u, u), &id)
			t.Logf("created %d: %s %s", u, id, owner(tab, id, auths))
		}
		for i := 0; i < 3; i++ {
			tab.Eval(fmt.Sprintf(getJS, ""), &id)
			t.Logf("modal -> %s", owner(tab, id, auths))
			tab.Eval(fmt.Sprintf(getJS, `mediation:"conditional",`), &id)
			t.Logf("conditional -> %s", owner(tab, id, auths))
		}
	})
	t.Run("other-device-empty", func(t *testing.T) {
		tab := b.NewTab(t)
		a := tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		tab.Navigate(base + "/passkey.html")
		var id string
		tab.Eval(fmt.Sprintf(createJS, 1, 1), &id)
		tab.RemoveAuthenticator(a)
		tab.AddPasskeyAuthenticator(AuthenticatorOptions{})
		tab.Eval(fmt.Sprintf(getJS, ""), &id)
		t.Logf("modal on fresh device -> %s", id)
		tab.Eval(fmt.Sprintf(getJS, `mediation:"conditional",`), &id)
		t.Logf("conditional on fresh device -> %s", id)
		tab2 := b.NewTab(t)
		tab2.Navigate(base + "/passkey.html")
		tab2.Eval(fmt.Sprintf(getJS, ""), &id)
		t.Logf("modal in tab without virtual authenticator -> %s", id)
	})
}
