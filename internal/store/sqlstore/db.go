// Package sqlstore implements store.Store on SQLite (modernc.org/sqlite) and PostgreSQL
// (pgx) with one set of portable SQL. Dialect differences are confined to this file:
// connection setup, placeholder style and error classification.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Dialect names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is a store.Store backed by database/sql.
type DB struct {
	dialect string
	// writer takes every read-write transaction. On SQLite it has exactly one
	// connection, so writers queue in Go instead of failing with "database is locked".
	writer *sql.DB
	// reader serves View; on PostgreSQL it is the same pool as writer.
	reader *sql.DB
}

var _ store.Store = (*DB)(nil)

// Open opens "sqlite:PATH" or a "postgres://" URL without migrating it.
func Open(ctx context.Context, dsn string) (*DB, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return OpenSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return OpenPostgres(ctx, dsn)
	default:
		return nil, fmt.Errorf("database %q: want sqlite:PATH or a postgres:// URL", Redact(dsn))
	}
}

// ErrNoDatabase means OpenExisting found no SQLite file at the path it was given.
var ErrNoDatabase = errors.New("no database")

// OpenExisting opens dsn like Open, except that it never creates a SQLite file: a
// missing one is an error wrapping ErrNoDatabase. Commands that only read or change
// an installed database use it, so a mistyped path does not leave an empty file
// behind that later looks like a database whose schema is behind.
func OpenExisting(ctx context.Context, dsn string) (*DB, error) {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		return openSQLite(ctx, path, false)
	}
	return Open(ctx, dsn)
}

// OpenSQLite opens (creating if needed) the SQLite file at path.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	return openSQLite(ctx, path, true)
}

// openSQLite opens the SQLite file at path, creating it only when create is set.
func openSQLite(ctx context.Context, path string, create bool) (*DB, error) {
	if path == "" {
		return nil, errors.New("database: empty sqlite path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("database sqlite:%s: the path may not contain ? or #", path)
	}
	// mode=rw makes SQLite itself refuse to create the file, should it vanish between
	// the check and the open.
	mode := ""
	if !create {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", ErrNoDatabase, path)
		} else if err != nil {
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
		mode = "&mode=rw"
	} else if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		// The file holds personal data and hashed secrets: create it readable by its
		// owner only. SQLite gives the -wal and -shm files the same mode.
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	// Every pragma is set here and nowhere else:
	//   journal_mode=WAL   readers never block the writer and vice versa;
	//   busy_timeout       a reader meeting a checkpoint waits instead of failing;
	//   foreign_keys=ON    SQLite leaves them off unless asked, per connection;
	//   synchronous=NORMAL durable across application crashes, the WAL default;
	//   _txlock=immediate  writers take the write lock at BEGIN, so a transaction that
	//                      read first never fails to upgrade its lock mid-way.
	base := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)" + mode
	writer, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	// Readers skip the journal_mode pragma: the writer already switched the file to
	// WAL, and asking again from every new reader connection takes locks that make
	// the writer wait.
	reader, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=query_only(1)"+mode)
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	reader.SetMaxOpenConns(8)
	reader.SetMaxIdleConns(8)
	db := &DB{dialect: SQLite, writer: writer, reader: reader}
	// Opening the writer first creates the file and switches it to WAL before any
	// query_only reader connects.
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return db, nil
}

// OpenPostgres connects to PostgreSQL at url.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", Redact(url), err)
	}
	pool.SetMaxOpenConns(20)
	pool.SetMaxIdleConns(20)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{dialect: Postgres, writer: pool, reader: pool}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.Ping(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", Redact(url), err)
	}
	return db, nil
}

// Dialect implements store.Store.
func (db *DB) Dialect() string { return db.dialect }

// Ping implements store.Store.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	if db.reader != db.writer {
		if err := db.reader.PingContext(ctx); err != nil {
			return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
		}
	}
	return nil
}

// Close implements store.Store.
func (db *DB) Close() error {
	err := db.writer.Close()
	if db.reader != db.writer {
		if rerr := db.reader.Close(); err == nil {
			err = rerr
		}
	}
	return err
}

// SQL exposes the writer pool for migrations and tests.
func (db *DB) SQL() *sql.DB { return db.writer }

// InTx implements store.Store.
func (db *DB) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return db.run(ctx, db.writer, nil, fn)
}

// View implements store.Store.
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: db.dialect == Postgres}
	return db.run(ctx, db.reader, opts, fn)
}

const maxAttempts = 5

func (db *DB) run(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(store.Tx) error) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		err = db.runOnce(ctx, pool, opts, fn)
		if err == nil || !db.retryable(err) || ctx.Err() != nil {
			return err
		}
		// Back off a little so two nodes that collided do not collide again.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 3 * time.Millisecond):
		}
	}
	return err
}

func (db *DB) runOnce(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(store.Tx) error) error {
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return db.classify(err)
	}
	// Roll back on every way out except reaching Commit: an error, a panic (which goes
	// on up), and runtime.Goexit, as when a test calls t.FailNow inside fn.
	// A transaction left open would hold SQLite's only writer connection for good.
	done := false
	defer func() {
		if !done {
			sqlTx.Rollback()
		}
	}()
	if err := fn(&tx{db: db, tx: sqlTx}); err != nil {
		return err
	}
	done = true
	return db.classify(sqlTx.Commit())
}

// retryable reports whether err is a transient conflict worth running the
// transaction again for.
func (db *DB) retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		code := sqErr.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	return false
}

// classify maps driver errors onto the store's sentinel errors.
func (db *DB) classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", store.ErrConflict, pgErr.ConstraintName)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
	}
	return err
}

// containsExpr returns a condition that holds when the text expression haystack
// contains the next placeholder's value as a plain, case-sensitive substring. LIKE does
// not do: it reads "%" and "_" in the value as wildcards, and SQLite's ignores case.
func (db *DB) containsExpr(haystack string) string {
	if db.dialect == Postgres {
		return "strpos(" + haystack + ", ?) > 0"
	}
	return "instr(" + haystack + ", ?) > 0"
}

// rebind turns the portable "?" placeholders into "$n" for PostgreSQL.
func (db *DB) rebind(q string) string {
	if db.dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Redact hides passwords in a database URL (in the user part and in the query) so it
// can appear in an error or a log line.
func Redact(dsn string) string {
	if strings.HasPrefix(dsn, "sqlite:") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable database URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if strings.Contains(strings.ToLower(k), "pass") || strings.Contains(strings.ToLower(k), "key") {
				q.Set(k, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// IsDatabaseError reports whether err came from the database or the connection to it,
// as opposed to a caller's own validation error returned through a transaction.
func IsDatabaseError(err error) bool {
	var pgErr *pgconn.PgError
	var sqErr *sqlite.Error
	var netErr net.Error
	return errors.As(err, &pgErr) || errors.As(err, &sqErr) || errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) || isConnectError(err)
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}
