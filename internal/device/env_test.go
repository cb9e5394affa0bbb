package device_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

const tenantID = "default"

// env is a node with the device flow on (unless the test turns it off) and one
// public client on a TV allowed the device grant.
type env struct {
	s      *apptest.Server
	client *store.Client
	clock  *apptest.Clock
}

type envOpts struct {
	proximity  string // tenant policy device.proximity; default require
	flowOff    bool   // leave the tenant's device flow off
	grantOff   bool   // register the client without the device grant
	uriComplet bool   // allow verification_uri_complete
	policy     func(*tenant.Policy)
	server     []apptest.Option
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{clock: &apptest.Clock{}}
	e.s = apptest.Start(t, append([]apptest.Option{apptest.WithClock(e.clock)}, o.server...)...)
	ctx := t.Context()
	p, err := e.s.App.Tenants.Policy(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	p.Flows.DeviceCode = !o.flowOff
	// One second keeps x/oauth2's polling quick; the rules are the same at 5.
	p.Device.Interval = tenant.Duration(time.Second)
	if o.proximity != "" {
		p.Device.Proximity = o.proximity
	}
	if o.policy != nil {
		o.policy(&p)
	}
	if _, err := e.s.App.Tenants.SetPolicy(ctx, tenantID, p, audit.System()); err != nil {
		t.Fatalf("set policy: %v", err)
	}
	grants := []string{client.GrantDeviceCode, client.GrantRefreshToken}
	if o.grantOff {
		grants = []string{client.GrantAuthorizationCode}
	}
	in := client.Settings{Name: "Living Room TV", Type: store.ClientPublic, AuthMethod: client.AuthNone,
		GrantTypes: grants, Scopes: []string{"openid", "profile", "offline_access"}, VerificationURIComplete: o.uriComplet && !o.grantOff}
	if o.grantOff {
		in.RedirectURIs = []string{"http://127.0.0.1/callback"}
	}
	res, err := e.s.App.Clients.Create(ctx, tenantID, in, audit.System())
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	e.client = res.Client
	return e
}

func (e *env) issuer() string { return e.s.URL + "/t/" + tenantID }

// oauthConfig is the TV app's x/oauth2 configuration.
func (e *env) oauthConfig(scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: e.client.ID, Scopes: scopes, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: e.issuer() + "/oauth2/device_authorization", TokenURL: e.issuer() + "/oauth2/token",
		AuthStyle: oauth2.AuthStyleInParams}}
}

// from returns an HTTP client whose connections leave from the loopback address ip,
// so the server sees that address as the client's (no proxy headers are trusted).
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// personFrom returns a new person whose browser connects from ip.
func (e *env) personFrom(ip string) *apptest.Person {
	p := e.s.NewPerson(tenantID)
	c := from(ip)
	p.Client.Transport = c.Transport
	return p
}

// deviceCtx makes x/oauth2 use c for its requests.
func deviceCtx(ctx context.Context, c *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c)
}

// page is a finished page request.
type page struct {
	status int
	body   string
}

func (p page) has(s string) bool { return strings.Contains(p.body, s) }

func postForm(t *testing.T, p *apptest.Person, path string, form url.Values) page {
	t.Helper()
	resp, err := p.Client.PostForm(p.S.URL+path, form)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b)}
}

func getPage(t *testing.T, p *apptest.Person, path string) page {
	t.Helper()
	resp, err := p.Client.Get(p.S.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b)}
}

// enter types the code on the verification page.
func enter(t *testing.T, p *apptest.Person, code string) page {
	t.Helper()
	return postForm(t, p, "/t/"+tenantID+"/device", url.Values{"user_code": {code}})
}

// decide presses Approve or Deny for the code.
func decide(t *testing.T, p *apptest.Person, code, decision string) page {
	t.Helper()
	return postForm(t, p, "/t/"+tenantID+"/device/decide", url.Values{"user_code": {code}, "decision": {decision}})
}

// startDevice asks for a device authorization from c.
func (e *env) startDevice(t *testing.T, c *http.Client, scopes ...string) *oauth2.DeviceAuthResponse {
	t.Helper()
	da, err := e.oauthConfig(scopes...).DeviceAuth(deviceCtx(t.Context(), c))
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	return da
}

// poll makes one token request for the device code and returns the status and the
// error code ("" on success) with the body.
func (e *env) poll(t *testing.T, c *http.Client, deviceCode string) (int, string, map[string]any) {
	t.Helper()
	resp, err := c.PostForm(e.issuer()+"/oauth2/token", url.Values{"grant_type": {client.GrantDeviceCode},
		"device_code": {deviceCode}, "client_id": {e.client.ID}})
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("poll answer is not JSON: %v", err)
	}
	code, _ := body["error"].(string)
	return resp.StatusCode, code, body
}

// events returns the tenant's audit events of type typ.
func (e *env) events(t *testing.T, typ string) []store.AuditEvent {
	t.Helper()
	return e.s.Events(t, tenantID, typ)
}

// claims decodes a JWT's payload without checking it (the issuer's tests do that).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
