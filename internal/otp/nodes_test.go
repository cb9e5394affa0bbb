package otp_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// twoNodes opens two stores on one fresh, migrated database, as two Gatehouse nodes
// would: SQLite always, and PostgreSQL when GATEHOUSE_TEST_POSTGRES_URL names a server
// (the test makes and drops a database of its own there).
func twoNodes(t *testing.T, dialect string) (store.Store, store.Store) {
	t.Helper()
	ctx := context.Background()
	open := func(addr string) *sqlstore.DB {
		t.Helper()
		var db *sqlstore.DB
		var err error
		if dialect == sqlstore.SQLite {
			db, err = sqlstore.OpenSQLite(ctx, addr)
		} else {
			db, err = sqlstore.OpenPostgres(ctx, addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	addr := filepath.Join(t.TempDir(), "otp.db")
	if dialect == sqlstore.Postgres {
		addr = freshPostgres(t)
	}
	a := open(addr)
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return a, open(addr)
}

func freshPostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("set GATEHOUSE_TEST_POSTGRES_URL to run against PostgreSQL")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "gh_otp_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	// Registered before the stores open, so it runs after they close.
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// TestParallelGuessesStayWithinTries sends many wrong guesses for one subject at once
// through two nodes. If each verification read the wrong-code count before the others
// had written theirs, all of them would be judged, and the limit would bound nothing.
func TestParallelGuessesStayWithinTries(t *testing.T) {
	for _, dialect := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			a, b := twoNodes(t, dialect)
			now := func() time.Time { return t0.Add(time.Minute) }
			nodes := []*otp.Service{
				{Store: a, Now: now, Key: testKey},
				{Store: b, Now: now, Key: testKey},
			}
			var code string
			err := a.InTx(context.Background(), func(tx store.Tx) error {
				var err error
				code, err = nodes[0].Issue(context.Background(), tx, issueReq())
				return err
			})
			if err != nil {
				t.Fatal(err)
			}

			const guesses = 24
			var wg sync.WaitGroup
			errs := make([]error, guesses)
			for i := range guesses {
				wg.Go(func() {
					// Distinct wrong codes: code+1, code+2, … (mod 10^8).
					var n int
					fmt.Sscanf(code, "%d", &n)
					guess := fmt.Sprintf("%08d", (n+1+i)%100_000_000)
					_, errs[i] = nodes[i%2].Verify(context.Background(), verifyReq(guess))
				})
			}
			wg.Wait()
			judged := 0
			for _, err := range errs {
				var te *otp.ThrottledError
				switch {
				case errors.Is(err, otp.ErrWrongCode):
					judged++
				case errors.As(err, &te):
				default:
					t.Errorf("guess: %v", err)
				}
			}
			if tries := policy().CodeTries; judged != tries {
				t.Errorf("%d of %d parallel guesses were judged, want exactly CodeTries = %d", judged, guesses, tries)
			}
		})
	}
}

// TestTwoNodesRedeemOnce verifies one right code through two nodes at once: exactly
// one verification may succeed.
func TestTwoNodesRedeemOnce(t *testing.T) {
	for _, dialect := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			a, b := twoNodes(t, dialect)
			now := func() time.Time { return t0 }
			nodes := []*otp.Service{
				{Store: a, Now: now, Key: testKey},
				{Store: b, Now: now, Key: testKey},
			}
			for round := range 5 {
				req := issueReq()
				req.Subject = fmt.Sprintf("user%d@example.com", round)
				var code string
				err := a.InTx(context.Background(), func(tx store.Tx) error {
					var err error
					code, err = nodes[0].Issue(context.Background(), tx, req)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				vr := verifyReq(code)
				vr.Subject = req.Subject
				var wg sync.WaitGroup
				errs := make([]error, 4)
				for i := range errs {
					wg.Go(func() { _, errs[i] = nodes[i%2].Verify(context.Background(), vr) })
				}
				wg.Wait()
				ok := 0
				for _, err := range errs {
					switch {
					case err == nil:
						ok++
					case !errors.Is(err, otp.ErrWrongCode):
						t.Errorf("round %d: %v", round, err)
					}
				}
				if ok != 1 {
					t.Fatalf("round %d: %d of %d verifications succeeded, want 1", round, ok, len(errs))
				}
			}
		})
	}
}
