package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRateLimiterAllow(t *testing.T) {
	clock := newFakeClock()
	l := NewRateLimiter(0.5, 2, clock.Now) // one token every two seconds
	steps := []struct {
		advance   time.Duration
		key       string
		wantOK    bool
		wantAfter time.Duration
	}{
		{0, "a", true, 0},
		{0, "a", true, 0},
		{0, "a", false, 2 * time.Second},
		{0, "b", true, 0}, // another client is unaffected
		{500 * time.Millisecond, "a", false, 1500 * time.Millisecond},
		{1500 * time.Millisecond, "a", true, 0},
		{0, "a", false, 2 * time.Second},
		{time.Hour, "a", true, 0}, // refills, but only up to the burst
		{0, "a", true, 0},
		{0, "a", false, 2 * time.Second},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		ok, after := l.Allow(s.key)
		if ok != s.wantOK || after != s.wantAfter {
			t.Fatalf("step %d: Allow(%q) = %v, %v; want %v, %v", i, s.key, ok, after, s.wantOK, s.wantAfter)
		}
	}
}

func TestRateLimiterMemoryIsBounded(t *testing.T) {
	clock := newFakeClock()
	l := NewRateLimiter(1, 5, clock.Now)
	l.maxKeys = 100
	for i := range 1000 {
		l.Allow(fmt.Sprintf("198.51.%d.%d", i/256, i%256))
	}
	if n := len(l.buckets); n > 100 {
		t.Fatalf("tracking %d clients, cap is 100", n)
	}
	// Once every client has been idle long enough to refill, they are
	// forgotten.
	clock.Advance(time.Minute)
	l.Allow("203.0.113.1")
	if n := len(l.buckets); n != 1 {
		t.Fatalf("tracking %d clients after all went idle, want 1", n)
	}
}

func TestRateLimiterMiddleware(t *testing.T) {
	rd, _ := MustRenderer(t)
	tests := []struct {
		name     string
		path     string
		accept   string
		wantJSON bool
	}{
		{"page", "/t/acme/signin", "text/html", false},
		{"oauth endpoint", "/t/acme/oauth2/token", "", true},
		{"admin api", "/admin/api/v1/tenants", "", true},
		{"json accept", "/t/acme/signin", "application/json", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			h := NewRateLimiter(0.1, 1, clock.Now).Middleware(rd)(okHandler)
			request := func(ip string) *httptest.ResponseRecorder {
				t.Helper()
				r := httptest.NewRequest("POST", tt.path, nil)
				r.Header.Set("Accept", tt.accept)
				r = r.WithContext(WithClientIP(r.Context(), netip.MustParseAddr(ip)))
				return serve(t, h, r)
			}
			if w := request("198.51.100.1"); w.Code != http.StatusOK {
				t.Fatalf("first request: status %d", w.Code)
			}
			clock.Advance(time.Second)
			w := request("198.51.100.1")
			if w.Code != http.StatusTooManyRequests {
				t.Fatalf("second request: status %d, want 429", w.Code)
			}
			if got := w.Header().Get("Retry-After"); got != "9" {
				t.Errorf("Retry-After = %q, want 9", got)
			}
			if tt.wantJSON {
				var body map[string]string
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != "rate_limited" {
					t.Errorf("body = %q, want JSON error rate_limited", w.Body.String())
				}
			} else if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(w.Body.String(), "9 seconds") {
				t.Errorf("Content-Type %q, body %q: want a page saying how long to wait", ct, w.Body.String())
			}
			if w := request("198.51.100.2"); w.Code != http.StatusOK {
				t.Errorf("other client: status %d, want 200", w.Code)
			}
		})
	}
}

func TestRateLimiterGroupsIPv6By64(t *testing.T) {
	clock := newFakeClock()
	h := NewRateLimiter(0.1, 1, clock.Now).Middleware(nil)(okHandler)
	codes := []int{}
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "[" + ip + "]:443"
		codes = append(codes, serve(t, h, r).Code)
	}
	want := []int{200, 429, 200}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Fatalf("statuses = %v, want %v (same /64 shares a bucket)", codes, want)
	}
}
