package adminapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/adminapi"
)

// TestOpenAPIDescribesEveryRoute keeps the hand-written description and the mounted
// routes in step, both ways.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Servers []struct{ URL string }                `json:"servers"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(adminapi.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") || len(doc.Servers) != 1 || doc.Servers[0].URL != adminapi.Prefix {
		t.Fatalf("openapi %q, servers %+v", doc.OpenAPI, doc.Servers)
	}
	routes := (&adminapi.Handlers{}).Routes()
	if len(routes) < 12 {
		t.Fatalf("only %d routes: %v", len(routes), routes)
	}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		path = strings.TrimPrefix(path, adminapi.Prefix)
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("route %s is not in openapi.json", rt)
			continue
		}
		var o struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
		}
		if err := json.Unmarshal(op, &o); err != nil || o.OperationID == "" || len(o.Responses) == 0 {
			t.Errorf("%s: operation lacks an operationId or responses", rt)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if rt := strings.ToUpper(method) + " " + adminapi.Prefix + path; !slices.Contains(routes, rt) {
				t.Errorf("openapi.json describes %s, which is not mounted", rt)
			}
		}
	}
}

func TestOpenAPIServedWithoutCredentials(t *testing.T) {
	s := start(t)
	r := (&caller{s: s, http: s.Client}).do(t, "GET", "/openapi.json", nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"openapi": "3.1.0"`) ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %.200s", r.Status, r.Body)
	}
}
