package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/cli"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// operatorName is the USER the commands see; audit events must name it as the actor.
const operatorName = "test-operator"

// result is what an operator sees of one command: its exit code and both streams.
type result struct {
	code           int
	stdout, stderr string
}

// gatehouse is one installation: a database file and a key file in a test directory,
// and the environment its commands run in.
type gatehouse struct {
	t      *testing.T
	dir    string
	dbPath string
	env    map[string]string
}

// newGatehouse returns an installation whose database does not exist yet.
func newGatehouse(t *testing.T) *gatehouse {
	t.Helper()
	dir := t.TempDir()
	return &gatehouse{
		t:      t,
		dir:    dir,
		dbPath: filepath.Join(dir, "gatehouse.db"),
		env:    map[string]string{"USER": operatorName},
	}
}

// newMigrated returns an installation that `gatehouse migrate` has prepared.
func newMigrated(t *testing.T) *gatehouse {
	t.Helper()
	g := newGatehouse(t)
	g.mustRun("migrate")
	return g
}

func (g *gatehouse) kekPath() string { return filepath.Join(g.dir, "gatehouse.kek") }

func (g *gatehouse) lookupEnv(name string) (string, bool) {
	v, ok := g.env[name]
	return v, ok
}

// dbFlags point a command at this installation's files.
func (g *gatehouse) dbFlags() []string {
	return []string{"--database=sqlite:" + g.dbPath, "--kek-file=" + g.kekPath()}
}

// run executes the command line with the database flags, as an operator would type it.
func (g *gatehouse) run(args ...string) result {
	g.t.Helper()
	return g.runBare(append(g.dbFlags(), args...)...)
}

// runBare executes exactly args, with no database flags added.
func (g *gatehouse) runBare(args ...string) result {
	g.t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, cli.Env{Stdout: &stdout, Stderr: &stderr, LookupEnv: g.lookupEnv})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs a command that has to succeed silently on stderr and returns its stdout.
func (g *gatehouse) mustRun(args ...string) string {
	g.t.Helper()
	r := g.run(args...)
	if r.code != 0 {
		g.t.Fatalf("gatehouse %s: exit %d, stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	if r.stderr != "" {
		g.t.Fatalf("gatehouse %s: succeeded but wrote to stderr:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r.stdout
}

// mustFail runs a command that has to exit 1 with a single line on stderr, and
// returns that line.
func (g *gatehouse) mustFail(args ...string) string {
	g.t.Helper()
	r := g.run(args...)
	if r.code != 1 {
		g.t.Fatalf("gatehouse %s: exit %d, want 1; stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return mustOneLine(g.t, r.stderr)
}

// mustJSON runs a command with --json appended and decodes its stdout into T.
func mustJSON[T any](g *gatehouse, args ...string) T {
	g.t.Helper()
	out := g.mustRun(append(args, "--json")...)
	return mustDecode[T](g.t, out)
}

func mustDecode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output is not the expected JSON: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("output holds more than one JSON value:\n%s", s)
	}
	return v
}

// mustOneLine asserts that s is exactly one non-empty line (blank lines aside, which
// an operator does not notice) and returns it.
func mustOneLine(t *testing.T, s string) string {
	t.Helper()
	var lines []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("stderr has %d non-empty lines, want exactly 1:\n%s", len(lines), s)
	}
	return lines[0]
}

// mustContain fails unless s contains every one of want.
func mustContain(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

// openDB opens the installation's database directly, as someone with file access can.
func (g *gatehouse) openDB() *sqlstore.DB {
	g.t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), g.dbPath)
	if err != nil {
		g.t.Fatalf("open %s: %v", g.dbPath, err)
	}
	g.t.Cleanup(func() { db.Close() })
	return db
}

// exec runs one SQL statement on the database file behind Gatehouse's back and
// returns how many rows it changed.
func (g *gatehouse) exec(query string, args ...any) int64 {
	g.t.Helper()
	db := g.openDB()
	defer db.Close()
	res, err := db.SQL().ExecContext(context.Background(), query, args...)
	if err != nil {
		g.t.Fatalf("%s: %v", query, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		g.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// tables lists the tables in the database file.
func (g *gatehouse) tables() []string {
	g.t.Helper()
	db := g.openDB()
	defer db.Close()
	rows, err := db.SQL().QueryContext(context.Background(), `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		g.t.Fatalf("list tables: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			g.t.Fatalf("list tables: %v", err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		g.t.Fatalf("list tables: %v", err)
	}
	return out
}

// syncBuffer is a bytes.Buffer that a running server writes to while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
