package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestDPoPServerNonce runs a DPoP client against a server started with
// --dpop-nonce, as RFC 9449 §8 and §9 describe it: a proof without the server's
// nonce is refused with use_dpop_nonce and the nonce to use, the retry with it
// succeeds, and every answer carries a nonce for the next proof. Forged nonces and
// nonces older than two steps are refused; one from the previous step still works.
func TestDPoPServerNonce(t *testing.T) {
	clock := &apptest.Clock{}
	e := newEnv(t, apptest.WithClock(clock), apptest.WithConfig(func(c *config.Config) { c.DPoPNonce = true }))
	pub, _ := e.mustClient(t, client.Settings{Name: "SPA", Type: store.ClientPublic, RedirectURIs: []string{publicRedir},
		FirstParty: true, GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
	conf := e.config(pub, "", publicRedir, "openid", "offline_access")
	p := e.signedUp(t)
	key := newDPoPKey(t)
	tokenURL, userinfoURL := e.issuer+"/oauth2/token", e.issuer+"/oauth2/userinfo"
	proof := func(method, uri, access, nonce string) string {
		return key.proof(t, proofOpts{method: method, uri: uri, accessToken: access, nonce: nonce, iat: clock.Now()})
	}

	// Token endpoint: no nonce, then the one it hands out.
	v := oauth2.GenerateVerifier()
	cb := browse(t, p, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), publicRedir)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {publicRedir},
		"code_verifier": {v}, "client_id": {pub.ID}}
	status, h, out := call(t, "POST", tokenURL, form, "", proof("POST", tokenURL, "", ""))
	nonce := h.Get("DPoP-Nonce")
	if status != http.StatusBadRequest || out["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("code exchange without nonce answered %d %v, DPoP-Nonce %q", status, out, nonce)
	}
	status, h, tok := call(t, "POST", tokenURL, form, "", proof("POST", tokenURL, "", nonce))
	if status != http.StatusOK || tok["token_type"] != "DPoP" || h.Get("DPoP-Nonce") == "" {
		t.Fatalf("code exchange with the nonce answered %d %v, DPoP-Nonce %q", status, tok, h.Get("DPoP-Nonce"))
	}
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)

	// Userinfo, as a resource server: 401 with the DPoP challenge, then success.
	status, h, out = call(t, "GET", userinfoURL, nil, "DPoP "+access, proof("GET", userinfoURL, access, ""))
	if status != http.StatusUnauthorized || out["error"] != "use_dpop_nonce" ||
		!strings.HasPrefix(h.Get("WWW-Authenticate"), `DPoP error="use_dpop_nonce"`) || h.Get("DPoP-Nonce") == "" {
		t.Fatalf("userinfo without nonce answered %d %v, WWW-Authenticate %q, DPoP-Nonce %q",
			status, out, h.Get("WWW-Authenticate"), h.Get("DPoP-Nonce"))
	}
	status, h, out = call(t, "GET", userinfoURL, nil, "DPoP "+access, proof("GET", userinfoURL, access, h.Get("DPoP-Nonce")))
	if status != http.StatusOK || out["sub"] == nil || h.Get("DPoP-Nonce") == "" {
		t.Fatalf("userinfo with the nonce answered %d %v, DPoP-Nonce %q", status, out, h.Get("DPoP-Nonce"))
	}

	refreshWith := func(n string) (int, http.Header, map[string]any) {
		rf := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {pub.ID}}
		return call(t, "POST", tokenURL, rf, "", proof("POST", tokenURL, "", n))
	}
	for name, n := range map[string]string{
		"forged":     "bm90LWEtbm9uY2UtZnJvbS10aGlzLXNlcnZlcg",
		"uppercased": strings.ToUpper(nonce),
		"oversized":  strings.Repeat("A", 4096),
	} {
		if status, h, out := refreshWith(n); status != http.StatusBadRequest || out["error"] != "use_dpop_nonce" || h.Get("DPoP-Nonce") == "" {
			t.Errorf("refresh with a %s nonce answered %d %v", name, status, out)
		}
	}

	// A nonce stays good through the next step, and not after.
	clock.Advance(5 * time.Minute)
	status, h, out = refreshWith(nonce)
	if status != http.StatusOK || h.Get("DPoP-Nonce") == "" {
		t.Fatalf("refresh with a nonce of the previous step answered %d %v", status, out)
	}
	refresh = out["refresh_token"].(string)
	clock.Advance(5 * time.Minute)
	status, h, out = refreshWith(nonce)
	fresh := h.Get("DPoP-Nonce")
	if status != http.StatusBadRequest || out["error"] != "use_dpop_nonce" || fresh == "" || fresh == nonce {
		t.Fatalf("refresh with a nonce two steps old answered %d %v, DPoP-Nonce %q", status, out, fresh)
	}
	if status, _, out := refreshWith(fresh); status != http.StatusOK || out["token_type"] != "DPoP" {
		t.Fatalf("refresh with the fresh nonce answered %d %v", status, out)
	}
}
