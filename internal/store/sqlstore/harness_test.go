package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// postgresEnv names the variable that points the tests at a PostgreSQL server. The
// tests create (and drop) a database of their own for every store they open, so the
// database in the URL is only used to connect.
const postgresEnv = "GATEHOUSE_TEST_POSTGRES_URL"

// backend opens fresh, unmigrated databases of one kind.
type backend struct {
	name string
	// fresh returns the address of a new, empty database removed when tb ends.
	fresh func(tb testing.TB) string
	// open connects to an address from fresh and closes the store when tb ends.
	open func(tb testing.TB, addr string) *sqlstore.DB
}

var backends = []backend{
	{name: sqlstore.SQLite, fresh: freshSQLite, open: openSQLite},
	{name: sqlstore.Postgres, fresh: func(tb testing.TB) string { return freshPostgres(tb, false) }, open: openPostgres},
}

// benchBackends are the same, except that PostgreSQL commits are durable: a benchmark
// must pay for the WAL flush a production commit pays for.
var benchBackends = []backend{
	backends[0],
	{name: sqlstore.Postgres, fresh: func(tb testing.TB) string { return freshPostgres(tb, true) }, open: openPostgres},
}

func freshSQLite(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "gatehouse.db")
}

func openSQLite(tb testing.TB, path string) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		tb.Fatalf("OpenSQLite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// freshPostgres creates a database with a random name on the server named by
// GATEHOUSE_TEST_POSTGRES_URL and drops it when tb ends, so that tests (and parallel
// test binaries) never see each other's rows. Without the variable it skips tb.
//
// Unless durable is set, commits on the new database do not wait for the WAL to reach
// the disk. Locking and visibility are unchanged, so the tests check the same thing,
// but a busy disk no longer sets their pace.
func freshPostgres(tb testing.TB, durable bool) string {
	tb.Helper()
	base := requirePostgres(tb)
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", postgresEnv, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("connect to %s: %v", postgresEnv, err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "gh_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		tb.Fatalf("create test database: %v", err)
	}
	if !durable {
		if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" SET synchronous_commit = off"); err != nil {
			tb.Errorf("relax test database durability: %v", err)
		}
	}
	// Registered before any store opens on it, so it runs after they have closed;
	// FORCE ends any connection a failed test left behind.
	tb.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// requirePostgres returns the server URL from GATEHOUSE_TEST_POSTGRES_URL, or skips tb.
func requirePostgres(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		tb.Skip("PostgreSQL tests skipped: set GATEHOUSE_TEST_POSTGRES_URL=postgres://…")
	}
	return base
}

func openPostgres(tb testing.TB, addr string) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.OpenPostgres(context.Background(), addr)
	if err != nil {
		tb.Fatalf("OpenPostgres: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustMigrate(tb testing.TB, db *sqlstore.DB) {
	tb.Helper()
	if _, err := db.Migrate(context.Background()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
}

// openMigrated returns a store on a fresh, migrated database of backend be.
func openMigrated(tb testing.TB, be backend) *sqlstore.DB {
	tb.Helper()
	db := be.open(tb, be.fresh(tb))
	mustMigrate(tb, db)
	return db
}

// harness adapts a backend to the conformance suite.
func harness(be backend) storetest.Harness {
	return storetest.Harness{
		Open: func(t *testing.T) store.Store { return openMigrated(t, be) },
		OpenPair: func(t *testing.T) (store.Store, store.Store) {
			addr := be.fresh(t)
			a := be.open(t, addr)
			mustMigrate(t, a)
			return a, be.open(t, addr)
		},
	}
}
