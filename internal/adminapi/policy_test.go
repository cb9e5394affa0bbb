package adminapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

type policyResult struct {
	Policy          tenant.Policy `json:"policy"`
	PreviousVersion int           `json:"previous_version"`
	Changed         bool          `json:"changed"`
	Warnings        []string      `json:"warnings"`
}

func TestPolicyChangesWarnAndAreAudited(t *testing.T) {
	s := start(t)
	adminID, tok := adminToken(t, s, tenant.System)
	c := withToken(s, tok)

	r := c.do(t, "GET", "/tenants/default/policy", nil)
	expect(t, "get", r, http.StatusOK, `"version":1`, `"device_code":false`)
	var cur tenant.Policy
	r.JSON(t, &cur)

	// One flag, by merge patch: the device-code phishing warning comes back.
	r = c.do(t, "PATCH", "/tenants/default/policy", `{"flows": {"device_code": true}}`, "Content-Type", "application/merge-patch+json")
	expect(t, "enable device_code", r, http.StatusOK)
	var res policyResult
	r.JSON(t, &res)
	if !res.Changed || res.PreviousVersion != 1 || res.Policy.Version != 2 || !res.Policy.Flows.DeviceCode ||
		len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "device-code phishing") {
		t.Fatalf("patch result = %+v", res)
	}
	// Nothing else moved.
	if res.Policy.Device.Proximity != "require" || !res.Policy.Flows.AuthorizationCode {
		t.Errorf("patch changed other settings: %+v", res.Policy)
	}
	evs := events(t, s, tenant.Default, audit.PolicyChanged)
	last := evs[len(evs)-1]
	var d struct {
		Version  int      `json:"version"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(last.Details, &d); err != nil {
		t.Fatal(err)
	}
	if last.ActorType != audit.ActorClient || last.ActorID != adminID || last.Severity != audit.Medium ||
		d.Version != 2 || len(d.Warnings) != 1 || d.Warnings[0] != res.Warnings[0] {
		t.Errorf("policy.changed = %s:%s %s %+v", last.ActorType, last.ActorID, last.Severity, d)
	}

	// The same patch again changes nothing and stores nothing.
	r = c.do(t, "PATCH", "/tenants/default/policy", map[string]any{"flows": map[string]any{"device_code": true}})
	r.JSON(t, &res)
	if res.Changed || res.Policy.Version != 2 || len(res.Warnings) != 0 {
		t.Errorf("repeated patch = %+v", res)
	}

	// PUT replaces the document; fields left out take their defaults.
	r = c.do(t, "PUT", "/tenants/default/policy", map[string]any{
		"device": map[string]any{"proximity": "off"}, "recovery": map[string]any{"privileged_self_service": true},
	})
	expect(t, "put", r, http.StatusOK, "device.proximity is off", "privileged_self_service")
	r.JSON(t, &res)
	if res.Policy.Version != 3 || res.Policy.Flows.DeviceCode || res.Policy.Device.Proximity != "off" {
		t.Errorf("put result = %+v", res.Policy)
	}
	// Email-code sign-in by patch, naming the risk.
	r = c.do(t, "PATCH", "/tenants/default/policy", `{"flows":{"email_code_sign_in":true},"methods":{"email_code":{"sign_in":true}}}`)
	expect(t, "email code", r, http.StatusOK, "email-code sign-in is on")

	// A change made against an older version is refused; against the current one it applies.
	expectError(t, "stale put", c.do(t, "PUT", "/tenants/default/policy", map[string]any{"version": 2}), http.StatusConflict, "conflict")
	expectError(t, "stale patch", c.do(t, "PATCH", "/tenants/default/policy", `{"version": 3, "flows": {"device_code": false}}`),
		http.StatusConflict, "conflict")
	expect(t, "current patch", c.do(t, "PATCH", "/tenants/default/policy", `{"version": 4, "device": {"proximity": "require"}}`), http.StatusOK)

	// Invalid documents get the validation sentence and change nothing.
	for _, tc := range []struct {
		name, method, body, want string
	}{
		{"bad value", "PATCH", `{"device": {"proximity": "sometimes"}}`, "device.proximity must be off, warn or require"},
		{"unknown field", "PATCH", `{"flows": {"devise_code": true}}`, "devise_code"},
		{"field in another case", "PATCH", `{"Flows": {"device_code": true}}`, "Flows"},
		{"repeated field", "PATCH", `{"flows": {"device_code": true}, "flows": {"device_code": false}}`, "more than once"},
		{"wrong type", "PATCH", `{"flows": {"device_code": "yes"}}`, "flows.device_code"},
		{"bad duration", "PATCH", `{"recovery": {"hold": "two days"}}`, "recovery.hold"},
		{"not an object", "PATCH", `[1, 2]`, "JSON object"},
		{"unknown field in put", "PUT", `{"colour": "blue"}`, "colour"},
		{"passkey sign-in off", "PUT", `{"methods": {"passkey": {"sign_in": false}}}`, "cannot be turned off"},
		{"two documents", "PUT", `{} {}`, "after the JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(t, tc.method, "/tenants/default/policy", tc.body)
			if desc := expectError(t, tc.name, r, http.StatusBadRequest, "invalid_request"); !strings.Contains(desc, tc.want) {
				t.Errorf("%s: %q, want it to contain %q", tc.name, desc, tc.want)
			}
		})
	}
	if p, err := s.App.Tenants.Policy(context.Background(), tenant.Default); err != nil || p.Version != 5 {
		t.Errorf("policy after refusals: v%d %v, want v5", p.Version, err)
	}
}
