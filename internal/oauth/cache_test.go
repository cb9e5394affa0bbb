package oauth_test

import (
	"crypto/rand"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestTokenEndpointSeesChangesAtOnce checks that what the token endpoint remembers
// between requests never outlives a change: each change below is made through the
// services, as an operator would make it, and nothing tells the provider; the very
// next token request must already see it. With PostgreSQL the change is made on one
// node and the requests go to another.
func TestTokenEndpointSeesChangesAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes func(t *testing.T) (admin, serving *apptest.Server)
	}{
		{"one node, SQLite", func(t *testing.T) (*apptest.Server, *apptest.Server) {
			s := apptest.Start(t)
			return s, s
		}},
		{"two nodes, PostgreSQL", func(t *testing.T) (*apptest.Server, *apptest.Server) {
			db, kek := apptest.FreshPostgres(t), make([]byte, 32)
			rand.Read(kek)
			shared := []apptest.Option{apptest.WithDatabase(db), apptest.WithConfig(func(c *config.Config) {
				c.KEK, c.KEKFile = kek, ""
			})}
			return apptest.Start(t, shared...), apptest.Start(t, shared...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			admin, serving := tc.nodes(t)
			changesSeenAtOnce(t, admin.App, serving.URL+"/t/"+tenantID+"/oauth2/token")
		})
	}
}

func changesSeenAtOnce(t *testing.T, a *app.App, tokenURL string) {
	ctx := t.Context()
	res, err := a.Clients.Create(ctx, tenantID, client.Settings{Name: "Svc", GrantTypes: []string{client.GrantClientCredentials},
		Scopes: []string{"reports:read"}}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	svc, secret := res.Client, res.Secret
	ask := func(scope, pass string) (int, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}}
		if scope != "" {
			form.Set("scope", scope)
		}
		return tokenCall(t, tokenURL, form, svc.ID, pass)
	}
	kidOf := func(tok map[string]any) string {
		var h struct{ KID string }
		decodeSeg(t, strings.Split(tok["access_token"].(string), ".")[0], &h)
		return h.KID
	}
	setFlow := func(on bool) {
		pol, err := a.Tenants.Policy(ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		pol.Flows.ClientCredentials = on
		if _, err := a.Tenants.SetPolicy(ctx, tenantID, pol, audit.System()); err != nil {
			t.Fatal(err)
		}
	}

	status, tok := ask("", secret)
	if status != 200 {
		t.Fatalf("first request answered %d %v", status, tok)
	}
	kid := kidOf(tok)

	// A new scope works at once; a removed one stops at once.
	withAudit := []string{"reports:read", "audit:read"}
	if _, err := a.Clients.Update(ctx, tenantID, svc.ID, client.Changes{Scopes: &withAudit}, audit.System()); err != nil {
		t.Fatal(err)
	}
	if status, out := ask("audit:read", secret); status != 200 {
		t.Errorf("a scope just added answered %d %v", status, out)
	}
	only := []string{"reports:read"}
	if _, err := a.Clients.Update(ctx, tenantID, svc.ID, client.Changes{Scopes: &only}, audit.System()); err != nil {
		t.Fatal(err)
	}
	if status, out := ask("audit:read", secret); status != 400 || out["error"] != "invalid_scope" {
		t.Errorf("a scope just removed answered %d %v", status, out)
	}

	// The policy turns the grant off and on again.
	setFlow(false)
	if status, out := ask("", secret); status != 400 || out["error"] != "unsupported_grant_type" {
		t.Errorf("with the flow just turned off: %d %v", status, out)
	}
	setFlow(true)
	if status, out := ask("", secret); status != 200 {
		t.Errorf("with the flow just turned on again: %d %v", status, out)
	}

	// An emergency key rotation (no overlap) signs the next token with the new key.
	rot, err := a.Keys.Rotate(ctx, tenantID, keys.ES256, 0, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	if status, out := ask("", secret); status != 200 || kidOf(out) != rot.KID || rot.KID == kid {
		t.Errorf("after rotating %s to %s the token is signed by %v (%d)", kid, rot.KID, out["access_token"], status)
	}

	// A rotated secret: the old one stops, the new one works, both at once.
	rotated, err := a.Clients.RotateSecret(ctx, tenantID, svc.ID, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	if status, out := ask("", secret); status != 401 || out["error"] != "invalid_client" {
		t.Errorf("the old secret after rotation answered %d %v", status, out)
	}
	if status, out := ask("", rotated.Secret); status != 200 {
		t.Errorf("the new secret answered %d %v", status, out)
	}

	// A deleted client gets nothing more.
	if err := a.Clients.Delete(ctx, tenantID, svc.ID, audit.System()); err != nil {
		t.Fatal(err)
	}
	if status, out := ask("", rotated.Secret); status != 401 || out["error"] != "invalid_client" {
		t.Errorf("a deleted client answered %d %v", status, out)
	}
}

// TestConcurrentIssuanceKeepsTheAuditChain sends token requests from many
// goroutines, so that their audit records commit in shared transactions, and
// checks that each issuance left its event and the tenant's chain still verifies.
func TestConcurrentIssuanceKeepsTheAuditChain(t *testing.T) {
	e := newEnv(t)
	svc, secret := e.mustClient(t, client.Settings{Name: "Svc", GrantTypes: []string{client.GrantClientCredentials},
		Scopes: []string{"reports:read"}})
	const workers, each = 8, 15
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if status, out := tokenCall(t, e.issuer+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, svc.ID, secret); status != 200 {
					t.Errorf("token request answered %d %v", status, out)
					return
				}
			}
		})
	}
	wg.Wait()
	var events []store.AuditEvent
	err := e.s.App.Store.View(t.Context(), func(tx store.Tx) error {
		var err error
		events, err = tx.QueryAudit(t.Context(), store.AuditQuery{TenantID: tenantID, Type: "oauth.token_issued", Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	issued := 0
	for _, ev := range events {
		if ev.TargetID == svc.ID {
			issued++
		}
	}
	if issued != workers*each {
		t.Errorf("%d token issuances audited, want %d", issued, workers*each)
	}
	brk, n, err := audit.Verify(t.Context(), e.s.App.Store, tenantID)
	if err != nil || brk != nil || n < workers*each {
		t.Errorf("audit chain after concurrent issuance: %d events, break %v, error %v", n, brk, err)
	}
}
