package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

// env is a fake environment for Load.
type env map[string]string

func (e env) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// MustBind registers the flags on a fresh flag set and parses args.
func MustBind(t *testing.T, args ...string) *Binding {
	t.Helper()
	fs := pflag.NewFlagSet("gatehouse", pflag.ContinueOnError)
	b := Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return b
}

// MustLoad loads a Config from args and environment and fails the test on error.
func MustLoad(t *testing.T, e env, args ...string) Config {
	t.Helper()
	c, err := MustBind(t, args...).Load(e.lookup)
	if err != nil {
		t.Fatalf("Load(%q, %v): %v", args, e, err)
	}
	return c
}

// MustWriteFile writes content to name in a fresh temporary directory and returns its path.
func MustWriteFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
