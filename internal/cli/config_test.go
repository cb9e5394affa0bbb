package cli_test

import (
	"os"
	"strings"
	"testing"
)

func TestBadConfiguration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"listen without port", nil, []string{"--listen", "nope", "tenant", "list"}, []string{"--listen", `"nope"`}},
		{"listen port out of range", nil, []string{"--listen=127.0.0.1:70000", "serve"}, []string{"--listen"}},
		{"log format from environment", map[string]string{"GATEHOUSE_LOG_FORMAT": "xml"}, []string{"tenant", "list"}, []string{"GATEHOUSE_LOG_FORMAT", `"xml"`}},
		{"log level", nil, []string{"--log-level", "loud", "user", "list"}, []string{"--log-level"}},
		{"database from environment", map[string]string{"GATEHOUSE_DATABASE": "mysql://db/gatehouse"}, []string{"migrate"}, []string{"GATEHOUSE_DATABASE"}},
		{"http base URL", nil, []string{"--base-url", "http://id.example.com", "serve"}, []string{"--base-url", "https"}},
		{"outbox interval", nil, []string{"--outbox-interval", "banana", "tenant", "list"}, []string{"--outbox-interval"}},
		{"unknown command", nil, []string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{"unknown subcommand", nil, []string{"tenant", "delete", "acme"}, []string{"delete"}},
		{"unknown flag", nil, []string{"tenant", "list", "--bogus"}, []string{"unknown flag: --bogus"}},
		{"missing argument", nil, []string{"tenant", "show"}, []string{"tenant show: missing the tenant ID"}},
		{"extra argument", nil, []string{"user", "list", "extra"}, []string{"extra"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGatehouse(t)
			for k, v := range tc.env {
				g.env[k] = v
			}
			// Flags go first, as in "gatehouse --listen nope tenant list"; the database
			// flags are only added when the case does not name the database itself.
			args := tc.args
			if _, ok := tc.env["GATEHOUSE_DATABASE"]; !ok {
				args = append(tc.args[:len(tc.args):len(tc.args)], g.dbFlags()...)
			}
			r := g.runBare(args...)
			if r.code == 0 {
				t.Fatalf("gatehouse %s: exit 0, want failure; stdout:\n%s", strings.Join(args, " "), r.stdout)
			}
			line := mustOneLine(t, r.stderr)
			mustContain(t, "error", line, tc.want...)
			if _, err := os.Stat(g.dbPath); err == nil {
				t.Errorf("a command that failed on its configuration created the database %s", g.dbPath)
			}
		})
	}
}

func TestDatabaseFromEnvironment(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)
	g.env["GATEHOUSE_DATABASE"] = "sqlite:" + g.dbPath
	g.env["GATEHOUSE_KEK_FILE"] = g.kekPath()

	mustOK := func(args ...string) string {
		t.Helper()
		r := g.runBare(args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("gatehouse %s: exit %d, stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	mustContain(t, "migrate", mustOK("migrate"), "applied 1 ")
	mustOK("tenant", "create", "envco")

	// The same file named by flag holds what the environment-configured commands wrote.
	delete(g.env, "GATEHOUSE_DATABASE")
	mustContain(t, "tenant list", g.mustRun("tenant", "list"), "envco")

	// A flag beats the environment: pointed elsewhere, the command does not see envco.
	g.env["GATEHOUSE_DATABASE"] = "sqlite:" + g.dbPath
	other := newMigrated(t)
	r := g.runBare("--database", "sqlite:"+other.dbPath, "tenant", "show", "envco")
	if r.code != 1 {
		t.Errorf("--database did not override GATEHOUSE_DATABASE: exit %d", r.code)
	}
}
