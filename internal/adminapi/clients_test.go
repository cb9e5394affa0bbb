package adminapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func TestClientLifecycleWithSystemToken(t *testing.T) {
	for _, backend := range []struct {
		name string
		opts func(t *testing.T) []apptest.Option
	}{
		{"sqlite", func(*testing.T) []apptest.Option { return nil }},
		{"postgres", func(t *testing.T) []apptest.Option {
			return []apptest.Option{apptest.WithDatabase(apptest.FreshPostgres(t))}
		}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			s := start(t, backend.opts(t)...)
			clientLifecycle(t, s)
		})
	}
}

func clientLifecycle(t *testing.T, s *apptest.Server) {
	adminID, tok := adminToken(t, s, tenant.System)
	c := withToken(s, tok)

	// Create a service client in the default tenant; its secret is shown once.
	r := c.do(t, "POST", "/tenants/default/clients", map[string]any{
		"client_name": "Billing sync", "grant_types": []string{"client_credentials"}, "scopes": []string{"billing.read"},
	})
	expect(t, "create", r, http.StatusCreated)
	var created client.View
	r.JSON(t, &created)
	if created.ClientID == "" || created.Tenant != "default" || created.Secret == "" || !created.HasSecret ||
		created.Name != "Billing sync" || strings.Join(created.GrantTypes, " ") != "client_credentials" {
		t.Fatalf("created = %+v", created)
	}
	if loc := r.Header.Get("Location"); loc != api+"/tenants/default/clients/"+created.ClientID {
		t.Errorf("Location = %q", loc)
	}
	// The secret works at the default tenant's token endpoint.
	cc := clientcredentials.Config{ClientID: created.ClientID, ClientSecret: created.Secret,
		TokenURL: s.URL + "/t/default/oauth2/token", Scopes: []string{"billing.read"}}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatalf("the new client's secret does not work: %v", err)
	}

	// It is listed and shown, never with its secret.
	r = c.do(t, "GET", "/tenants/default/clients", nil)
	expect(t, "list", r, http.StatusOK, created.ClientID)
	if strings.Contains(string(r.Body), created.Secret) {
		t.Error("the list shows the secret")
	}
	var list struct {
		Clients []client.View `json:"clients"`
	}
	r.JSON(t, &list)
	if len(list.Clients) != 1 || list.Clients[0].ClientID != created.ClientID {
		t.Errorf("list = %+v", list)
	}
	r = c.do(t, "GET", "/tenants/default/clients/"+created.ClientID, nil)
	expect(t, "show", r, http.StatusOK, `"client_name":"Billing sync"`, `"has_secret":true`)
	if strings.Contains(string(r.Body), "client_secret\"") {
		t.Errorf("show includes a secret: %s", r.Body)
	}

	// Update: the name and the scopes change, the rest stays.
	r = c.do(t, "PATCH", "/tenants/default/clients/"+created.ClientID, map[string]any{
		"client_name": "Billing export", "scopes": []string{"billing.read", "billing.write"},
	})
	expect(t, "update", r, http.StatusOK)
	var updated client.View
	r.JSON(t, &updated)
	if updated.Name != "Billing export" || strings.Join(updated.Scopes, " ") != "billing.read billing.write" ||
		strings.Join(updated.GrantTypes, " ") != "client_credentials" || updated.Secret != "" {
		t.Errorf("updated = %+v", updated)
	}
	// Gaining the admin scope is a risk the response names.
	r = c.do(t, "PATCH", "/tenants/default/clients/"+created.ClientID, map[string]any{"scopes": []string{client.AdminScope}})
	expect(t, "grant the admin scope", r, http.StatusOK, "administer the tenant")

	// Rotation: a new secret, once; the old one stops working.
	r = c.do(t, "POST", "/tenants/default/clients/"+created.ClientID+"/secret", nil)
	expect(t, "rotate", r, http.StatusOK)
	var rotated client.View
	r.JSON(t, &rotated)
	if rotated.Secret == "" || rotated.Secret == created.Secret {
		t.Fatalf("rotated secret = %q", rotated.Secret)
	}
	if _, err := cc.Token(context.Background()); err == nil {
		t.Error("the old secret still works after rotation")
	}

	// Delete: gone for good.
	r = c.do(t, "DELETE", "/tenants/default/clients/"+created.ClientID, nil)
	expect(t, "delete", r, http.StatusOK, `"deleted":true`)
	expectError(t, "show deleted", c.do(t, "GET", "/tenants/default/clients/"+created.ClientID, nil), http.StatusNotFound, "not_found")
	expectError(t, "delete again", c.do(t, "DELETE", "/tenants/default/clients/"+created.ClientID, nil), http.StatusNotFound, "not_found")

	// Every change is audited in the default tenant as the system tenant's client,
	// with where the request came from.
	for _, typ := range []string{audit.ClientCreated, audit.ClientUpdated, audit.ClientSecretRotated, audit.ClientDeleted} {
		evs := events(t, s, tenant.Default, typ)
		if len(evs) == 0 {
			t.Errorf("no %s event", typ)
			continue
		}
		e := evs[0]
		if e.ActorType != audit.ActorClient || e.ActorID != adminID || e.TargetID != created.ClientID ||
			e.IP != "127.0.0.1" || e.UserAgent != "gatehouse-admin-test/1.0" {
			t.Errorf("%s: actor %s:%s target %s ip %q ua %q", typ, e.ActorType, e.ActorID, e.TargetID, e.IP, e.UserAgent)
		}
	}
	if n := len(events(t, s, tenant.Default, audit.ClientUpdated)); n != 2 {
		t.Errorf("%d client.updated events, want 2", n)
	}
}

func TestClientWarningsAndInvalidSettings(t *testing.T) {
	s := start(t)
	_, tok := adminToken(t, s, tenant.System)
	c := withToken(s, tok)

	// The device grant is named as a phishing risk, and as off in the tenant's policy.
	r := c.do(t, "POST", "/tenants/default/clients", map[string]any{
		"client_name": "TV app", "client_type": "public", "grant_types": []string{"device_code"},
	})
	expect(t, "device client", r, http.StatusCreated, "device-code phishing", "device_code flow turned off")
	var tv client.View
	r.JSON(t, &tv)
	if tv.Secret != "" || tv.HasSecret || tv.GrantTypes[0] != client.GrantDeviceCode {
		t.Errorf("public device client = %+v", tv)
	}
	evs := events(t, s, tenant.Default, audit.ClientCreated)
	if len(evs) != 1 || evs[0].Severity != audit.Medium || !strings.Contains(string(evs[0].Details), "device-code phishing") {
		t.Errorf("client.created = %+v", evs)
	}

	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		status int
		want   string
	}{
		{"no name", "POST", "/tenants/default/clients", map[string]any{"grant_types": []string{"client_credentials"}}, 400, "needs a name"},
		{"unknown grant", "POST", "/tenants/default/clients", map[string]any{"client_name": "x", "grant_types": []string{"password"}}, 400, `grant type \"password\"`},
		{"jwks_uri", "POST", "/tenants/default/clients", map[string]any{"client_name": "x", "jwks_uri": "https://x.example/jwks"}, 400, "jwks_uri is not supported"},
		{"device with admin scope", "POST", "/tenants/default/clients", map[string]any{"client_name": "x", "client_type": "public",
			"grant_types": []string{"device_code"}, "scopes": []string{client.AdminScope}}, 400, "cannot be combined"},
		{"bad jwks", "POST", "/tenants/default/clients", map[string]any{"client_name": "x", "token_endpoint_auth_method": "private_key_jwt",
			"grant_types": []string{"client_credentials"}, "jwks": map[string]any{"keys": "nope"}}, 400, ""},
		{"type change", "PATCH", "/tenants/default/clients/" + tv.ClientID, map[string]any{"client_type": "confidential"}, 400, "client_type cannot change"},
		{"no secret to rotate", "POST", "/tenants/default/clients/" + tv.ClientID + "/secret", nil, 400, "has no secret to rotate"},
		{"unknown client", "GET", "/tenants/default/clients/nope", nil, 404, `no client \"nope\" in tenant default`},
		{"unknown client update", "PATCH", "/tenants/default/clients/nope", map[string]any{"client_name": "x"}, 404, "no client"},
		{"long client id", "GET", "/tenants/default/clients/" + strings.Repeat("a", 5000), nil, 404, "no client"},
		{"unknown tenant", "GET", "/tenants/nope/clients", nil, 404, `no tenant \"nope\"`},
		{"invalid tenant id", "GET", "/tenants/NOPE!/clients", nil, 404, "no tenant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(t, tc.method, tc.path, tc.body)
			code := map[int]string{400: "invalid_request", 404: "not_found"}[tc.status]
			if desc := expectError(t, tc.name, r, tc.status, code); !strings.Contains(string(r.Body), tc.want) || desc == "" {
				t.Errorf("%s: body %s, want it to contain %q", tc.name, r.Body, tc.want)
			}
		})
	}
	// Nothing refused was stored.
	var list struct {
		Clients []json.RawMessage `json:"clients"`
	}
	c.do(t, "GET", "/tenants/default/clients", nil).JSON(t, &list)
	if len(list.Clients) != 1 {
		t.Errorf("%d clients after refusals, want 1", len(list.Clients))
	}
}
