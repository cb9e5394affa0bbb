package notify

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// t0 is the fake clock's starting point.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// MustOpenStore returns a migrated SQLite store in a temporary directory.
func MustOpenStore(t *testing.T) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// MustQueue commits one email to the outbox.
func MustQueue(t *testing.T, s store.Store, key string, e Email, now time.Time) {
	t.Helper()
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		return QueueEmail(context.Background(), tx, "default", key, e, now)
	})
	if err != nil {
		t.Fatalf("queue %s: %v", key, err)
	}
}

// clock is a settable time source shared by a test and the code under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logBuffer collects a logger's JSON output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// recordingSender passes messages to next and remembers every msgID it was given,
// including repeats, so a test can tell "sent twice" from "stored once".
type recordingSender struct {
	next Sender
	mu   sync.Mutex
	ids  []string
}

func (r *recordingSender) Send(ctx context.Context, msgID, tenantID string, e Email) error {
	r.mu.Lock()
	r.ids = append(r.ids, msgID)
	r.mu.Unlock()
	return r.next.Send(ctx, msgID, tenantID, e)
}

func (r *recordingSender) IDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// senderFunc adapts a function to Sender.
type senderFunc func(ctx context.Context, msgID, tenantID string, e Email) error

func (f senderFunc) Send(ctx context.Context, msgID, tenantID string, e Email) error {
	return f(ctx, msgID, tenantID, e)
}

func mustGetOutbox(t *testing.T, s store.Store, id string) *store.OutboxMessage {
	t.Helper()
	var m *store.OutboxMessage
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		m, err = tx.GetOutbox(context.Background(), id)
		return err
	})
	if err != nil {
		t.Fatalf("get outbox %s: %v", id, err)
	}
	return m
}

func mustDepth(t *testing.T, s store.Store) int {
	t.Helper()
	var n int
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		n, err = tx.OutboxDepth(context.Background())
		return err
	})
	if err != nil {
		t.Fatalf("outbox depth: %v", err)
	}
	return n
}

func mustListMail(t *testing.T, s store.Store) []store.Mail {
	t.Helper()
	var mails []store.Mail
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		mails, err = tx.ListMail(context.Background(), 1000)
		return err
	})
	if err != nil {
		t.Fatalf("list mail: %v", err)
	}
	return mails
}
