package oauth

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// fuzzProvider is a provider on a fresh SQLite database with the built-in tenants.
func fuzzProvider(f *testing.F) *Provider {
	f.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(f.TempDir(), "f.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	if _, err := (&tenant.Service{Store: db, Now: time.Now}).EnsureBuiltins(ctx); err != nil {
		f.Fatal(err)
	}
	return &Provider{Store: db, Now: time.Now, BaseURL: "http://localhost:8080", Clients: &client.Service{Store: db, Now: time.Now}}
}

// clientError reports whether err is an OAuth error meant for the client, not a
// server_error (which would be a 500).
func clientError(err error) bool {
	var oe *oidc.Error
	return errors.As(err, &oe) && oe.ErrorType != oidc.ServerError
}

// FuzzDPoPProof throws arbitrary DPoP headers at the proof check: each is either
// accepted or refused with invalid_dpop_proof, never a server error or a panic.
func FuzzDPoPProof(f *testing.F) {
	for _, seed := range []string{"", "a.b.c", "eyJhbGciOiJub25lIn0.e30.",
		"eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIn19.e30.AAAA",
		"eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkhTMjU2In0.e30.AAAA"} {
		f.Add(seed, "")
	}
	p := fuzzProvider(f)
	f.Fuzz(func(t *testing.T, proof, token string) {
		h := http.Header{}
		h.Set("DPoP", proof)
		_, err := p.checkDPoP(context.Background(), "default", h, http.MethodPost, "http://localhost:8080/t/default/oauth2/token", token)
		if err != nil && !clientError(err) {
			t.Fatalf("%v is not a client error", err)
		}
	})
}

// FuzzClientAssertion does the same for private_key_jwt client assertions.
func FuzzClientAssertion(f *testing.F) {
	for _, seed := range []string{"", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.AAAA", "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(seed)
	}
	p := fuzzProvider(f)
	f.Fuzz(func(t *testing.T, assertion string) {
		cc := &op.ClientCredentials{ClientAssertion: assertion, ClientAssertionType: oidc.ClientAssertionTypeJWTAssertion}
		if assertion == "" {
			return
		}
		_, err := p.authenticateAssertion(context.Background(), "default", cc, "/t/default/oauth2/token")
		if err == nil || !clientError(err) {
			t.Fatalf("assertion %q: %v is not a client error", assertion, err)
		}
	})
}
