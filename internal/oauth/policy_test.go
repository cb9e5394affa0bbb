package oauth_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
)

// TestTenantPolicyTurnsGrantsOff checks that a flow the tenant switched off is
// refused even for a client registered for it.
func TestTenantPolicyTurnsGrantsOff(t *testing.T) {
	e := newEnv(t)
	svc, secret := e.mustClient(t, client.Settings{Name: "Svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"reports:read"}})
	tokenURL := e.issuer + "/oauth2/token"
	form := url.Values{"grant_type": {"client_credentials"}}
	if status, out := tokenCall(t, tokenURL, form, svc.ID, secret); status != 200 {
		t.Fatalf("client_credentials answered %d %v", status, out)
	}
	pol, err := e.s.App.Tenants.Policy(t.Context(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	pol.Flows.ClientCredentials = false
	if _, err := e.s.App.Tenants.SetPolicy(t.Context(), tenantID, pol, audit.System()); err != nil {
		t.Fatal(err)
	}
	if status, out := tokenCall(t, tokenURL, form, svc.ID, secret); status != 400 || out["error"] != "unsupported_grant_type" {
		t.Errorf("client_credentials with the flow off answered %d %v", status, out)
	}
}

// TestIntrospectionOfAnotherTenantsToken checks that a token is only active at the
// issuer that made it.
func TestIntrospectionOfAnotherTenantsToken(t *testing.T) {
	e := newEnv(t)
	if _, err := e.s.App.Tenants.Create(t.Context(), "acme", "Acme", audit.System()); err != nil {
		t.Fatal(err)
	}
	svc, secret := e.mustClient(t, client.Settings{Name: "Svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"reports:read"}})
	res, err := e.s.App.Clients.Create(t.Context(), "acme", client.Settings{Name: "Acme svc",
		GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"reports:read"}}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	acmeIssuer := e.s.URL + "/t/acme"
	_, out := tokenCall(t, acmeIssuer+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, res.Client.ID, res.Secret)
	foreign, _ := out["access_token"].(string)
	if foreign == "" {
		t.Fatalf("acme token: %v", out)
	}
	if _, in := tokenCall(t, acmeIssuer+"/oauth2/introspect", url.Values{"token": {foreign}}, res.Client.ID, res.Secret); in["active"] != true {
		t.Fatalf("token inactive at its own issuer: %v", in)
	}
	if _, in := tokenCall(t, e.issuer+"/oauth2/introspect", url.Values{"token": {foreign}}, svc.ID, secret); in["active"] != false {
		t.Errorf("another tenant's token is active: %v", in)
	}
	// A client of one tenant cannot authenticate at another.
	if status, out := tokenCall(t, e.issuer+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, res.Client.ID, res.Secret); status != 401 || out["error"] != "invalid_client" {
		t.Errorf("acme client at the default tenant answered %d %v", status, out)
	}
}
