package cli_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/cli"
)

// server is a `gatehouse serve` running in the test process.
type server struct {
	t              *testing.T
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

// startServe runs `gatehouse serve` with args (database flags added) until the test
// stops it or ends.
func (g *gatehouse) startServe(args ...string) *server {
	g.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{t: g.t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	argv := append(append(g.dbFlags(), "serve"), args...)
	go func() {
		s.done <- cli.Run(ctx, argv, cli.Env{Stdout: s.stdout, Stderr: s.stderr, LookupEnv: g.lookupEnv})
	}()
	g.t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			g.t.Error("serve did not return after its context was cancelled")
		}
	})
	return s
}

// exit waits for serve to return on its own and returns its exit code.
func (s *server) exit() int {
	s.t.Helper()
	select {
	case code := <-s.done:
		s.done <- code // Cleanup waits on it too.
		return code
	case <-time.After(20 * time.Second):
		s.t.Fatalf("serve is still running; stdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
		return 0
	}
}

// stop cancels serve's context, as SIGTERM does, and returns its exit code.
func (s *server) stop() int {
	s.t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		s.done <- code
		return code
	case <-time.After(10 * time.Second):
		s.t.Fatal("serve did not shut down within 10s of being cancelled")
		return 0
	}
}

var runningAt = regexp.MustCompile(`Gatehouse is running at (\S+)\n`)

// waitReady waits until serve has printed its address and answers /healthz, and
// returns the base URL it printed.
func (s *server) waitReady() string {
	s.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-s.done:
			s.done <- code
			s.t.Fatalf("serve exited with %d before it was ready; stderr:\n%s", code, s.stderr)
		default:
		}
		if m := runningAt.FindStringSubmatch(s.stdout.String()); m != nil {
			resp, err := client.Get(m[1] + "/healthz")
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok" {
					return m[1]
				}
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.t.Fatalf("serve did not answer /healthz within 10s; stdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
	return ""
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var setupLink = regexp.MustCompile(`(http://\S+/t/system/setup\?token=)(\S+)`)

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)
	port := strconv.Itoa(freePort(t))
	base := "http://localhost:" + port

	s := g.startServe("--listen", "127.0.0.1:"+port)
	if got := s.waitReady(); got != base {
		t.Errorf("serve printed base URL %s, want %s", got, base)
	}
	out := s.stdout.String()
	mustContain(t, "serve stdout", out, "Default tenant issuer: "+base+"/t/default\n")
	m := setupLink.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("serve printed no operator setup link:\n%s", out)
	}
	if !strings.HasPrefix(m[1], base+"/") || len(m[2]) < 32 {
		t.Errorf("setup link %s%s is not on %s or has a short token", m[1], m[2], base)
	}
	token := m[2]

	// Following the link must not put the token in the request log either.
	if resp, err := http.Get(m[0]); err == nil {
		resp.Body.Close()
	}

	info, err := os.Stat(g.kekPath())
	if err != nil {
		t.Fatalf("serve did not create the key-encryption key: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key-encryption key has mode %v, want 0600", perm)
	}
	kek, _ := os.ReadFile(g.kekPath())
	if _, err := os.Stat(g.dbPath); err != nil {
		t.Errorf("serve did not create the database: %v", err)
	}

	if code := s.stop(); code != 0 {
		t.Errorf("serve exited with %d after a graceful shutdown, want 0; stderr:\n%s", code, s.stderr)
	}
	logs := s.stderr.String()
	if strings.Contains(logs, token) {
		t.Errorf("the setup token appears in the logs:\n%s", logs)
	}
	mustContain(t, "serve logs", logs, "key-encryption key", "stopped")

	// The database serve prepared is complete: administration commands work on it.
	mustContain(t, "tenant list", g.mustRun("tenant", "list"), "system", "default")
	g.mustRun("audit", "verify")

	// A restart finds everything in place: no schema complaint, no new key, no new tenants.
	port2 := strconv.Itoa(freePort(t))
	s2 := g.startServe("--listen", "127.0.0.1:"+port2)
	s2.waitReady()
	if code := s2.stop(); code != 0 {
		t.Errorf("second serve exited with %d; stderr:\n%s", code, s2.stderr)
	}
	logs2 := s2.stderr.String()
	for _, unwanted := range []string{"schema", "migrat", "created tenant", "created a new key", "level=ERROR"} {
		if strings.Contains(logs2, unwanted) {
			t.Errorf("second serve logged %q:\n%s", unwanted, logs2)
		}
	}
	if again, _ := os.ReadFile(g.kekPath()); !bytes.Equal(again, kek) {
		t.Error("restarting serve replaced the key-encryption key")
	}
	mustContain(t, "second serve stdout", s2.stdout.String(), "http://localhost:"+port2+"/t/default")
}

func TestServeUnreachableDatabase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url string
	}{
		{"no password", "postgres://postgres@127.0.0.1:1/nope?connect_timeout=2"},
		{"password", "postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGatehouse(t)
			s := g.startServe("--listen", "127.0.0.1:0", "--database", tc.url)
			if code := s.exit(); code == 0 {
				t.Fatal("serve with an unreachable database exited 0")
			}
			all := s.stdout.String() + s.stderr.String()
			if strings.Contains(all, "s3cret") {
				t.Errorf("the database password was printed:\n%s", all)
			}
			line := mustOneLine(t, s.stderr.String())
			mustContain(t, "error", line, "database", "127.0.0.1:1")
			if strings.Contains(s.stdout.String(), "running at") {
				t.Errorf("serve claimed to be running:\n%s", s.stdout)
			}
		})
	}
}

func TestServeSchemaBehind(t *testing.T) {
	t.Parallel()
	g := newBehind(t)

	s := g.startServe("--listen", "127.0.0.1:0")
	if code := s.exit(); code == 0 {
		t.Fatal("serve on a schema that is behind exited 0")
	}
	line := mustOneLine(t, s.stderr.String())
	mustContain(t, "error", line, "gatehouse migrate", "--auto-migrate")
	if s.stdout.String() != "" {
		t.Errorf("serve printed to stdout although it did not start:\n%s", s.stdout)
	}

	// Port 0 picks a free port, and the printed URL names the port actually used.
	s = g.startServe("--listen", "127.0.0.1:0", "--auto-migrate")
	base := s.waitReady()
	if strings.HasSuffix(base, ":0") || !strings.HasPrefix(base, "http://localhost:") {
		t.Errorf("serve --listen 127.0.0.1:0 printed base URL %s", base)
	}
	mustContain(t, "serve stdout", s.stdout.String(), base+"/t/default")
	if code := s.stop(); code != 0 {
		t.Errorf("serve exited with %d; stderr:\n%s", code, s.stderr)
	}
	mustContain(t, "serve logs", s.stderr.String(), "applied migration")
	if got := strings.TrimSpace(g.mustRun("migrate")); got != "schema is up to date" {
		t.Errorf("migrate after serve --auto-migrate printed %q", got)
	}
}

func TestServePortInUse(t *testing.T) {
	t.Parallel()
	g := newGatehouse(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	s := g.startServe("--listen", ln.Addr().String())
	if code := s.exit(); code == 0 {
		t.Fatal("serve on a port in use exited 0")
	}
	mustContain(t, "error", mustOneLine(t, s.stderr.String()), "--listen", ln.Addr().String())
	for _, path := range []string{g.dbPath, g.kekPath()} {
		if _, err := os.Stat(path); err == nil {
			t.Errorf("serve that could not listen still created %s", path)
		}
	}
}
