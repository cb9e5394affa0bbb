package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// migrations holds one ordered version line for both dialects. Order is important:
// add new migrations at the end, never edit one that has shipped.
//
//go:embed migrations/*.sql
var migrations embed.FS

// Migration describes one schema version.
type Migration struct {
	Version int64
	Name    string
	Applied bool
}

func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	opts = append(opts, goose.WithDisableGlobalRegistry(true))
	if db.dialect == Postgres {
		dialect = goose.DialectPostgres
		// A table lock (not an advisory lock) keeps nodes that start together from
		// migrating twice, and works on PostgreSQL-compatible distributed databases.
		locker, err := lock.NewPostgresTableLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithLocker(locker))
	}
	return goose.NewProvider(dialect, db.writer, sub, opts...)
}

// Migrations lists every known schema version and whether it is applied. It changes
// nothing: on a database that was never migrated it reports every version as pending
// without creating the version table.
func (db *DB) Migrations(ctx context.Context) ([]Migration, error) {
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	exists, err := db.versionTableExists(ctx)
	if err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	if !exists {
		var out []Migration
		for _, src := range p.ListSources() {
			out = append(out, Migration{Version: src.Version, Name: filepath.Base(src.Path)})
		}
		return out, nil
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	out := make([]Migration, 0, len(st))
	for _, s := range st {
		out = append(out, Migration{Version: s.Source.Version, Name: filepath.Base(s.Source.Path), Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

// Migrate applies every pending migration, each in its own transaction, and returns
// the versions it applied (on error, those it applied before the failure).
func (db *DB) Migrate(ctx context.Context) ([]Migration, error) {
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	out := []Migration{}
	for {
		before, _, err := p.GetVersions(ctx)
		if err != nil {
			return nil, fmt.Errorf("read schema version: %w", err)
		}
		res, err := p.Up(ctx)
		if perr := (*goose.PartialError)(nil); errors.As(err, &perr) {
			res = perr.Applied
		}
		for _, r := range res {
			out = append(out, Migration{Version: r.Source.Version, Name: filepath.Base(r.Source.Path), Applied: true})
		}
		if err == nil {
			return out, nil
		}
		// SQLite has no migration lock, so two processes opening one file at once (say
		// `gatehouse migrate` and a starting `serve`) may both apply the same migration;
		// the loser's transaction fails ("table … already exists") and rolls back. When
		// the schema moved on further than our own work explains, that is what
		// happened: look again. Each pass needs progress, so this ends.
		after, _, verr := p.GetVersions(ctx)
		if db.dialect != SQLite || verr != nil || after <= before+int64(len(res)) {
			return out, fmt.Errorf("migrate: %w", err)
		}
	}
}

// SchemaState reports the applied and the newest known version.
func (db *DB) SchemaState(ctx context.Context) (current, target int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, err
	}
	current, target, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	return current, target, nil
}

// CheckSchema returns store.ErrSchemaBehind when migrations are pending.
func (db *DB) CheckSchema(ctx context.Context) error {
	current, target, err := db.SchemaState(ctx)
	if err != nil {
		return err
	}
	if current < target {
		return fmt.Errorf("%w: at version %d, this binary needs %d", store.ErrSchemaBehind, current, target)
	}
	if current > target {
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d): upgrade gatehouse", current, target)
	}
	return nil
}

// MigrateTo applies pending migrations up to and including version; tests use it to
// build a database that is behind.
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// versionTableExists reports whether migrations ever ran on this database.
func (db *DB) versionTableExists(ctx context.Context) (bool, error) {
	var n int
	var err error
	if db.dialect == Postgres {
		err = db.writer.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name = 'goose_db_version'`).Scan(&n)
	} else {
		err = db.writer.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`).Scan(&n)
	}
	return n > 0, err
}
