package device_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/config"
)

// TestHostileInputToDeviceEndpoints: invariant 10 on a tenant with the device flow on.
// Malformed and hostile requests to the device endpoints, signed out and signed in,
// get a 4xx (or a page), never a 5xx or internal detail.
func TestHostileInputToDeviceEndpoints(t *testing.T) {
	e := newEnv(t, envOpts{server: []apptest.Option{apptest.WithConfig(func(c *config.Config) { c.RateLimit = 0 })}})
	signedIn := e.s.NewPerson(tenantID)
	signedIn.SignUp(t, "Tester")
	anon := e.s.NewPerson(tenantID)
	id := e.client.ID
	bodies := []string{"", "{}", "\xff\xfe", "a=%zz&b=\xff", "user_code=" + strings.Repeat("B", 5000),
		"user_code=BCDF-GHJK&decision=approve", "user_code=%00%ff&decision=maybe", "client_id=" + id + "&scope=" + strings.Repeat("x", 5000),
		"client_id=" + id + "&scope=openid%20gatehouse:admin", "client_id=nope", "client_id=" + id + "&client_secret=x",
		"grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=" + id + "&device_code=" + strings.Repeat("x", 5000),
		"grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=" + id,
		"grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=nope&device_code=abc"}
	paths := []string{"oauth2/device_authorization", "oauth2/token", "device", "device/decide"}
	for _, p := range []*apptest.Person{anon, signedIn} {
		for _, path := range paths {
			for _, body := range bodies {
				for _, ctype := range []string{"application/x-www-form-urlencoded", "application/json"} {
					req, _ := http.NewRequest(http.MethodPost, e.issuer()+"/"+path, strings.NewReader(body))
					req.Header.Set("Content-Type", ctype)
					resp, err := p.Client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode >= 500 || strings.Contains(string(b), "goroutine") || strings.Contains(string(b), "sql") {
						t.Errorf("POST %s %q: %d\n%s", path, body[:min(len(body), 60)], resp.StatusCode, b)
					}
				}
			}
		}
		for _, q := range []string{"", "?user_code=%ff", "?user_code=" + strings.Repeat("B", 3000), "?user_code=<script>"} {
			resp, err := p.Client.Get(e.issuer() + "/device" + q)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 || strings.Contains(string(b), "<script>") {
				t.Errorf("GET device%s: %d", q, resp.StatusCode)
			}
		}
	}
}
