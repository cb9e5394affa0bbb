package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const (
	tenantID    = "default"
	redirectURI = "https://app.example/callback"
	publicRedir = "http://127.0.0.1/callback"
	logoutRedir = "https://app.example/signed-out"
)

// env is a running node with the relying party's view of it.
type env struct {
	s        *apptest.Server
	issuer   string
	provider *oidc.Provider
	ctx      context.Context // carries the test server's HTTP client for x/oauth2 and go-oidc
}

func newEnv(t *testing.T, opts ...apptest.Option) *env {
	t.Helper()
	s := apptest.Start(t, opts...)
	e := &env{s: s, issuer: s.URL + "/t/" + tenantID}
	e.ctx = oidc.ClientContext(t.Context(), &http.Client{Transport: http.DefaultTransport})
	p, err := oidc.NewProvider(e.ctx, e.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	e.provider = p
	return e
}

// mustClient registers a client and returns it with its secret.
func (e *env) mustClient(t *testing.T, in client.Settings) (*store.Client, string) {
	t.Helper()
	res, err := e.s.App.Clients.Create(t.Context(), tenantID, in, audit.System())
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return res.Client, res.Secret
}

func (e *env) config(c *store.Client, secret, redirect string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: e.provider.Endpoint(),
		RedirectURL: redirect, Scopes: scopes}
}

// signedUp returns a person with an account and a live session.
func (e *env) signedUp(t *testing.T) *apptest.Person {
	t.Helper()
	p := e.s.NewPerson(tenantID)
	p.SignUp(t, "Ana Lima")
	return p
}

// get fetches an absolute or server-relative URL in the person's browser.
func get(t *testing.T, p *apptest.Person, u string) *http.Response {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = p.S.URL + u
	}
	resp, err := p.Client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp
}

func post(t *testing.T, p *apptest.Person, u string, form url.Values) *http.Response {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = p.S.URL + u
	}
	resp, err := p.Client.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	hiddenID   = regexp.MustCompile(`name="id" value="([^"]+)"`)
	hiddenNext = regexp.MustCompile(`name="next" value="([^"]+)"`)
)

// browse follows an authorization request through the person's browser — signing in
// and approving consent when asked — until Gatehouse sends the browser to prefix (the
// client's redirect URI). It returns that final URL, or fails with the page it
// stopped at.
func browse(t *testing.T, p *apptest.Person, start, prefix string) *url.URL {
	t.Helper()
	next := start
	for range 12 {
		if u, _ := url.Parse(next); u != nil && strings.HasSuffix(u.Path, "/signin") {
			p.SignIn(t)
			next = u.Query().Get("next")
			continue
		}
		resp := get(t, p, next)
		b := body(t, resp)
		switch {
		case resp.StatusCode/100 == 3:
			loc := resp.Header.Get("Location")
			if strings.HasPrefix(loc, prefix) {
				u, err := url.Parse(loc)
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			next = loc
		case resp.StatusCode == http.StatusOK && strings.Contains(b, `id="reauth-form"`):
			// "Sign in again": the page signs out and comes back after a fresh sign-in.
			m := hiddenNext.FindStringSubmatch(b)
			if m == nil {
				t.Fatalf("sign-in-again page without next: %s", b)
			}
			resp := post(t, p, "/t/"+tenantID+"/signout", url.Values{"next": {html.UnescapeString(m[1])}})
			body(t, resp)
			next = resp.Header.Get("Location")
		case resp.StatusCode == http.StatusOK && strings.Contains(b, `id="consent-form"`):
			m := hiddenID.FindStringSubmatch(b)
			if m == nil {
				t.Fatalf("consent page without request id: %s", b)
			}
			resp := post(t, p, "/t/"+tenantID+"/oauth2/authorize/consent", url.Values{"id": {m[1]}, "decision": {"allow"}})
			body(t, resp)
			if resp.StatusCode/100 != 3 {
				t.Fatalf("consent answered %d", resp.StatusCode)
			}
			loc := resp.Header.Get("Location")
			if strings.HasPrefix(loc, prefix) {
				u, _ := url.Parse(loc)
				return u
			}
			next = loc
		default:
			t.Fatalf("authorization stopped at %s with %d: %s", next, resp.StatusCode, b)
		}
	}
	t.Fatalf("authorization did not finish")
	return nil
}

// tokenCall posts a form to a token-endpoint-style URL and decodes the JSON answer.
func tokenCall(t *testing.T, u string, form url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s answered %d with non-JSON %q", u, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func decodeSeg(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
