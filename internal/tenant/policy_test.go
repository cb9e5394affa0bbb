package tenant_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func TestDefaultPolicyIsValidAndSecure(t *testing.T) {
	p := tenant.DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatalf("DefaultPolicy().Validate() = %v, want nil", err)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"passkey sign-in", p.Methods.Passkey.SignIn, true},
		{"passkey enrollment", p.Methods.Passkey.Enroll, true},
		{"email-code recovery", p.Methods.EmailCode.Recovery, true},
		{"email-code sign-in (method)", p.Methods.EmailCode.SignIn, false},
		{"email-code sign-in (flow)", p.Flows.EmailCodeSignIn, false},
		{"SMS", p.Methods.SMS, tenant.Method{}},
		{"password", p.Methods.Password, tenant.Method{}},
		{"TAP as a sign-in method of its own", p.Methods.TAP.SignIn, false},
		{"device grant", p.Flows.DeviceCode, false},
		{"device proximity", p.Device.Proximity, "require"},
		{"device code lifetime", p.Device.CodeLifetime.D(), 10 * time.Minute},
		{"device poll interval", p.Device.Interval.D(), 5 * time.Second},
		{"recovery hold", p.Recovery.Hold.D(), 24 * time.Hour},
		{"privileged self-service recovery", p.Recovery.PrivilegedSelfService, false},
		{"TAP two-person rule for privileged users", p.Recovery.TAPPrivilegedTwoPersons, true},
		{"code tries", p.Throttles.CodeTries, 5},
		{"device code entries", p.Throttles.DeviceCodeEntries, 5},
		{"user verification", p.Passkeys.UserVerification, "required"},
		{"step-up freshness", p.Sessions.StepUpAge.D(), 5 * time.Minute},
		{"SMS retirement phase", p.Retirement["sms"].Phase, "active"},
		{"password retirement phase", p.Retirement["password"].Phase, "active"},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("default %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if tap := p.Recovery.TAPMaxLifetime.D(); tap <= 0 || tap > time.Hour {
		t.Errorf("default TAP lifetime = %v, want at most 1h", tap)
	}
	// Every call returns a fresh document: changing one tenant's copy must not leak
	// into the next tenant's defaults.
	p.Retirement["sms"] = tenant.Retirement{Phase: "disabled"}
	p.Device.ScopeCeiling[0] = "admin"
	if q := tenant.DefaultPolicy(); q.Retirement["sms"].Phase != "active" || q.Device.ScopeCeiling[0] != "openid" {
		t.Errorf("DefaultPolicy shares state between calls: %+v", q)
	}
}

func TestParseKeepsDefaultsForMissingFields(t *testing.T) {
	p, err := tenant.Parse([]byte(`{"methods": {"sms": {"sign_in": true}}, "retirement": {"sms": {"phase": "nudge"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := tenant.DefaultPolicy()
	want.Methods.SMS.SignIn = true
	want.Retirement["sms"] = tenant.Retirement{Phase: "nudge"}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Parse(partial document) = %+v\nwant defaults with only SMS sign-in and its phase changed: %+v", p, want)
	}
	empty, err := tenant.Parse([]byte(" {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(empty, tenant.DefaultPolicy()) {
		t.Errorf("Parse({}) = %+v, want the default policy", empty)
	}
}

func TestParseAcceptsBoundaries(t *testing.T) {
	for _, doc := range []string{
		`{"device": {"code_lifetime": "1m", "interval": "1s"}}`,
		`{"device": {"code_lifetime": "30m", "interval": "1m", "proximity": "off"}}`,
		`{"device": {"proximity": "warn"}}`,
		`{"recovery": {"hold": "0s", "tap_max_lifetime": "1m"}}`,
		`{"recovery": {"hold": "720h"}}`,
		`{"sessions": {"idle": "1m", "absolute": "1m", "step_up_max_age": "30s", "nudge_max_skips": 0}}`,
		`{"sessions": {"step_up_max_age": "1h"}}`,
		`{"throttles": {"code_tries": 1, "device_code_entries": 1, "account_failure_lock": 1, "code_lifetime": "1m"}}`,
		`{"throttles": {"code_tries": 10, "device_code_entries": 10, "account_failure_lock": 100, "code_lifetime": "24h"}}`,
		`{"passkeys": {"attestation": "direct", "sign_count_regression": "refuse"}}`,
		`{"retirement": {"sms": {"phase": "purged"}, "password": {"phase": "recovery_only"}}}`,
	} {
		if _, err := tenant.Parse([]byte(doc)); err != nil {
			t.Errorf("Parse(%s) = %v, want it accepted", doc, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		// field must appear in the error so an operator knows what to fix.
		field string
	}{
		// Document shape.
		{"empty document", ``, "policy document"},
		{"not an object", `[]`, "policy document"},
		{"null", `null`, "policy document"},
		{"unknown top-level field", `{"mfa": true}`, `"mfa"`},
		{"unknown nested field", `{"methods": {"push": {"sign_in": true}}}`, `"push"`},
		{"wrong type", `{"methods": {"sms": {"sign_in": "yes"}}}`, "methods.sms.sign_in"},
		{"trailing document", `{} {"methods": {"sms": {"sign_in": true}}}`, "policy document"},
		{"trailing garbage", `{}x`, "policy document"},
		// Field names that only encoding/json's case-insensitive matching would accept:
		// another reader of the document would not see the same policy.
		{"field in another case", `{"methods": {"SMS": {"sign_in": true}}}`, `"SMS"`},
		{"field spelled with a Unicode fold", `{"methods": {"ſms": {"sign_in": true}}}`, `"ſms"`},
		{"field repeated", `{"methods": {"sms": {"sign_in": false, "sign_in": true}}}`, "methods.sms.sign_in"},
		{"object repeated", `{"methods": {"sms": {"sign_in": true}}, "methods": {}}`, "methods"},
		{"field repeated in another case", `{"methods": {"sms": {"sign_in": false, "Sign_In": true}}}`, `"Sign_In"`},
		// Durations.
		{"duration without unit", `{"recovery": {"hold": "24"}}`, "recovery.hold"},
		{"duration as a number", `{"device": {"interval": 5}}`, "device.interval"},
		{"duration garbage", `{"throttles": {"code_lifetime": "ten minutes"}}`, "throttles.code_lifetime"},
		{"duration null", `{"sessions": {"idle": null}}`, "sessions.idle"},
		// One row per Validate rule.
		{"user verification not required", `{"passkeys": {"user_verification": "preferred"}}`, "passkeys.user_verification"},
		{"unknown attestation", `{"passkeys": {"attestation": "indirect"}}`, "passkeys.attestation"},
		{"unknown sign-count handling", `{"passkeys": {"sign_count_regression": "ignore"}}`, "passkeys.sign_count_regression"},
		{"unknown proximity mode", `{"device": {"proximity": "nearby"}}`, "device.proximity"},
		{"device code lifetime too short", `{"device": {"code_lifetime": "59s"}}`, "device.code_lifetime"},
		{"device code lifetime too long", `{"device": {"code_lifetime": "31m"}}`, "device.code_lifetime"},
		{"device refresh lifetime zero", `{"device": {"refresh_lifetime": "0s"}}`, "device.refresh_lifetime"},
		{"device refresh lifetime too long", `{"device": {"refresh_lifetime": "721h"}}`, "device.refresh_lifetime"},
		{"device interval too short", `{"device": {"interval": "999ms"}}`, "device.interval"},
		{"device interval too long", `{"device": {"interval": "61s"}}`, "device.interval"},
		{"negative hold", `{"recovery": {"hold": "-1s"}}`, "recovery.hold"},
		{"hold too long", `{"recovery": {"hold": "721h"}}`, "recovery.hold"},
		{"TAP lifetime too short", `{"recovery": {"tap_max_lifetime": "59s"}}`, "recovery.tap_max_lifetime"},
		{"TAP lifetime too long", `{"recovery": {"tap_max_lifetime": "25h"}}`, "recovery.tap_max_lifetime"},
		{"idle too short", `{"sessions": {"idle": "59s"}}`, "sessions.idle"},
		{"idle longer than absolute", `{"sessions": {"idle": "2h", "absolute": "1h"}}`, "sessions.absolute"},
		{"step-up age too short", `{"sessions": {"step_up_max_age": "29s"}}`, "sessions.step_up_max_age"},
		{"step-up age too long", `{"sessions": {"step_up_max_age": "61m"}}`, "sessions.step_up_max_age"},
		{"negative nudge skips", `{"sessions": {"nudge_max_skips": -1}}`, "sessions.nudge_max_skips"},
		{"no code tries", `{"throttles": {"code_tries": 0}}`, "throttles.code_tries"},
		{"too many code tries", `{"throttles": {"code_tries": 11}}`, "throttles.code_tries"},
		{"no code sends", `{"throttles": {"code_sends_per_hour": 0}}`, "throttles.code_sends_per_hour"},
		{"no IP attempts", `{"throttles": {"ip_attempts_per_hour": 0}}`, "throttles.ip_attempts_per_hour"},
		{"code lifetime too short", `{"throttles": {"code_lifetime": "59s"}}`, "throttles.code_lifetime"},
		{"code lifetime too long", `{"throttles": {"code_lifetime": "25h"}}`, "throttles.code_lifetime"},
		{"no device code entries", `{"throttles": {"device_code_entries": 0}}`, "throttles.device_code_entries"},
		{"too many device code entries", `{"throttles": {"device_code_entries": 11}}`, "throttles.device_code_entries"},
		{"no account failure lock", `{"throttles": {"account_failure_lock": 0}}`, "throttles.account_failure_lock"},
		{"account failure lock too high", `{"throttles": {"account_failure_lock": 101}}`, "throttles.account_failure_lock"},
		{"passkey sign-in off", `{"methods": {"passkey": {"sign_in": false}}}`, "methods.passkey.sign_in"},
		{"retiring passkeys", `{"retirement": {"passkey": {"phase": "disabled"}}}`, "retirement.passkey"},
		{"unknown retirement phase", `{"retirement": {"sms": {"phase": "gone"}}}`, "retirement.sms.phase"},
		{"empty retirement phase", `{"retirement": {"password": {}}}`, "retirement.password.phase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tenant.Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse(%s) accepted the document", tc.doc)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Parse(%s) = %q, want the error to name %s", tc.doc, err, tc.field)
			}
			if !errors.Is(err, tenant.ErrInvalid) {
				t.Errorf("Parse(%s) = %v, want an error wrapping tenant.ErrInvalid (safe to show)", tc.doc, err)
			}
			if !reflect.DeepEqual(p, tenant.Policy{}) {
				t.Errorf("Parse(%s) returned a policy with its error: %+v", tc.doc, p)
			}
		})
	}
}

func TestPolicyJSONRoundTrip(t *testing.T) {
	p := tenant.DefaultPolicy()
	p.Device.Proximity = "warn"
	p.Recovery.Hold = tenant.Duration(90 * time.Minute)
	p.Passkeys.Attestation, p.Passkeys.AAGUIDAllowList = "direct", []string{"ee882879-721c-4913-9775-3dfcce97072a"}
	doc, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), `"hold":"1h30m0s"`) {
		t.Errorf("durations should read as text in documents, got %s", doc)
	}
	back, err := tenant.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("Parse(Marshal(p)) = %+v, want %+v", back, p)
	}
}

func TestAAGUIDAllowListNeedsAttestation(t *testing.T) {
	p := tenant.DefaultPolicy()
	p.Passkeys.AAGUIDAllowList = []string{"ee882879-721c-4913-9775-3dfcce97072a"}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "aaguid_allow_list") {
		t.Fatalf("allow-list without attestation accepted: %v", err)
	}
	p.Passkeys.Attestation = "direct"
	if err := p.Validate(); err != nil {
		t.Fatalf("allow-list with attestation refused: %v", err)
	}
}
