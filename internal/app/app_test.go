package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFreshNodeAnswers(t *testing.T) {
	s := apptest.Start(t)
	cases := []struct {
		path, want string
		status     int
	}{
		{"/healthz", "ok", 200},
		{"/readyz", "ready", 200},
		{"/", "/t/default", 200},
		{"/t/default/", "You are not signed in.", 200},
		{"/t/system/", "Operators", 200},
		{"/t/nope/", "We could not find that page.", 404},
		{"/t/Bad_Tenant/", "We could not find that page.", 404},
		{"/no/such/page", "We could not find that page.", 404},
	}
	for _, c := range cases {
		resp := s.Get(t, c.path)
		b := body(t, resp)
		if resp.StatusCode != c.status || !strings.Contains(b, c.want) {
			t.Errorf("GET %s = %d %q, want %d containing %q", c.path, resp.StatusCode, b, c.status, c.want)
		}
	}
	// The built-in tenants exist with their default policy.
	for _, id := range []string{"system", "default"} {
		p, err := s.App.Tenants.Policy(context.Background(), id)
		if err != nil || p.Flows.DeviceCode || p.Methods.SMS.SignIn || !p.Methods.Passkey.SignIn {
			t.Errorf("tenant %s policy = %+v, %v", id, p.Flows, err)
		}
	}
}

// TestInvariant9_SecurityHeaders: pages send CSP with frame-ancestors 'none' and a
// Referrer-Policy, on success and on error pages alike.
func TestInvariant9_SecurityHeaders(t *testing.T) {
	s := apptest.Start(t)
	for _, path := range []string{"/", "/t/default/", "/t/nope/", "/healthz"} {
		resp := s.Get(t, path)
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("Referrer-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Request-Id") == "" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
}

// TestInvariant10_BadInputGets4xx throws malformed and hostile requests at the node:
// none may produce a 5xx.
func TestInvariant10_BadInputGets4xx(t *testing.T) {
	s := apptest.Start(t)
	type req struct {
		method, path, body, ctype string
		cookie                    string
	}
	huge := strings.Repeat("a=b&", 1<<20)
	reqs := []req{
		{"GET", "/t/default/", "", "", "\xff\xfe"},
		{"GET", "/t/default/", "", "", strings.Repeat("A", 43)},
		{"GET", "/t/default/", "", "", strings.Repeat("A", 3000)},
		{"GET", "/t/default/", "", "", "a;b;c=d"},
		{"POST", "/t/default/", "a=\xff", "application/x-www-form-urlencoded", ""},
		{"POST", "/t/default/", huge, "application/x-www-form-urlencoded", ""},
		{"PUT", "/healthz", "x", "text/plain", ""},
		{"DELETE", "/t/default/", "", "", ""},
		{"GET", "/t/%ff/", "", "", ""},
		{"GET", "/t/" + strings.Repeat("a", 5000) + "/", "", "", ""},
		{"GET", "/static/../../etc/passwd", "", "", ""},
		{"GET", "/static/deadbeef/app.css", "", "", ""},
		{"GET", "/dev/mailbox?x=%00", "", "", ""},
	}
	for _, r := range reqs {
		hr, err := http.NewRequest(r.method, s.URL+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if r.ctype != "" {
			hr.Header.Set("Content-Type", r.ctype)
		}
		if r.cookie != "" {
			hr.Header.Set("Cookie", "gh_session="+r.cookie)
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			// The server may close a connection whose body it refused; that is not a 5xx.
			continue
		}
		b := body(t, resp)
		if resp.StatusCode >= 500 {
			t.Errorf("%s %.60s: %d %q", r.method, r.path, resp.StatusCode, b)
		}
		if strings.Contains(b, "goroutine") || strings.Contains(b, "panic") {
			t.Errorf("%s %.60s: response leaks internals: %q", r.method, r.path, b)
		}
	}
}

func TestSignedInSessionShownAndCorruptCookieIgnored(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	u, err := s.App.Users.Create(ctx, "default", user.NewUser{Email: "p@example.com"}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	var token string
	err = s.App.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		token, _, err = s.App.Sessions.Create(ctx, tx, session.New{TenantID: "default", UserID: u.ID, ACR: session.ACRSingleFactor, AMR: []string{"otp"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(cookie string) string {
		req, _ := http.NewRequest("GET", s.URL+"/t/default/", nil)
		req.AddCookie(&http.Cookie{Name: "gh_session", Value: cookie})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return body(t, resp)
	}
	if b := get(token); !strings.Contains(b, "You are signed in.") {
		t.Fatalf("valid session not recognised: %s", b)
	}
	if b := get(token[:42] + "!"); !strings.Contains(b, "You are not signed in.") {
		t.Fatal("corrupted cookie treated as a session")
	}
	// The same session is not valid in another tenant.
	req, _ := http.NewRequest("GET", s.URL+"/t/system/", nil)
	req.AddCookie(&http.Cookie{Name: "gh_session", Value: token})
	resp, _ := http.DefaultClient.Do(req)
	if b := body(t, resp); !strings.Contains(b, "You are not signed in.") {
		t.Fatal("session of tenant default accepted by tenant system")
	}
	// Locking the user ends the session at once.
	if _, err := s.App.Users.SetStatus(ctx, "default", u.ID, store.UserLocked, "test", audit.System()); err != nil {
		t.Fatal(err)
	}
	if b := get(token); !strings.Contains(b, "You are not signed in.") {
		t.Fatal("session survived locking the user")
	}
}

func TestDevMailboxDeliversAndIsLoopbackOnly(t *testing.T) {
	s := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} }))
	ctx := context.Background()
	err := s.App.Store.InTx(ctx, func(tx store.Tx) error {
		return notify.QueueEmail(ctx, tx, "default", "test:welcome", notify.Email{To: "reader@example.com", Subject: "Welcome <b>aboard</b>", Text: "Hello."}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := s.Get(t, "/dev/mailbox.json")
		b := body(t, resp)
		if resp.StatusCode == 200 && strings.Contains(b, "reader@example.com") {
			var msgs []map[string]any
			if err := json.Unmarshal([]byte(b), &msgs); err != nil || len(msgs) != 1 {
				t.Fatalf("mailbox json %q: %v", b, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail never reached the mailbox: %d %s", resp.StatusCode, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp := s.Get(t, "/dev/mailbox")
	if b := body(t, resp); !strings.Contains(b, "Welcome &lt;b&gt;aboard&lt;/b&gt;") {
		t.Fatalf("mailbox page does not show the escaped subject: %s", b)
	}
	// Through a trusted proxy on behalf of a remote client, the mailbox does not exist.
	req, _ := http.NewRequest("GET", s.URL+"/dev/mailbox", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if b := body(t, r2); r2.StatusCode != 404 || strings.Contains(b, "reader@example.com") {
		t.Fatalf("remote client saw the mailbox: %d", r2.StatusCode)
	}
}

func TestMetricsExposed(t *testing.T) {
	s := apptest.Start(t)
	body(t, s.Get(t, "/t/default/"))
	b := body(t, s.Get(t, "/metrics"))
	for _, want := range []string{
		`gatehouse_http_requests_total{code="200",method="GET",route="GET /t/{tenant}/{$}"}`,
		"gatehouse_http_request_duration_seconds_bucket",
		"gatehouse_outbox_depth",
	} {
		if !strings.Contains(b, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestInvariant8_SecretsNotLogged: the setup link's token, session cookies and
// query-string secrets never reach the logs.
func TestInvariant8_SecretsNotLogged(t *testing.T) {
	s := apptest.Start(t)
	link, err := s.App.SetupLink(context.Background())
	if err != nil || !strings.Contains(link, "/t/system/setup?token=") {
		t.Fatalf("setup link %q %v", link, err)
	}
	token := link[strings.Index(link, "token=")+len("token="):]
	req, _ := http.NewRequest("GET", s.URL+"/t/default/?code=SECRETCODE123&token="+token, nil)
	req.AddCookie(&http.Cookie{Name: "gh_session", Value: "COOKIESECRETVALUE"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	s.Stop()
	logs := s.Logs.String()
	if !strings.Contains(logs, "/t/default/") {
		t.Fatalf("request not logged at all: %s", logs)
	}
	for _, secret := range []string{token, "SECRETCODE123", "COOKIESECRETVALUE"} {
		if strings.Contains(logs, secret) {
			t.Errorf("secret %q found in logs", secret)
		}
	}
	// The token is stored only as its hash.
	var n int
	if err := s.App.DB.SQL().QueryRow(`SELECT COUNT(*) FROM artifacts WHERE hash = ?`, token).Scan(&n); err == nil && n != 0 {
		t.Error("setup token stored in clear")
	}
}

func TestSetupLinkOnlyUntilAnOperatorExists(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	l1, err := s.App.SetupLink(ctx)
	if err != nil || l1 == "" {
		t.Fatalf("no setup link on a fresh node: %q %v", l1, err)
	}
	if _, err := s.App.Users.Create(ctx, "system", user.NewUser{Email: "op@example.com", Roles: []string{user.RoleOperator}}, audit.System()); err != nil {
		t.Fatal(err)
	}
	if l2, err := s.App.SetupLink(ctx); err != nil || l2 != "" {
		t.Fatalf("setup link issued although an operator exists: %q %v", l2, err)
	}
}

func TestSchemaBehindIsRefusedUnlessAutoMigrate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "old.db")
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MigrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	cfg := config.Config{Database: "sqlite:" + path, KEKFile: filepath.Join(dir, "k"), BaseURL: "http://localhost:1", OutboxInterval: time.Second}
	_, err = app.Open(ctx, cfg, app.Options{})
	if err == nil || !strings.Contains(err.Error(), "gatehouse migrate") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("behind schema: err = %v", err)
	}
	cfg.AutoMigrate = true
	a, err := app.Open(ctx, cfg, app.Options{})
	if err != nil {
		t.Fatalf("auto-migrate: %v", err)
	}
	a.Close()
}

func TestDatabaseFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.db")
	db, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("new database file mode %v, want 0600", st.Mode().Perm())
	}
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	s := apptest.Start(t)
	// Many requests in flight while the node stops: each either completes normally or
	// is refused at connect time; none is cut off with a 5xx.
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := 0; i < 40; i++ {
		wg.Go(func() {
			resp, err := http.Get(s.URL + "/t/default/")
			if err != nil {
				var op *net.OpError
				if errors.As(err, &op) {
					return
				}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), "</html>") {
				errs <- resp.Status
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	start := time.Now()
	s.Stop()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("request cut off during shutdown: %s", e)
	}
	if d := time.Since(start); d > 35*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if _, err := http.Get(s.URL + "/healthz"); err == nil {
		t.Error("node still answers after shutdown")
	}
}

func TestDevMailboxOnlyOnLocalBaseURL(t *testing.T) {
	for base, want := range map[string]bool{
		"http://localhost:8080": true, "http://127.0.0.1:8080": true, "http://[::1]:8080": true,
		"https://id.example.com": false, "https://10.0.0.5": false,
	} {
		a := &app.App{Config: config.Config{BaseURL: base}}
		if got := a.DevMailbox(); got != want {
			t.Errorf("DevMailbox(%s) = %v, want %v", base, got, want)
		}
	}
	a := &app.App{Config: config.Config{BaseURL: "http://localhost:8080", SMTPURL: "smtp://mail:25"}}
	if a.DevMailbox() {
		t.Error("dev mailbox served although SMTP is configured")
	}
}
