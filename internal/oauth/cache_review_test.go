package oauth_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// refreshable registers a confidential client with the code and refresh grants and
// returns it, its secret and a refresh token a person granted it.
func refreshable(t *testing.T, e *env) (*store.Client, string, string) {
	t.Helper()
	c, secret := e.mustClient(t, client.Settings{Name: "Notes", RedirectURIs: []string{redirectURI},
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
	conf := e.config(c, secret, redirectURI, oidc.ScopeOpenID, oidc.ScopeOfflineAccess)
	v := oauth2.GenerateVerifier()
	cb := browse(t, e.signedUp(t), conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), redirectURI)
	tok, err := conf.Exchange(e.ctx, cb.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange: %v (refresh token %q)", err, tok.RefreshToken)
	}
	return c, secret, tok.RefreshToken
}

func refreshCall(t *testing.T, e *env, c *store.Client, secret, refresh string) (int, map[string]any) {
	t.Helper()
	return tokenCall(t, e.issuer+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, c.ID, secret)
}

// TestNarrowedGrantStopsAtOnce withdraws a grant type from clients that have just
// used it (so the token endpoint remembers them allowing it): the very next request
// of that grant is refused as the engine refuses a grant the client lacks.
func TestNarrowedGrantStopsAtOnce(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()

	svc, secret := e.mustClient(t, client.Settings{Name: "Svc", RedirectURIs: []string{redirectURI},
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantClientCredentials}, Scopes: []string{"openid", "reports:read"}})
	cc := url.Values{"grant_type": {"client_credentials"}}
	if status, out := tokenCall(t, e.issuer+"/oauth2/token", cc, svc.ID, secret); status != http.StatusOK {
		t.Fatalf("client_credentials answered %d %v", status, out)
	}
	codeOnly := []string{client.GrantAuthorizationCode}
	if _, err := e.s.App.Clients.Update(ctx, tenantID, svc.ID, client.Changes{GrantTypes: &codeOnly}, audit.System()); err != nil {
		t.Fatal(err)
	}
	if status, out := tokenCall(t, e.issuer+"/oauth2/token", cc, svc.ID, secret); status != http.StatusBadRequest || out["error"] != "unauthorized_client" {
		t.Errorf("client_credentials just withdrawn answered %d %v", status, out)
	}

	app, appSecret, refresh := refreshable(t, e)
	status, out := refreshCall(t, e, app, appSecret, refresh)
	if status != http.StatusOK {
		t.Fatalf("refresh answered %d %v", status, out)
	}
	if _, err := e.s.App.Clients.Update(ctx, tenantID, app.ID, client.Changes{GrantTypes: &codeOnly}, audit.System()); err != nil {
		t.Fatal(err)
	}
	if status, out := refreshCall(t, e, app, appSecret, out["refresh_token"].(string)); status != http.StatusBadRequest || out["error"] != "unauthorized_client" {
		t.Errorf("refresh_token just withdrawn answered %d %v", status, out)
	}
}

// TestOldSecretCannotRevoke presents an already used refresh token with a client
// secret that was just rotated away: the request is refused for its client
// authentication and revokes nothing, so the person's current refresh token still
// works with the new secret.
func TestOldSecretCannotRevoke(t *testing.T) {
	e := newEnv(t)
	c, oldSecret, first := refreshable(t, e)
	status, out := refreshCall(t, e, c, oldSecret, first)
	if status != http.StatusOK {
		t.Fatalf("refresh answered %d %v", status, out)
	}
	current := out["refresh_token"].(string)
	rotated, err := e.s.App.Clients.RotateSecret(t.Context(), tenantID, c.ID, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	if status, out := refreshCall(t, e, c, oldSecret, first); status != http.StatusUnauthorized || out["error"] != "invalid_client" {
		t.Errorf("a used refresh token with the old secret answered %d %v", status, out)
	}
	if status, out := refreshCall(t, e, c, rotated.Secret, current); status != http.StatusOK {
		t.Errorf("the current refresh token with the new secret answered %d %v", status, out)
	}
}

// TestConcurrentRefreshSucceedsOnce refreshes one refresh token from several
// goroutines at once: exactly one gets tokens, the others invalid_grant, and the
// reuse revokes the family, so the winner's new refresh token is dead too.
func TestConcurrentRefreshSucceedsOnce(t *testing.T) {
	for name, opts := range map[string]func(t *testing.T) []apptest.Option{
		"SQLite": func(*testing.T) []apptest.Option { return nil },
		"PostgreSQL": func(t *testing.T) []apptest.Option {
			return []apptest.Option{apptest.WithDatabase(apptest.FreshPostgres(t))}
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, opts(t)...)
			c, secret, refresh := refreshable(t, e)
			const n = 6
			type answer struct {
				status int
				out    map[string]any
			}
			answers := make([]answer, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					answers[i].status, answers[i].out = refreshCall(t, e, c, secret, refresh)
				})
			}
			close(start)
			wg.Wait()
			won := ""
			for _, a := range answers {
				switch {
				case a.status == http.StatusOK && won == "":
					won = a.out["refresh_token"].(string)
				case a.status == http.StatusBadRequest && a.out["error"] == "invalid_grant":
				default:
					t.Errorf("a concurrent refresh answered %d %v", a.status, a.out)
				}
			}
			if won == "" {
				t.Fatalf("no concurrent refresh succeeded: %v", answers)
			}
			if status, out := refreshCall(t, e, c, secret, won); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
				t.Errorf("after a reuse the family's newest refresh token answered %d %v", status, out)
			}
			wantAudit(t, e, "oauth.refresh_reused", "high")
		})
	}
}
