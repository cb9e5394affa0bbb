package adminapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzRequestBodies feeds arbitrary bytes to the parsers of request bodies: they must
// answer with an *Error or accept, never panic, and a merge patch applied twice must
// give what it gave once (RFC 7396 patches are idempotent).
func FuzzRequestBodies(f *testing.F) {
	for _, seed := range []string{
		`{"client_name": "x", "grant_types": ["client_credentials"]}`,
		`{"flows": {"device_code": true}, "device": {"proximity": null}}`,
		`{"a": {"b": {"c": [1, {"d": null}]}}}`,
		`{"client_name": "a", "client_name": "b"}`,
		`{"Flows": {}}`, `[]`, `null`, `{} {}`, `{"x": 1e400}`, "{\"\xff\": 1}", `{"a":`,
	} {
		f.Add([]byte(seed))
	}
	target := map[string]any{"flows": map[string]any{"device_code": false}, "version": json.Number("3")}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := checkObject(b, fieldNames(&clientInput{})); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("checkObject returned %T", err)
			}
		}
		if err := checkPatchNames(b); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("checkPatchNames returned %T", err)
			}
		}
		patch, err := decodeValue(b)
		if err != nil {
			return
		}
		once := mergePatch(deepCopy(t, target), patch)
		twice := mergePatch(mergePatch(deepCopy(t, target), patch), patch)
		if !reflect.DeepEqual(once, twice) {
			t.Fatalf("patch %s is not idempotent: %v then %v", b, once, twice)
		}
	})
}

func deepCopy(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeValue(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
