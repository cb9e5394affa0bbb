package oauth_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestBrowserAppsMayUseDPoP checks the CORS exchange a browser app on another
// origin goes through to send a DPoP proof: the preflight for the token and
// userinfo endpoints allows the DPoP and Authorization headers, and the answer
// lets the script read DPoP-Nonce and WWW-Authenticate.
func TestBrowserAppsMayUseDPoP(t *testing.T) {
	e := newEnv(t)
	const origin = "https://spa.example"
	for _, path := range []string{"/oauth2/token", "/oauth2/userinfo", "/oauth2/introspect", "/oauth2/revoke"} {
		req, _ := http.NewRequest(http.MethodOptions, e.issuer+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,dpop")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(allowed, "dpop") || !strings.Contains(allowed, "authorization") {
			t.Errorf("preflight of %s answered %d, allow-origin %q, allow-headers %q", path, resp.StatusCode,
				resp.Header.Get("Access-Control-Allow-Origin"), allowed)
		}

		req, _ = http.NewRequest(http.MethodPost, e.issuer+path, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Origin", origin)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var exposed []string
		for _, h := range strings.Split(resp.Header.Get("Access-Control-Expose-Headers"), ",") {
			exposed = append(exposed, strings.ToLower(strings.TrimSpace(h)))
		}
		if !slices.Contains(exposed, "dpop-nonce") || !slices.Contains(exposed, "www-authenticate") {
			t.Errorf("answer of %s exposes %v", path, exposed)
		}
	}
}

// TestInvalidClientChallengesBasic checks RFC 6749 §5.2: a client that
// authenticated with HTTP Basic and failed gets 401 with a Basic challenge.
func TestInvalidClientChallengesBasic(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"} {
		req, _ := http.NewRequest(http.MethodPost, e.issuer+path, strings.NewReader("grant_type=client_credentials&token=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("no-such-client", "wrong")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Basic realm="`) {
			t.Errorf("%s with a wrong Basic credential answered %d, WWW-Authenticate %q", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
}
