// Package apptest starts a complete Gatehouse node on a loopback port for end-to-end
// tests, exactly as `gatehouse serve` would, on SQLite or (when configured) PostgreSQL.
package apptest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/oauth"
	"github.com/gatehouse-id/gatehouse/internal/secret"
)

// PostgresEnv names the variable that points tests at a PostgreSQL server.
const PostgresEnv = "GATEHOUSE_TEST_POSTGRES_URL"

// Server is a running node.
type Server struct {
	URL    string // base URL, e.g. http://localhost:41234
	App    *app.App
	Logs   *Buffer // everything the node logged
	Client *http.Client
	stop   func()
	// transport is shared by the node's test clients with enough idle connections
	// for parallel benchmarks (the default keeps two per host and churns the rest).
	transport *http.Transport
}

// Buffer is a goroutine-safe log sink.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Settings are what options may change before the node opens.
type Settings struct {
	Config config.Config
	Now    func() time.Time
}

// Option changes the settings before the node opens.
type Option func(*Settings)

// WithDatabase uses dsn instead of a fresh SQLite file.
func WithDatabase(dsn string) Option { return func(s *Settings) { s.Config.Database = dsn } }

// WithConfig changes the configuration.
func WithConfig(f func(*config.Config)) Option { return func(s *Settings) { f(&s.Config) } }

// WithClock gives the node a controllable clock.
func WithClock(c *Clock) Option { return func(s *Settings) { s.Now = c.Now } }

// Clock is a settable clock for tests; it starts at the real time.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the real time plus every Advance so far.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// quietEngine installs, once per test binary, the default logger serve installs.
var quietEngine sync.Once

// Start opens a node on a fresh SQLite database in t.TempDir() and serves it on
// 127.0.0.1 with a base URL of http://localhost:PORT; it stops when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	cfg := config.Config{
		Listen:         ln.Addr().String(),
		BaseURL:        fmt.Sprintf("http://localhost:%d", port),
		Database:       "sqlite:" + filepath.Join(dir, "gatehouse.db"),
		KEKFile:        filepath.Join(dir, "gatehouse.kek"),
		LogFormat:      "text",
		LogLevel:       "debug",
		OutboxInterval: 50 * time.Millisecond,
		RateLimit:      50,
	}
	st := Settings{Config: cfg}
	for _, o := range opts {
		o(&st)
	}
	cfg = st.Config
	logs := &Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The OAuth engine logs through the default logger; filter it as serve does.
	quietEngine.Do(func() {
		slog.SetDefault(slog.New(oauth.EngineLogFilter(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	})
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, app.Options{Logger: logger, Now: st.Now})
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("open: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	s := &Server{URL: cfg.BaseURL, App: a, Logs: logs, transport: tr, Client: &http.Client{
		Transport: tr,
		Jar:       jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(40 * time.Second):
				t.Errorf("server did not stop within 40 s")
			}
			a.Close()
			tr.CloseIdleConnections()
		})
	}
	t.Cleanup(s.stop)
	return s
}

// Stop shuts the node down gracefully (also done at test end).
func (s *Server) Stop() { s.stop() }

// Get fetches path (relative to the base URL) with the server's client.
func (s *Server) Get(t testing.TB, path string) *http.Response {
	t.Helper()
	resp, err := s.Client.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// FreshPostgres creates an empty database on the server named by
// GATEHOUSE_TEST_POSTGRES_URL, drops it when the test ends, and returns its URL. It
// skips the test, saying how to run it, when the variable is not set.
func FreshPostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s=postgres://user@host:5432/db to run them", PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "gh_test_" + secret.ID()[:16]
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// ReplaceHost points a postgres URL at another host:port (for fault-injection proxies).
func ReplaceHost(dsn, hostport string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Host = hostport
	return u.String()
}

// HostPort returns the host:port of a postgres URL.
func HostPort(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	if !strings.Contains(u.Host, ":") {
		return u.Host + ":5432"
	}
	return u.Host
}
