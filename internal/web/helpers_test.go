package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// MustRenderer returns a renderer with this package's views plus pages, and a
// buffer holding everything it logs.
func MustRenderer(t *testing.T, pages ...fstest.MapFS) (*Renderer, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	opts := RendererOptions{Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	for _, p := range pages {
		opts.Pages = append(opts.Pages, p)
	}
	rd, err := NewRenderer(opts)
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	return rd, logs
}

// syncBuffer is a log sink that handlers on other goroutines may write to.
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

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// serve runs one request through h and returns the recorded response.
func serve(t *testing.T, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// okHandler answers 200 "ok".
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = w.Write([]byte("ok"))
})
