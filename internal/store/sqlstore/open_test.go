package sqlstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// TestOpenExistingNeverCreates: OpenExisting refuses a SQLite path with no file and
// leaves no file behind, while Open creates one (owner-only) and OpenExisting then
// opens it, writable.
func TestOpenExistingNeverCreates(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "gatehouse.db")

	_, err := sqlstore.OpenExisting(t.Context(), "sqlite:"+path)
	if !errors.Is(err, sqlstore.ErrNoDatabase) {
		t.Fatalf("OpenExisting of a missing file: %v, want ErrNoDatabase", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenExisting left a file behind: %v", err)
	}
	// A missing directory is the same answer.
	if _, err := sqlstore.OpenExisting(t.Context(), "sqlite:"+filepath.Join(path+".d", "x.db")); !errors.Is(err, sqlstore.ErrNoDatabase) {
		t.Fatalf("OpenExisting in a missing directory: %v, want ErrNoDatabase", err)
	}

	db, err := sqlstore.Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatalf("Open creates the file: %v", err)
	}
	db.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("Open made %v (%v), want a file of mode 0600", fi, err)
	}

	db, err = sqlstore.OpenExisting(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatalf("OpenExisting of the file Open made: %v", err)
	}
	defer db.Close()
	if _, err := db.SQL().ExecContext(t.Context(), `CREATE TABLE written (x INTEGER)`); err != nil {
		t.Fatalf("OpenExisting opened the file but cannot write to it: %v", err)
	}
}
