package adminapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/oauth/dpoptest"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

const api = "/admin/api/v1"

// start runs a node on a fresh SQLite database (TestClientLifecycleWithSystemToken
// also runs on PostgreSQL).
func start(t *testing.T, opts ...apptest.Option) *apptest.Server {
	t.Helper()
	return apptest.Start(t, opts...)
}

// adminClient registers a client_credentials client in tenantID with the given
// scopes and returns its id and secret.
func adminClient(t *testing.T, s *apptest.Server, tenantID string, scopes ...string) (id, sec string) {
	t.Helper()
	res, err := s.App.Clients.Create(context.Background(), tenantID, client.Settings{
		Name: "automation", GrantTypes: []string{client.GrantClientCredentials}, Scopes: scopes,
	}, audit.CLI("test"))
	if err != nil {
		t.Fatal(err)
	}
	return res.Client.ID, res.Secret
}

// token gets an access token for the client from its tenant's token endpoint with a
// real OAuth client library.
func token(t *testing.T, s *apptest.Server, tenantID, id, sec string, scopes ...string) string {
	t.Helper()
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: sec, TokenURL: s.URL + "/t/" + tenantID + "/oauth2/token", Scopes: scopes}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatalf("client credentials token: %v", err)
	}
	return tok.AccessToken
}

// adminToken registers an admin client in tenantID and returns a token for it.
func adminToken(t *testing.T, s *apptest.Server, tenantID string) (clientID, tok string) {
	t.Helper()
	id, sec := adminClient(t, s, tenantID, client.AdminScope)
	return id, token(t, s, tenantID, id, sec, client.AdminScope)
}

// caller makes admin API requests with one set of credentials.
type caller struct {
	s       *apptest.Server
	http    *http.Client
	auth    string            // Authorization header
	headers map[string]string // sent with every request
}

func withToken(s *apptest.Server, tok string) *caller {
	return &caller{s: s, http: s.Client, auth: "Bearer " + tok}
}

func withSession(p *apptest.Person) *caller { return &caller{s: p.S, http: p.Client} }

// do sends a request to a path below /admin/api/v1. body is JSON-encoded unless it
// is a string or []byte, sent as is with contentType (default application/json).
func (c *caller) do(t *testing.T, method, path string, body any, header ...string) *apptest.Response {
	t.Helper()
	rd := apptest.JSONBody(t, body)
	req, err := http.NewRequest(method, c.s.URL+api+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	req.Header.Set("User-Agent", "gatehouse-admin-test/1.0")
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return apptest.RoundTrip(t, c.http, req)
}

// expect fails unless r has the status and its body contains every want.
func expect(t *testing.T, what string, r *apptest.Response, status int, wants ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body: %s", what, r.Status, status, r.Body)
	}
	for _, w := range wants {
		if !strings.Contains(string(r.Body), w) {
			t.Fatalf("%s: body lacks %q: %s", what, w, r.Body)
		}
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", what, r.Header.Get("Cache-Control"))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want JSON", what, ct)
	}
}

// expectError fails unless r is a JSON error with the status and code, and returns
// its description.
func expectError(t *testing.T, what string, r *apptest.Response, status int, code string) string {
	t.Helper()
	expect(t, what, r, status)
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error != code {
		t.Fatalf("%s: body %s, want error %q", what, r.Body, code)
	}
	return e.Description
}

// events returns the tenant's audit events of type typ.
func events(t *testing.T, s *apptest.Server, tenantID, typ string) []store.AuditEvent {
	t.Helper()
	var match []store.AuditEvent
	for _, e := range s.Events(t, tenantID, typ) {
		if e.Type == typ {
			match = append(match, e)
		}
	}
	return match
}

// operator makes the first operator of the system tenant through the setup link
// and returns them signed in with their passkey.
func operator(t *testing.T, s *apptest.Server) *apptest.Person {
	t.Helper()
	link, err := s.App.SetupLink(context.Background())
	if err != nil || link == "" {
		t.Fatalf("setup link: %q, %v", link, err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	op := s.NewPerson(tenant.System)
	resp, err := op.Client.PostForm(s.URL+"/t/system/setup", url.Values{
		"token": {u.Query().Get("token")}, "name": {"Olive Operator"}, "email": {"olive@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
	if r := op.FinishRegister(t, op.BeginRegister(t, "Operator key", ""), nil); r.Status != 200 {
		t.Fatalf("operator passkey: %d %s", r.Status, r.Body)
	}
	return op
}

// member signs a new person up in tenantID with a passkey and gives them roles.
func member(t *testing.T, s *apptest.Server, tenantID string, roles ...string) (*apptest.Person, *store.User) {
	t.Helper()
	p := s.NewPerson(tenantID)
	name := "Member " + secret.ID()[:6]
	p.SignUp(t, name)
	users, err := s.App.Users.List(context.Background(), tenantID, store.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range users {
		if users[i].DisplayName == name {
			u := &users[i]
			if len(roles) > 0 {
				u.Roles = roles
				updateUser(t, s, u)
			}
			return p, u
		}
	}
	t.Fatalf("signed-up user %q not found", name)
	return nil, nil
}

func updateUser(t *testing.T, s *apptest.Server, u *store.User) {
	t.Helper()
	err := s.App.Store.InTx(context.Background(), func(tx store.Tx) error { return tx.UpdateUser(context.Background(), u) })
	if err != nil {
		t.Fatal(err)
	}
}

// dpopKey is a client's DPoP key pair.
type dpopKey struct{ *dpoptest.Key }

func newDPoPKey(t *testing.T) *dpopKey { return &dpopKey{dpoptest.NewKey(t)} }

// proof makes a DPoP proof for method and uri, bound to accessToken when given, with
// the server's nonce when one is given.
func (k *dpopKey) proof(t *testing.T, method, uri, accessToken string, nonce ...string) string {
	t.Helper()
	p := dpoptest.Proof{Method: method, URI: uri, AccessToken: accessToken}
	if len(nonce) > 0 {
		p.Nonce = nonce[0]
	}
	return k.Proof(t, p)
}

// dpopToken gets a DPoP-bound client_credentials token for the client, retrying once
// with the server's nonce when it asks for one.
func dpopToken(t *testing.T, s *apptest.Server, tenantID, id, sec string, k *dpopKey) string {
	t.Helper()
	endpoint := s.URL + "/t/" + tenantID + "/oauth2/token"
	send := func(nonce ...string) *http.Response {
		req, err := http.NewRequest("POST", endpoint, strings.NewReader(url.Values{
			"grant_type": {"client_credentials"}, "scope": {client.AdminScope}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("DPoP", k.proof(t, "POST", endpoint, "", nonce...))
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := send()
	if n := resp.Header.Get("DPoP-Nonce"); resp.StatusCode != http.StatusOK && n != "" {
		resp.Body.Close()
		resp = send(n)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.TokenType != "DPoP" {
		t.Fatalf("DPoP token: %d %+v %v", resp.StatusCode, out, err)
	}
	return out.AccessToken
}
