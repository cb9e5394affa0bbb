package passkey

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// FuzzFinishBodies throws arbitrary bytes at the three finish steps: each must answer
// with a ceremony *Error (a 4xx for the client), never another error or a panic.
func FuzzFinishBodies(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"x"`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AA","signature":"AA"}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiYWJjIiwib3JpZ2luIjoiaHR0cDovL2xvY2FsaG9zdCJ9","authenticatorData":"SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ","signature":"MEUCIQ"}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`,
	} {
		f.Add([]byte(seed))
	}
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
	s := &Service{Store: db, Now: time.Now, BaseURL: "http://localhost:8080",
		Sessions: &session.Manager{Store: db, Now: time.Now, CookieName: "gh_session"}}
	c := Client{IP: "127.0.0.1", Network: "127.0.0.0/24"}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err1 := s.FinishLogin(ctx, "default", body, c)
		_, err2 := s.FinishRegistration(ctx, "default", body, FinishRequest{}, c)
		_, err3 := s.FinishStepUp(ctx, "default", body, &store.Session{ID: "s", UserID: "u", TenantID: "default"}, c)
		for i, err := range []error{err1, err2, err3} {
			e, ok := AsError(err)
			if !ok || e.Status < 400 || e.Status >= 500 {
				t.Fatalf("step %d: %v is not a client error", i, err)
			}
		}
	})
}
