package cli_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// applicationTables are tables the first migration creates; none may exist before
// `gatehouse migrate` runs.
var applicationTables = []string{"tenants", "users", "audit_events", "audit_heads"}

func TestMigrate(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)

	dry := g.mustRun("migrate", "--dry-run")
	if n := strings.Count(dry, "would apply "); n != knownMigrations(t) {
		t.Errorf("migrate --dry-run lists %d migrations, want %d:\n%s", n, knownMigrations(t), dry)
	}
	mustContain(t, "migrate --dry-run", dry, "would apply 1 ", "would apply 2 ")
	for _, table := range g.tables() {
		if slices.Contains(applicationTables, table) {
			t.Errorf("migrate --dry-run created table %s", table)
		}
	}

	line := g.mustFail("tenant", "list")
	mustContain(t, "tenant list before migrate", line, "run `gatehouse migrate`")

	applied := g.mustRun("migrate")
	mustContain(t, "migrate", applied, "applied 1 ", "applied 2 ", "created tenant system", "created tenant default")

	again := g.mustRun("migrate")
	if strings.TrimSpace(again) != "schema is up to date" {
		t.Errorf("second migrate printed %q, want \"schema is up to date\"", again)
	}
	if dry := g.mustRun("migrate", "--dry-run"); strings.TrimSpace(dry) != "schema is up to date" {
		t.Errorf("migrate --dry-run after migrate printed %q, want \"schema is up to date\"", dry)
	}

	// The tenants that commands default to exist, so the next step an operator takes works.
	g.mustRun("user", "create", "--email", "first@example.com")
}

func TestMigrateDryRunOnSchemaBehind(t *testing.T) {
	t.Parallel()
	g := newBehind(t)

	dry := g.mustRun("migrate", "--dry-run")
	if strings.Contains(dry, "would apply 1 ") || !strings.Contains(dry, "would apply 2 ") {
		t.Errorf("migrate --dry-run at version 1 should list only migration 2:\n%s", dry)
	}
	line := g.mustFail("user", "list")
	mustContain(t, "user list on a schema that is behind", line, "run `gatehouse migrate`")

	g.mustRun("migrate")
	g.mustRun("user", "list")
}

func TestVersion(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)
	r := g.runBare("version")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("version: exit %d, stderr %q", r.code, r.stderr)
	}
	line := mustOneLine(t, r.stdout)
	if !strings.HasPrefix(line, "gatehouse ") || len(line) == len("gatehouse ") {
		t.Errorf("version printed %q, want \"gatehouse <version>\"", line)
	}
}

// newBehind returns an installation whose schema stops at the first migration, as
// one left by an older release.
func newBehind(t *testing.T) *gatehouse {
	t.Helper()
	g := newGatehouse(t)
	db := g.openDB()
	if err := db.MigrateTo(context.Background(), 1); err != nil {
		t.Fatalf("MigrateTo(1): %v", err)
	}
	db.Close()
	return g
}

// knownMigrations counts the migration files this binary embeds.
func knownMigrations(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob("../store/sqlstore/migrations/*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	return len(files)
}

// TestCommandsDoNotCreateTheDatabase: an administration command pointed at a SQLite
// file that does not exist says so in one line, with how to create one, and leaves
// no file behind; migrate then creates it.
func TestCommandsDoNotCreateTheDatabase(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)
	for _, args := range [][]string{
		{"tenant", "list"},
		{"user", "show", "ana@example.com"},
		{"tap", "list", "--json"},
		{"audit", "verify"},
		{"policy", "show"},
		{"keys", "list"},
		{"grant", "revoke", "--flow", "device_code", "--user", "ana@example.com"},
	} {
		line := g.mustFail(args...)
		mustContain(t, strings.Join(args, " "), line, "there is no database at "+g.dbPath, "`gatehouse migrate`", "`gatehouse serve`")
		if strings.Contains(line, "schema") {
			t.Errorf("%s: %q talks about a schema of a database that is not there", strings.Join(args, " "), line)
		}
		if _, err := os.Stat(g.dbPath); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s created %s (%v)", strings.Join(args, " "), g.dbPath, err)
		}
	}
	g.mustRun("migrate")
	g.mustRun("tenant", "list")
}
