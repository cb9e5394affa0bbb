package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// TestInvariant10_HostileInputAcrossEndpoints sends malformed and hostile requests to
// every capability's endpoints, signed out and signed in: none may answer 5xx or show
// internals.
func TestInvariant10_HostileInputAcrossEndpoints(t *testing.T) {
	// The per-IP limit would answer most of these with 429 before any handler ran.
	s := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.RateLimit = 0 }))
	// Every flow on, so the device and email-code handlers do their real work.
	s.SetPolicy(t, "default", func(p *tenant.Policy) { p.Flows.DeviceCode, p.Flows.EmailCodeSignIn = true, true })
	signedIn := s.NewPerson("default")
	signedIn.SignUp(t, "Tester")
	anon := s.NewPerson("default")

	bodies := []string{"", "{}", "null", "[]", `{"a":`, "\xff\xfe", strings.Repeat("[", 5000), `{"id":"x","rawId":"!!","type":"public-key","response":{}}`,
		"a=%zz&b=\xff", "grant_type=authorization_code&code=" + strings.Repeat("x", 5000), "token=abc&token_type_hint=refresh_token"}
	types := []string{"application/json", "application/x-www-form-urlencoded", "text/plain"}
	posts := []string{
		"api/passkey/login/begin", "api/passkey/login/finish", "api/passkey/register/begin", "api/passkey/register/finish",
		"api/passkey/stepup/begin", "api/passkey/stepup/finish", "api/passkey/credentials/nope/name", "api/passkey/credentials/nope/delete",
		"signin/email", "signin/code", "signup", "signup/verify", "nudge", "setup",
		"account/passkeys/nope/rename", "account/passkeys/nope/remove", "account/emails", "account/emails/verify",
		"account/emails/nope/primary", "account/emails/nope/remove", "account/sessions/nope/revoke", "account/sessions/revoke-others",
		"account/apps", "oauth2/token", "oauth2/introspect", "oauth2/revoke", "oauth2/par", "oauth2/userinfo", "oauth2/authorize",
		"oauth2/logout", "oauth2/device_authorization",
		"recover", "recover/code", "recover/saved-code", "recover/tap", "recover/not-me", "account/recovery-codes",
		"account/apps/nope/revoke", "device", "device/decide",
		"signout", // last: it ends the signed-in person's session
	}
	gets := []string{
		"signin?next=//evil.example&login_hint=%00%ff", "signup?next=javascript:alert(1)", "signup/passkey", "nudge?next=/t/other/x",
		"account", "account/apps", "setup?token=" + strings.Repeat("A", 43), "setup?token=%ff",
		"api/passkey/credentials", "oauth2/authorize", "oauth2/authorize?client_id=nope&redirect_uri=https://evil.example&response_type=code",
		"oauth2/authorize?client_id=" + strings.Repeat("x", 3000), "oauth2/authorize/resume?id=nope", "oauth2/userinfo",
		"oauth2/logout?id_token_hint=abc.def.ghi&post_logout_redirect_uri=https://evil.example", "jwks.json",
		".well-known/openid-configuration",
		"recover?next=//evil.example", "recover/done", "recover/passkey", "recover/tap", "recover/not-me?token=%ff",
		"recover/not-me?token=" + strings.Repeat("A", 5000), "account/recovery-codes", "device", "device?user_code=%ff",
		"device?user_code=" + strings.Repeat("B", 3000),
	}
	statuses := map[int]int{}
	check := func(p *apptest.Person, method, path, ctype, body string) {
		t.Helper()
		for _, tenant := range []string{"default", "nope", "system"} {
			req, err := http.NewRequest(method, s.URL+"/t/"+tenant+"/"+path, strings.NewReader(body))
			if err != nil {
				continue // a path the client itself refuses to send
			}
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			req.Header.Set("Authorization", "Bearer not.a.token")
			req.Header.Set("DPoP", "garbage")
			resp, err := p.Client.Do(req)
			if err != nil {
				continue
			}
			buf := make([]byte, 64<<10)
			n, _ := resp.Body.Read(buf)
			resp.Body.Close()
			b := string(buf[:n])
			statuses[resp.StatusCode]++
			if resp.StatusCode >= 500 {
				t.Errorf("%s /t/%s/%.80s (%s, %.20q): %d %.300s", method, tenant, path, ctype, body, resp.StatusCode, b)
			}
			if strings.Contains(b, "goroutine ") || strings.Contains(b, "runtime error") {
				t.Errorf("%s /t/%s/%.80s leaks internals", method, tenant, path)
			}
		}
	}
	// The admin API, outside any tenant's path, with the same bodies, before the
	// signed-in person signs out at the end of the tenant paths.
	admin := []string{"tenants", "tenants/default", "tenants/nope/clients", "tenants/default/clients",
		"tenants/default/clients/nope", "tenants/default/clients/nope/secret", "tenants/default/policy",
		"tenants/default/taps", "tenants/default/taps/nope/approve", "tenants/default/taps/nope/revoke",
		"tenants/default/users/nope/end-hold", "openapi.json", "tenants/%ff", strings.Repeat("x/", 2000)}
	for _, p := range []*apptest.Person{anon, signedIn} {
		for _, path := range admin {
			for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
				for _, b := range bodies {
					req, err := http.NewRequest(method, s.URL+"/admin/api/v1/"+path, strings.NewReader(b))
					if err != nil {
						continue
					}
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Origin", s.URL)
					resp, err := p.Client.Do(req)
					if err != nil {
						continue
					}
					buf := make([]byte, 64<<10)
					n, _ := resp.Body.Read(buf)
					resp.Body.Close()
					statuses[resp.StatusCode]++
					if resp.StatusCode >= 500 || strings.Contains(string(buf[:n]), "goroutine ") {
						t.Errorf("%s /admin/api/v1/%.80s (%.20q): %d %.300s", method, path, b, resp.StatusCode, buf[:n])
					}
				}
			}
		}
	}
	for _, p := range []*apptest.Person{anon, signedIn} {
		for _, path := range gets {
			check(p, "GET", path, "", "")
		}
		for _, path := range posts {
			for _, ct := range types {
				for _, b := range bodies {
					check(p, "POST", path, ct, b)
				}
			}
		}
	}
	if statuses[http.StatusTooManyRequests] > 200 {
		t.Errorf("most requests were rate limited, so handlers were not exercised: %v", statuses)
	}
	t.Logf("statuses: %v", statuses)
}
