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

func TestExplore4(t *testing.T) {
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
			start := time.Now()
			tab.Eval(fmt.Sprintf(createJS, 1, 1), &id)
			t.Logf("create -> %s in %v", owner(tab, id, auths), time.Since(start))
			start = time.Now()
			tab.Eval(fmt.Sprintf(getJS, ""), &id)
			t.Logf("modal get -> %s in %v", owner(tab, id, auths), time.Since(start))
		})
	}
	t.Run("internal-only-attachment-platform", func(t *testing.T) {
		tab := b.NewTab(t)
		auths := map[string]AuthenticatorID{
			"internal": tab.AddPasskeyAuthenticator(AuthenticatorOptions{}),
			"usb":      tab.AddPasskeyAuthenticator(AuthenticatorOptions{Transport: "usb"}),
		}
		tab.Navigate(base + "/passkey.html")
		var id string
		tab.Eval(`navigator.credentials.create({publicKey:{rp:{name:"t",id:"localhost"},user:{id:new Uint8Array([1]),name:"u",displayName:"u"},challenge:new Uint8Array(32),pubKeyCredParams:[{type:"public-key",alg:-7}],authenticatorSelection:{authenticatorAttachment:"platform",residentKey:"required",userVerification:"required"}}}).then(c=>c.id, e=>e.name)`, &id)
		t.Logf("create platform -> %s", owner(tab, id, auths))
	})
	t.Run("enabled-no-authenticator", func(t *testing.T) {
		tab := b.NewTab(t)
		tab.Run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)})
			return err
		}))
		tab.Navigate(base + "/passkey.html")
		tab.Timeout = 5 * time.Second
		var id string
		start := time.Now()
		tab.Eval(fmt.Sprintf(getJS, ""), &id)
		t.Logf("get with env but no authenticator -> %s in %v", id, time.Since(start))
	})
}
