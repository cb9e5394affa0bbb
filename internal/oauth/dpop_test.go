package oauth_test

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/oauth/dpoptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// dpopKey is a client's DPoP key pair.
type dpopKey struct {
	*dpoptest.Key
	priv *ecdsa.PrivateKey
	jkt  string
}

func newDPoPKey(t *testing.T) *dpopKey {
	k := dpoptest.NewKey(t)
	return &dpopKey{Key: k, priv: k.Priv, jkt: k.JKT}
}

type proofOpts struct {
	method, uri, accessToken string
	nonce                    string // the server's DPoP-Nonce, when it asks for one
	iat                      time.Time
	signWith                 *ecdsa.PrivateKey // a key other than the one in the header
}

// proof makes a DPoP proof JWT.
func (k *dpopKey) proof(t *testing.T, o proofOpts) string {
	t.Helper()
	return k.Proof(t, dpoptest.Proof{Method: o.method, URI: o.uri, AccessToken: o.accessToken, Nonce: o.nonce,
		IAT: o.iat, SignWith: o.signWith})
}

// call sends a request with optional DPoP proof and Authorization header.
func call(t *testing.T, method, u string, form url.Values, authz, proof string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

func TestDPoPBindsTokensToTheClientKey(t *testing.T) {
	e := newEnv(t)
	pub, _ := e.mustClient(t, client.Settings{Name: "SPA", Type: store.ClientPublic, RedirectURIs: []string{publicRedir},
		FirstParty: true, GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
	conf := e.config(pub, "", publicRedir, "openid", "offline_access")
	p := e.signedUp(t)
	key, other := newDPoPKey(t), newDPoPKey(t)
	tokenURL, userinfoURL := e.issuer+"/oauth2/token", e.issuer+"/oauth2/userinfo"

	v := oauth2.GenerateVerifier()
	cb := browse(t, p, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), publicRedir)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {publicRedir},
		"code_verifier": {v}, "client_id": {pub.ID}}
	status, h, tok := call(t, "POST", tokenURL, form, "", key.proof(t, proofOpts{method: "POST", uri: tokenURL}))
	if status != 200 || tok["token_type"] != "DPoP" {
		t.Fatalf("DPoP code exchange answered %d %v", status, tok)
	}
	if n := h.Get("DPoP-Nonce"); n != "" {
		t.Errorf("a server not asked to require nonces sent DPoP-Nonce %q", n)
	}
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	var cl struct {
		Cnf struct{ JKT string } `json:"cnf"`
	}
	decodeSeg(t, strings.Split(access, ".")[1], &cl)
	if cl.Cnf.JKT != key.jkt {
		t.Fatalf("access token cnf.jkt = %q, want %q", cl.Cnf.JKT, key.jkt)
	}

	// userinfo: only with the DPoP scheme and a proof of the same key for this token.
	if status, _, out := call(t, "GET", userinfoURL, nil, "DPoP "+access, key.proof(t, proofOpts{method: "GET", uri: userinfoURL, accessToken: access})); status != 200 || out["sub"] == nil {
		t.Fatalf("userinfo with DPoP answered %d %v", status, out)
	}
	for name, tc := range map[string]struct{ authz, proof string }{
		"bearer scheme":    {"Bearer " + access, ""},
		"no proof":         {"DPoP " + access, ""},
		"other key":        {"DPoP " + access, other.proof(t, proofOpts{method: "GET", uri: userinfoURL, accessToken: access})},
		"wrong ath":        {"DPoP " + access, key.proof(t, proofOpts{method: "GET", uri: userinfoURL, accessToken: "other"})},
		"wrong htm":        {"DPoP " + access, key.proof(t, proofOpts{method: "POST", uri: userinfoURL, accessToken: access})},
		"wrong htu":        {"DPoP " + access, key.proof(t, proofOpts{method: "GET", uri: tokenURL, accessToken: access})},
		"stale iat":        {"DPoP " + access, key.proof(t, proofOpts{method: "GET", uri: userinfoURL, accessToken: access, iat: time.Now().Add(-10 * time.Minute)})},
		"forged signature": {"DPoP " + access, key.proof(t, proofOpts{method: "GET", uri: userinfoURL, accessToken: access, signWith: other.priv})},
	} {
		status, h, out := call(t, "GET", userinfoURL, nil, tc.authz, tc.proof)
		if status != http.StatusUnauthorized || out["error"] == nil || h.Get("WWW-Authenticate") == "" {
			t.Errorf("userinfo with %s answered %d %v %q", name, status, out, h.Get("WWW-Authenticate"))
		}
	}
	replayed := key.proof(t, proofOpts{method: "GET", uri: userinfoURL, accessToken: access})
	call(t, "GET", userinfoURL, nil, "DPoP "+access, replayed)
	if status, _, out := call(t, "GET", userinfoURL, nil, "DPoP "+access, replayed); status != 401 || out["error"] != "invalid_dpop_proof" {
		t.Errorf("replayed proof answered %d %v", status, out)
	}

	// The refresh token is bound too: another key, or none, is refused.
	rf := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {pub.ID}}
	for name, proof := range map[string]string{"no proof": "", "other key": other.proof(t, proofOpts{method: "POST", uri: tokenURL})} {
		if status, _, out := call(t, "POST", tokenURL, rf, "", proof); status != 400 || out["error"] != "invalid_dpop_proof" {
			t.Errorf("refresh with %s answered %d %v", name, status, out)
		}
	}
	status, _, out := call(t, "POST", tokenURL, rf, "", key.proof(t, proofOpts{method: "POST", uri: tokenURL}))
	if status != 200 || out["token_type"] != "DPoP" || out["refresh_token"] == refresh {
		t.Fatalf("refresh with the bound key answered %d %v", status, out)
	}
}

func TestDPoPRequiredForBoundClients(t *testing.T) {
	e := newEnv(t)
	svc, secret := e.mustClient(t, client.Settings{Name: "Svc", GrantTypes: []string{client.GrantClientCredentials},
		Scopes: []string{"reports:read"}, DPoPBound: true})
	tokenURL := e.issuer + "/oauth2/token"
	form := url.Values{"grant_type": {"client_credentials"}}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(svc.ID)+":"+url.QueryEscape(secret)))
	if status, _, out := call(t, "POST", tokenURL, form, basic, ""); status != 400 || out["error"] != "invalid_dpop_proof" {
		t.Errorf("bound client without proof answered %d %v", status, out)
	}
	key := newDPoPKey(t)
	status, _, out := call(t, "POST", tokenURL, form, basic, key.proof(t, proofOpts{method: "POST", uri: tokenURL}))
	if status != 200 || out["token_type"] != "DPoP" {
		t.Fatalf("bound client with proof answered %d %v", status, out)
	}
	_, in := tokenCall(t, e.issuer+"/oauth2/introspect", url.Values{"token": {out["access_token"].(string)}}, svc.ID, secret)
	if cnf, _ := in["cnf"].(map[string]any); in["active"] != true || in["token_type"] != "DPoP" || cnf["jkt"] != key.jkt {
		t.Errorf("introspection of a DPoP token = %v", in)
	}
	for name, h := range map[string]string{
		"garbage":     "not.a.jwt",
		"two headers": "",
	} {
		req, _ := http.NewRequest("POST", tokenURL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", basic)
		if h != "" {
			req.Header.Set("DPoP", h)
		} else {
			req.Header.Add("DPoP", key.proof(t, proofOpts{method: "POST", uri: tokenURL}))
			req.Header.Add("DPoP", key.proof(t, proofOpts{method: "POST", uri: tokenURL}))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 400 || out["error"] != "invalid_dpop_proof" || out["error_description"] == "" {
			t.Errorf("%s: answered %d %v", name, resp.StatusCode, out)
		}
	}
}
