package tenant_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// FuzzParsePolicy feeds Parse arbitrary documents: it must never panic, and whatever it
// accepts must survive being written out and read back unchanged, because the store
// keeps policies as the documents Marshal produces.
func FuzzParsePolicy(f *testing.F) {
	def, err := json.Marshal(tenant.DefaultPolicy())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(def),
		`{}`,
		``,
		`null`,
		`[]`,
		`{"version": 7}`,
		`{"methods": {"sms": {"sign_in": true, "recovery": true}}}`,
		`{"flows": {"device_code": true}, "device": {"proximity": "off", "interval": "1s", "code_lifetime": "30m"}}`,
		`{"device": {"scope_ceiling": null, "refresh_lifetime": "-5m"}}`,
		`{"device": {"scope_ceiling": []}}`,
		`{"passkeys": {"aaguid_allow_list": [], "origins": [], "rp_id": ""}}`,
		`{"passkeys": {"origins": ["https://id.example"], "rp_id": "example"}}`,
		`{"recovery": {"hold": "0s", "tap_max_lifetime": "1h0m0.000000001s"}}`,
		`{"sessions": {"idle": "1m", "absolute": "2562047h47m16.854775807s"}}`,
		`{"throttles": {"code_tries": 10, "code_sends_per_hour": 9223372036854775807}}`,
		`{"retirement": null}`,
		`{"retirement": {"sms": {"phase": "purged"}}}`,
		`{"retirement": {"email": {"phase": "active"}}}`,
		`{"methods": {"SMS": {"sign_in": true}}}`,
		`{"methods": {"sms": {"sign_in": false, "sign_in": true}}}`,
		`{"recovery": {"hold": "1.5h"}}`,
		`{"recovery": {"hold": 3600}}`,
		`{} {}`,
		`{"sessions": {"nudge_max_skips": 1e2}}`,
		"{\"passkeys\": {\"rp_id\": \"\xff\"}}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := tenant.Parse(doc)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse accepted a policy that does not validate (%v): %s", err, doc)
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("accepted policy does not marshal: %v", err)
		}
		back, err := tenant.Parse(again)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(doc))) = %v\ndoc: %s\nmarshalled: %s", err, doc, again)
		}
		if !reflect.DeepEqual(back, withoutEmptyOrigins(p)) {
			t.Fatalf("policy changed on a round trip\ndoc:  %s\nfirst: %+v\nthen:  %+v", doc, p, back)
		}
	})
}

// withoutEmptyOrigins treats an empty origin list like an absent one: documents omit
// "origins" when it is empty, and both mean "the base URL's origin".
func withoutEmptyOrigins(p tenant.Policy) tenant.Policy {
	if len(p.Passkeys.Origins) == 0 {
		p.Passkeys.Origins = nil
	}
	return p
}
