package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// tx implements store.Tx on one database/sql transaction.
type tx struct {
	db *DB
	tx *sql.Tx
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(ctx, t.db.rebind(q), args...)
	return res, t.db.classify(err)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := t.tx.QueryContext(ctx, t.db.rebind(q), args...)
	return rows, t.db.classify(err)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.db.rebind(q), args...)
}

// insertUnique runs an INSERT (without its ON CONFLICT clause) and returns
// store.ErrConflict when a row with the same unique key exists. Skipping the row with
// ON CONFLICT DO NOTHING, rather than failing the statement, keeps a PostgreSQL
// transaction usable after the conflict, as a SQLite one is: a caller may handle
// ErrConflict and carry on in the same transaction on either backend.
func (t *tx) insertUnique(ctx context.Context, q string, args ...any) error {
	res, err := t.exec(ctx, q+` ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrConflict
	}
	return nil
}

// affected returns store.ErrNotFound when an update touched no row.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errNotFound
	}
	return nil
}

// micros stores a time as unix microseconds; the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// joinList and splitList store short string lists (roles, amr) as one
// space-separated column; their values never contain spaces.
func joinList(v []string) string { return strings.Join(v, " ") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

func nullableJSON(b []byte) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}
