package adminapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// TestHostileInput sends what a careless script or an attacker would, and checks each
// gets a 4xx JSON error that says what is wrong, never a 5xx.
func TestHostileInput(t *testing.T) {
	s := start(t)
	_, tok := adminToken(t, s, tenant.System)
	c := withToken(s, tok)
	huge := `{"client_name": "` + strings.Repeat("a", 2<<20) + `"}`

	for _, tc := range []struct {
		name, method, path string
		body               any
		header             []string
		status             int
		want               string
	}{
		{"malformed JSON", "POST", "/tenants/default/clients", `{"client_name": `, nil, 400, "not valid JSON"},
		{"not an object", "POST", "/tenants/default/clients", `["client_name"]`, nil, 400, "one JSON object"},
		{"empty body", "POST", "/tenants/default/clients", "", nil, 400, "one JSON object"},
		{"trailing data", "POST", "/tenants/default/clients", `{"client_name": "x"} {"client_name": "y"}`, nil, 400, "after the JSON object"},
		{"unknown field", "POST", "/tenants/default/clients", `{"client_name": "x", "is_admin": true}`, nil, 400, `unknown field \"is_admin\"`},
		{"read-only field", "PATCH", "/tenants/default/clients/x", `{"client_secret": "mine"}`, nil, 400, "unknown field"},
		{"field in another case", "POST", "/tenants/default/clients", `{"Client_Name": "x"}`, nil, 400, "unknown field"},
		{"repeated field", "POST", "/tenants/default/clients", `{"client_name": "a", "client_name": "b"}`, nil, 400, "more than once"},
		{"wrong type", "POST", "/tenants/default/clients", `{"client_name": 7}`, nil, 400, "client_name"},
		{"invalid UTF-8", "POST", "/tenants/default/clients", "{\"client_name\": \"\xff\xfe\", \"grant_types\": [\"client_credentials\"]}", nil, 400, "not valid UTF-8"},
		{"invalid UTF-8 in a policy", "PATCH", "/tenants/default/policy", "{\"retirement\": {\"sms\": {\"phase\": \"\xff\"}}}", nil, 400, "not valid UTF-8"},
		{"huge body", "POST", "/tenants/default/clients", huge, nil, 413, "larger than"},
		{"huge policy", "PUT", "/tenants/default/policy", huge, nil, 413, "larger than"},
		{"form body", "POST", "/tenants/default/clients", "client_name=x", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"no content type", "PUT", "/tenants/default/policy", "{}", []string{"Content-Type", ""}, 415, "application/json"},
		{"wrong method", "PUT", "/tenants/default/clients", "{}", nil, 405, "use GET, HEAD, POST"},
		{"wrong method on a client", "POST", "/tenants/default/clients/x", "{}", nil, 405, "DELETE, GET, HEAD, PATCH"},
		{"wrong method on tenants", "DELETE", "/tenants", nil, nil, 405, "GET, HEAD"},
		{"unknown path", "GET", "/users", nil, nil, 404, "no admin API endpoint"},
		{"deep unknown path", "GET", "/tenants/default/clients/x/y/z", nil, nil, 404, "no admin API endpoint"},
		{"deeply nested patch", "PATCH", "/tenants/default/policy", strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000), nil, 400, ""},
		{"null policy", "PUT", "/tenants/default/policy", "null", nil, 400, "JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(t, tc.method, tc.path, tc.body, tc.header...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", r.Status, tc.status, r.Body)
			}
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == "" || e.Description == "" {
				t.Fatalf("not a JSON error: %.300s", r.Body)
			}
			if !strings.Contains(string(r.Body), tc.want) {
				t.Errorf("body %.300s, want it to contain %q", r.Body, tc.want)
			}
		})
	}
	// Allow names what would have worked.
	r := c.do(t, "PUT", "/tenants/default/clients", "{}")
	if got := r.Header.Get("Allow"); got != "GET, HEAD, POST" {
		t.Errorf("Allow = %q", got)
	}
	if strings.Contains(s.Logs.String(), "admin API request failed") {
		t.Errorf("hostile input was logged as a server failure:\n%s", s.Logs.String())
	}
}
