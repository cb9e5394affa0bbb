package oauth_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/client"
)

// TestLoginHintPrefillsTheSignInPage follows an authorization request without a
// session to the sign-in page, whose identifier field holds the hint, escaped.
func TestLoginHintPrefillsTheSignInPage(t *testing.T) {
	e := newEnv(t)
	c, _ := e.mustClient(t, client.Settings{Name: "App", RedirectURIs: []string{redirectURI}, FirstParty: true})
	for _, tc := range []struct{ hint, want string }{
		{"ana@example.com", `value="ana@example.com"`},
		{`"><script>alert(1)</script>`, `value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`},
	} {
		p := e.s.NewPerson(tenantID)
		resp, _ := authorizeOnce(t, p, e.config(c, "", redirectURI, oidc.ScopeOpenID).AuthCodeURL("st",
			oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("login_hint", tc.hint)))
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Path != "/t/"+tenantID+"/signin" {
			t.Fatalf("without a session the request answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if got := loc.Query().Get("login_hint"); got != tc.hint {
			t.Errorf("the sign-in URL carries login_hint %q, want %q", got, tc.hint)
		}
		page := body(t, get(t, p, loc.String()))
		field := regexp.MustCompile(`<input id="identifier"[^>]*>`).FindString(page)
		if !strings.Contains(field, tc.want) {
			t.Errorf("identifier field for hint %q = %s, want %s", tc.hint, field, tc.want)
		}
		if strings.Contains(page, "<script>alert") {
			t.Errorf("the hint reached the page unescaped")
		}
	}
}

// TestFormPostSubmitsByScript checks the form_post page: a module script from our own
// origin submits it, and the Continue button stays for browsers without scripts.
func TestFormPostSubmitsByScript(t *testing.T) {
	e := newEnv(t)
	c, _ := e.mustClient(t, client.Settings{Name: "App", RedirectURIs: []string{redirectURI}, FirstParty: true})
	p := e.signedUp(t)
	resp, page := authorizeOnce(t, p, e.config(c, "", redirectURI, oidc.ScopeOpenID).AuthCodeURL("st",
		oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("response_mode", "form_post")))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="form-post-continue"`) {
		t.Fatalf("form_post answered %d without its Continue button: %s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("form_post CSP = %q", csp)
	}
	if strings.Contains(page, "<script>") {
		t.Error("the form_post page has an inline script")
	}
	src := regexp.MustCompile(`<script type="module" src="(/static/[0-9a-f]+/formpost\.js)"></script>`).FindStringSubmatch(page)
	if src == nil {
		t.Fatalf("the form_post page loads no formpost.js module: %s", page)
	}
	js := get(t, p, src[1])
	code := body(t, js)
	if js.StatusCode != http.StatusOK || !strings.Contains(js.Header.Get("Content-Type"), "javascript") ||
		!strings.Contains(code, `getElementById("form-post")`) {
		t.Errorf("%s answered %d %q: %s", src[1], js.StatusCode, js.Header.Get("Content-Type"), code)
	}
}

// TestConsentPageMayPostToTheClient checks that the consent page's CSP lets its form
// end at the client: browsers apply form-action to the redirect that follows.
func TestConsentPageMayPostToTheClient(t *testing.T) {
	e := newEnv(t)
	c, secret := e.mustClient(t, client.Settings{Name: "Third party", RedirectURIs: []string{redirectURI}})
	resp, page := authorizeOnce(t, e.signedUp(t), e.config(c, secret, redirectURI, oidc.ScopeOpenID).AuthCodeURL("st",
		oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="consent-form"`) {
		t.Fatalf("expected the consent page, got %d: %s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example;") {
		t.Errorf("consent CSP = %q", csp)
	}
}

// TestAccountPageLinksToApps checks that people can find the apps they allowed.
func TestAccountPageLinksToApps(t *testing.T) {
	e := newEnv(t)
	p := e.signedUp(t)
	page := body(t, get(t, p, "/t/"+tenantID+"/account"))
	if !strings.Contains(page, `href="/t/`+tenantID+`/account/apps"`) {
		t.Errorf("the account page has no link to the apps page:\n%s", page)
	}
	if resp := get(t, p, "/t/"+tenantID+"/account/apps"); resp.StatusCode != http.StatusOK {
		t.Errorf("the apps page answered %d", resp.StatusCode)
	} else {
		body(t, resp)
	}
}

// TestLogoutConfirmPageMayPostToTheClient checks the same for the sign-out
// confirmation, whose form ends at the client's post-logout redirect URI.
func TestLogoutConfirmPageMayPostToTheClient(t *testing.T) {
	e := newEnv(t)
	c, _ := e.mustClient(t, client.Settings{Name: "Third party", RedirectURIs: []string{redirectURI},
		PostLogoutRedirectURIs: []string{logoutRedir}})
	resp := get(t, e.signedUp(t), e.issuer+"/oauth2/logout?"+url.Values{"client_id": {c.ID},
		"post_logout_redirect_uri": {logoutRedir}}.Encode())
	page := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "/oauth2/logout/confirm") {
		t.Fatalf("expected the sign-out confirmation, got %d: %s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example;") {
		t.Errorf("sign-out confirmation CSP = %q", csp)
	}
}
