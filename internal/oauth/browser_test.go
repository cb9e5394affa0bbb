package oauth_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/browsertest"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// relyingParty is a small web application that signs people in through Gatehouse
// as any Go app would: x/oauth2 with PKCE for the code flow, go-oidc for the ID
// token. Its pages show who signed in.
type relyingParty struct {
	conf     *oauth2.Config
	verifier *oidc.IDTokenVerifier
	mu       sync.Mutex
	pending  map[string]string // state → PKCE verifier
}

func newRelyingParty() *relyingParty {
	return &relyingParty{pending: map[string]string{}}
}

func (a *relyingParty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/login":
		a.login(w, r)
	case "/callback":
		a.callback(w, r)
	default:
		http.NotFound(w, r)
	}
}

// login starts the code flow; login_hint and response_mode are passed on.
func (a *relyingParty) login(w http.ResponseWriter, r *http.Request) {
	state, verifier := rand.Text(), oauth2.GenerateVerifier()
	a.mu.Lock()
	a.pending[state] = verifier
	a.mu.Unlock()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for _, k := range []string{"login_hint", "response_mode"} {
		if v := r.URL.Query().Get(k); v != "" {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	http.Redirect(w, r, a.conf.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback takes the code from the query or, with form_post, from the form.
func (a *relyingParty) callback(w http.ResponseWriter, r *http.Request) {
	state := r.FormValue("state")
	a.mu.Lock()
	verifier, ok := a.pending[state]
	delete(a.pending, state)
	a.mu.Unlock()
	if !ok || r.FormValue("code") == "" {
		a.page(w, http.StatusBadRequest, "Sign-in failed", `<p id="problem">`+html.EscapeString(r.FormValue("error"))+" (state known: "+fmt.Sprint(ok)+")</p>")
		return
	}
	ctx := oidc.ClientContext(r.Context(), &http.Client{Timeout: 10 * time.Second})
	tok, err := a.conf.Exchange(ctx, r.FormValue("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		a.page(w, http.StatusBadGateway, "Sign-in failed", `<p id="problem">`+html.EscapeString(err.Error())+"</p>")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		a.page(w, http.StatusBadGateway, "Sign-in failed", `<p id="problem">`+html.EscapeString(err.Error())+"</p>")
		return
	}
	a.page(w, http.StatusOK, "Welcome to Bookshelf",
		`<p>You are signed in as <code id="subject">`+html.EscapeString(idt.Subject)+`</code>.</p>`+
			`<p>The answer came by <span id="method">`+r.Method+`</span>.</p>`)
}

func (a *relyingParty) page(w http.ResponseWriter, status int, title, content string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">`+
		`<title>%s</title></head><body><main><h1 id="rp-title">%s</h1>%s</main></body></html>`, title, title, content)
}

// pageCheck holds a tab to account for what each page logged.
type pageCheck struct {
	*browsertest.Tab
	t       *testing.T
	checked int
}

// faviconMissing is a line every Gatehouse page may log: Chromium asks each site
// for /favicon.ico.
var faviconMissing = regexp.MustCompile(`Failed to load resource: the server responded with a status of 404 \(Not Found\) \[[^\]]*/favicon\.ico\]$`)

// visited saves a screenshot named name and fails the test for anything the page
// logged since the last check, such as a CSP violation or an uncaught exception.
func (p *pageCheck) visited(name string) {
	p.t.Helper()
	p.Screenshot(name)
	all := p.ConsoleErrors()
	for _, line := range all[p.checked:] {
		if !faviconMissing.MatchString(line) {
			p.t.Errorf("page %q logged: %s", name, line)
		}
	}
	p.checked = len(all)
}

// setPresence turns the authenticator's automatic user presence on or off; while it
// is off, the sign-in page's passkey autofill request waits, as for a person who has
// not picked a passkey yet.
func (p *pageCheck) setPresence(id browsertest.AuthenticatorID, on bool) {
	p.t.Helper()
	p.Run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, webauthn.SetAutomaticPresenceSimulation,
			webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on})
		return err
	}))
}

// TestBrowserAuthorizationCodeWithConsent signs a person in to a third-party app in
// Chromium: the app starts the code flow, Gatehouse asks for a passkey and then for
// consent, and the app shows who signed in. A second visit needs neither and returns
// the code with form_post, which the page submits by itself.
func TestBrowserAuthorizationCodeWithConsent(t *testing.T) {
	e := newEnv(t)
	app := newRelyingParty()
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	b := browsertest.New(t)
	appURL := browsertest.LocalhostURL(t, srv.URL)
	c, secret := e.mustClient(t, client.Settings{Name: "Bookshelf", RedirectURIs: []string{appURL + "/callback"},
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
	app.conf = e.config(c, secret, appURL+"/callback", oidc.ScopeOpenID, "profile")
	app.verifier = e.provider.Verifier(&oidc.Config{ClientID: c.ID})

	tab := b.NewTab(t)
	tab.Timeout = 15 * time.Second
	p := &pageCheck{Tab: tab, t: t}
	laptop := p.AddPasskeyAuthenticator(browsertest.AuthenticatorOptions{})

	// An account with a passkey on this laptop, then signed out.
	p.Navigate(e.s.URL + "/t/" + tenantID + "/signup")
	p.SetValue("#passkey-signup-name", "Ana Lima")
	p.Click("#passkey-signup")
	p.WaitURLContains("/t/" + tenantID + "/account")
	p.WaitVisible("#passkeys")
	p.visited("account")
	p.setPresence(laptop, false)
	p.Click("#signout")
	p.WaitURLContains("/t/" + tenantID + "/signin")
	p.WaitVisible("#identifier")
	p.visited("signed-out")

	// The app sends the browser to Gatehouse, which asks for a sign-in first, with
	// the app's login_hint in the identifier field.
	p.Navigate(appURL + "/login?login_hint=" + "ana%40example.com")
	p.WaitURLContains("/t/" + tenantID + "/signin?")
	p.WaitVisible("#identifier")
	var hint string
	p.Eval(`document.querySelector("#identifier").value`, &hint)
	if hint != "ana@example.com" {
		t.Errorf("the sign-in page's identifier field holds %q, want the app's login_hint", hint)
	}
	p.visited("signin")

	// The passkey answers the page's autofill request on load, as if picked from the
	// list; then the consent screen asks about the third-party app.
	p.setPresence(laptop, true)
	p.Navigate(p.Location())
	p.WaitVisible("#consent-form")
	if got := p.Text("#consent-title"); got != "Allow Bookshelf?" {
		t.Errorf("consent title = %q", got)
	}
	if got := p.Text("#consent-scopes"); got == "" {
		t.Error("the consent screen lists nothing the app asks for")
	}
	p.visited("consent")
	p.Click("#consent-allow")
	p.WaitURLContains(appURL + "/callback")
	p.WaitVisible("#subject")
	subject := p.Text("#subject")
	if got := p.Text("#method"); got != http.MethodGet {
		t.Errorf("the code came by %s, want a redirect (GET)", got)
	}
	p.visited("app-signed-in")
	if want := onlyUser(t, e).ID; subject != want {
		t.Fatalf("the app shows subject %q (%s), want the account's id %q", subject, p.Text("main"), want)
	}

	// Signed in and consent remembered: the app gets its code at once, by form_post.
	p.Navigate(appURL + "/login?response_mode=form_post")
	p.WaitURLContains(appURL + "/callback")
	p.WaitVisible("#subject")
	if got := p.Text("#subject"); got != subject {
		t.Errorf("after form_post the app shows %q (%s), want %q", got, p.Text("main"), subject)
	}
	if got := p.Text("#method"); got != http.MethodPost {
		t.Errorf("with response_mode=form_post the code came by %s, want a POST", got)
	}
	p.visited("app-form-post")
}

// onlyUser returns the tenant's one account.
func onlyUser(t *testing.T, e *env) store.User {
	t.Helper()
	var users []store.User
	err := e.s.App.Store.View(t.Context(), func(tx store.Tx) error {
		var err error
		users, err = tx.ListUsers(t.Context(), tenantID, store.UserQuery{})
		return err
	})
	if err != nil || len(users) != 1 {
		t.Fatalf("users: %v, %d of them", err, len(users))
	}
	return users[0]
}
