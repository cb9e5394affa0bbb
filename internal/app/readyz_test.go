package app_test

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
)

// tcpProxy forwards a loopback port to a database so a test can cut the database off
// and bring it back without touching the server itself.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target, addr: "127.0.0.1:0"}
	p.up()
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) up() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { io.Copy(d, c); d.Close() }()
			go func() { io.Copy(c, d); c.Close() }()
		}
	}()
}

func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestReadyzFollowsDatabase(t *testing.T) {
	dsn := apptest.FreshPostgres(t)
	proxy := newTCPProxy(t, apptest.HostPort(dsn))
	s := apptest.Start(t, apptest.WithDatabase(withParam(apptest.ReplaceHost(dsn, proxy.addr), "connect_timeout=2")))
	status := func() int {
		resp := s.Get(t, "/readyz")
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor := func(want int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for status() != want {
			if time.Now().After(deadline) {
				t.Fatalf("readyz never became %d", want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if got := status(); got != 200 {
		t.Fatalf("readyz = %d with the database up", got)
	}
	proxy.down()
	waitFor(503)
	// Liveness is independent of the database: the process is fine.
	if resp := s.Get(t, "/healthz"); resp.StatusCode != 200 {
		t.Fatalf("healthz = %d while the database is down", resp.StatusCode)
	}
	// Pages that need the database fail with a clear 5xx page, not a hang or a panic.
	proxy.up()
	waitFor(200)
	if resp := s.Get(t, "/t/default/"); resp.StatusCode != 200 {
		t.Fatalf("tenant page = %d after the database came back", resp.StatusCode)
	}
}

func withParam(dsn, kv string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + kv
	}
	return dsn + "?" + kv
}

func TestNodeOnPostgres(t *testing.T) {
	s := apptest.Start(t, apptest.WithDatabase(apptest.FreshPostgres(t)))
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/t/default/": 200, "/t/nope/": 404} {
		resp := s.Get(t, path)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	if s.App.DB.Dialect() != "postgres" {
		t.Fatalf("dialect %s", s.App.DB.Dialect())
	}
}
