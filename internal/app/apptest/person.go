package apptest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/passkey/passkeytest"
)

// Person is someone using Gatehouse from one browser: a cookie jar and an
// authenticator holding their passkeys.
type Person struct {
	S      *Server
	Tenant string
	Client *http.Client
	Auth   *passkeytest.Authenticator
}

// NewPerson returns a person with an empty browser and a platform authenticator that
// syncs its passkeys (BE and BS set), in the given tenant.
func (s *Server) NewPerson(tenant string) *Person {
	return s.NewPersonWith(tenant, passkeytest.New(passkeytest.Options{BackupEligible: true, BackedUp: true}))
}

// NewPersonWith is NewPerson with a chosen authenticator.
func (s *Server) NewPersonWith(tenant string, a *passkeytest.Authenticator) *Person {
	jar, _ := cookiejar.New(nil)
	return &Person{S: s, Tenant: tenant, Auth: a, Client: &http.Client{
		Jar: jar, Timeout: 30 * time.Second, Transport: s.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// OtherBrowser returns the same person (same authenticator) in a fresh browser.
func (p *Person) OtherBrowser() *Person { return p.S.NewPersonWith(p.Tenant, p.Auth) }

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.Status, err, r.Body)
	}
}

// ErrorCode returns the "error" member of a JSON error body.
func (r *Response) ErrorCode() string {
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(r.Body, &e)
	return e.Error
}

// Do sends a request with an optional JSON body to a path under the tenant
// ("api/passkey/login/begin") or an absolute path ("/healthz").
func (p *Person) Do(t testing.TB, method, path string, body any) *Response {
	t.Helper()
	rd := JSONBody(t, body)
	if rd == nil {
		return p.exchange(t, method, path, nil, "")
	}
	return p.exchange(t, method, path, rd, "application/json")
}

// JSONBody is a request body for v: nil for nil, a string or []byte as it is, and
// anything else encoded as JSON.
func JSONBody(t testing.TB, v any) io.Reader {
	t.Helper()
	switch b := v.(type) {
	case nil:
		return nil
	case []byte:
		return bytes.NewReader(b)
	case string:
		return strings.NewReader(b)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(j)
}

// exchange sends one request from the person's browser and reads the whole answer.
func (p *Person) exchange(t testing.TB, method, path string, body io.Reader, contentType string) *Response {
	t.Helper()
	if !strings.HasPrefix(path, "/") {
		path = "/t/" + p.Tenant + "/" + path
	}
	req, err := http.NewRequest(method, p.S.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) gatehouse-test")
	return RoundTrip(t, p.Client, req)
}

// RoundTrip sends req with c and reads the whole answer.
func RoundTrip(t testing.TB, c *http.Client, req *http.Request) *Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Body: b, Header: resp.Header}
}

// creationOptions parses register/begin output for the authenticator.
func (p *Person) creationOptions(t testing.TB, r *Response) passkeytest.CreateOptions {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("register/begin: %d %s", r.Status, r.Body)
	}
	o, err := passkeytest.ParseCreationOptions(r.Body)
	if err != nil {
		t.Fatalf("creation options: %v: %s", err, r.Body)
	}
	o.Origin = p.S.URL
	return o
}

// requestOptions parses login or step-up begin output for the authenticator.
func (p *Person) requestOptions(t testing.TB, r *Response) passkeytest.GetOptions {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("begin: %d %s", r.Status, r.Body)
	}
	o, err := passkeytest.ParseRequestOptions(r.Body)
	if err != nil {
		t.Fatalf("request options: %v: %s", err, r.Body)
	}
	o.Origin = p.S.URL
	return o
}

// BeginRegister starts creating a passkey (for the signed-in account, or a
// passkey-first sign-up when displayName is set and nobody is signed in) and returns
// the options the authenticator needs.
func (p *Person) BeginRegister(t testing.TB, name, displayName string) passkeytest.CreateOptions {
	t.Helper()
	return p.creationOptions(t, p.Do(t, "POST", "api/passkey/register/begin", map[string]string{"name": name, "display_name": displayName}))
}

// FinishRegister creates the credential with the person's authenticator (after
// forge, if given) and posts it.
func (p *Person) FinishRegister(t testing.TB, o passkeytest.CreateOptions, forge func(*passkeytest.CreateOptions)) *Response {
	t.Helper()
	if forge != nil {
		forge(&o)
	}
	cred, err := p.Auth.Create(o)
	if err != nil {
		t.Fatalf("authenticator create: %v", err)
	}
	return p.Do(t, "POST", "api/passkey/register/finish", cred)
}

// SignUp creates an account with just a passkey and checks it worked.
func (p *Person) SignUp(t testing.TB, displayName string) {
	t.Helper()
	r := p.FinishRegister(t, p.BeginRegister(t, "", displayName), nil)
	if r.Status != 200 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
}

// AddPasskey registers another passkey to the signed-in account.
func (p *Person) AddPasskey(t testing.TB, name string) *Response {
	t.Helper()
	r := p.Do(t, "POST", "api/passkey/register/begin", map[string]string{"name": name})
	if r.Status != 200 {
		return r
	}
	return p.FinishRegister(t, p.creationOptions(t, r), nil)
}

// BeginLogin starts a usernameless sign-in.
func (p *Person) BeginLogin(t testing.TB) passkeytest.GetOptions {
	t.Helper()
	return p.requestOptions(t, p.Do(t, "POST", "api/passkey/login/begin", map[string]bool{"conditional": false}))
}

// Assert produces an assertion for o (after forge, if given).
func (p *Person) Assert(t testing.TB, o passkeytest.GetOptions, forge func(*passkeytest.GetOptions)) *passkeytest.AssertionResponse {
	t.Helper()
	if forge != nil {
		forge(&o)
	}
	a, err := p.Auth.Get(o)
	if err != nil {
		t.Fatalf("authenticator get: %v", err)
	}
	return a
}

// FinishLogin posts an assertion.
func (p *Person) FinishLogin(t testing.TB, a any) *Response {
	t.Helper()
	return p.Do(t, "POST", "api/passkey/login/finish", a)
}

// SignIn signs in with the person's newest passkey and checks it worked.
func (p *Person) SignIn(t testing.TB) {
	t.Helper()
	r := p.FinishLogin(t, p.Assert(t, p.BeginLogin(t), nil))
	if r.Status != 200 {
		t.Fatalf("sign-in: %d %s", r.Status, r.Body)
	}
}

// StepUp confirms the signed-in session with a passkey.
func (p *Person) StepUp(t testing.TB) *Response {
	t.Helper()
	r := p.Do(t, "POST", "api/passkey/stepup/begin", nil)
	if r.Status != 200 {
		return r
	}
	return p.Do(t, "POST", "api/passkey/stepup/finish", p.Assert(t, p.requestOptions(t, r), nil))
}

// CredentialIDs lists the signed-in account's passkeys (internal ids).
func (p *Person) CredentialIDs(t testing.TB) []string {
	t.Helper()
	r := p.Do(t, "GET", "api/passkey/credentials", nil)
	if r.Status != 200 {
		t.Fatalf("credentials: %d %s", r.Status, r.Body)
	}
	var cs []struct {
		ID string `json:"id"`
	}
	r.JSON(t, &cs)
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// B64 encodes raw bytes as unpadded base64url.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
