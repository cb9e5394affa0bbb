package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type stackFixture struct {
	handler http.Handler
	reg     *prometheus.Registry
	logs    *syncBuffer
}

func mustStack(t *testing.T) stackFixture {
	t.Helper()
	rd, _ := MustRenderer(t)
	ips, err := NewIPResolver([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /t/{tenant}/account", func(w http.ResponseWriter, r *http.Request) {
		if err := ParseForm(w, r); err != nil {
			Fail(w, r, rd, err)
			return
		}
		_, _ = w.Write([]byte("saved " + ClientIP(r.Context()).String()))
	})
	mux.HandleFunc("POST /t/{tenant}/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		_ = WriteJSON(w, http.StatusOK, map[string]string{"access_token": "x"})
	})
	mux.HandleFunc("GET /t/{tenant}/boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("/", rd.NotFound)
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	h, err := Stack{
		Logger:       slog.New(slog.NewJSONHandler(logs, nil)),
		Renderer:     rd,
		IPs:          ips,
		Limiter:      NewRateLimiter(100, 100, newFakeClock().Now),
		Metrics:      NewMetrics(reg),
		HSTS:         true,
		MaxBodyBytes: 32,
		CSRFBypass:   []string{"POST /t/{tenant}/oauth2/token"},
	}.Wrap(mux)
	if err != nil {
		t.Fatal(err)
	}
	return stackFixture{h, reg, logs}
}

func TestStack(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		site       string
		wantStatus int
		wantRoute  string
		wantBody   string
	}{
		{"form saved, client from proxy header", "POST", "/t/acme/account", "name=Ada", "same-origin", 200, "POST /t/{tenant}/account", "saved 198.51.100.9"},
		{"cross-site form refused with a page", "POST", "/t/acme/account", "name=Ada", "cross-site", 403, "unmatched", CrossSiteMessage},
		{"cross-site API call refused with JSON", "POST", "/admin/api/v1/users", "", "cross-site", 403, "unmatched", `"error":"access_denied"`},
		{"token endpoint bypasses cross-origin check", "POST", "/t/acme/oauth2/token", "", "cross-site", 200, "POST /t/{tenant}/oauth2/token", "access_token"},
		{"oversize body", "POST", "/t/acme/account", "name=" + strings.Repeat("a", 64), "same-origin", 413, "POST /t/{tenant}/account", TooLargeMessage},
		{"panic", "GET", "/t/acme/boom", "", "", 500, "GET /t/{tenant}/boom", InternalMessage},
		{"unknown page", "GET", "/nowhere", "", "", 404, "/", NotFoundMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustStack(t)
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			r.RemoteAddr = "10.0.0.2:5000"
			r.Header.Set("X-Forwarded-For", "198.51.100.9")
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.site != "" {
				r.Header.Set("Sec-Fetch-Site", tt.site)
			}
			w := serve(t, f.handler, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body.String())
			}
			if !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantBody, w.Body.String())
			}
			id := w.Header().Get(RequestIDHeader)
			if id == "" || w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("Strict-Transport-Security") == "" {
				t.Errorf("missing request id or security headers: %v", w.Header())
			}
			if tt.wantStatus >= 500 && !strings.Contains(w.Body.String(), id) {
				t.Errorf("error page does not show request id %s", id)
			}
			code := w.Result().Status[:3]
			if got := counterValue(t, f.reg, tt.wantRoute, tt.method, code); got != 1 {
				t.Errorf("requests{route=%q,code=%s} = %v, want 1", tt.wantRoute, code, got)
			}
			var line map[string]any
			logLines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
			if err := json.Unmarshal([]byte(logLines[len(logLines)-1]), &line); err != nil {
				t.Fatalf("access log line: %v", err)
			}
			if line["route"] != strings.ReplaceAll(tt.wantRoute, "unmatched", "") || line["request_id"] != id || line["client_ip"] != "198.51.100.9" {
				t.Errorf("access log = %v", line)
			}
		})
	}
}

func TestStackRejectsBadConfig(t *testing.T) {
	rd, _ := MustRenderer(t)
	tests := []struct {
		name  string
		stack Stack
	}{
		{"no renderer", Stack{}},
		{"invalid bypass pattern", Stack{Renderer: rd, CSRFBypass: []string{"POST /t/{tenant"}}},
		{"conflicting bypass patterns", Stack{Renderer: rd, CSRFBypass: []string{"/a", "/a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.stack.Wrap(okHandler); err == nil {
				t.Fatal("Wrap accepted a broken configuration")
			}
		})
	}
}

func TestStackRateLimitsPerClient(t *testing.T) {
	rd, _ := MustRenderer(t)
	clock := newFakeClock()
	h, err := Stack{Renderer: rd, Limiter: NewRateLimiter(1, 2, clock.Now)}.Wrap(okHandler)
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for range 3 {
		r := httptest.NewRequest("GET", "/t/acme/signin", nil)
		r.RemoteAddr = "203.0.113.4:1234"
		codes = append(codes, serve(t, h, r).Code)
	}
	clock.Advance(time.Second)
	r := httptest.NewRequest("GET", "/t/acme/signin", nil)
	r.RemoteAddr = "203.0.113.4:1234"
	codes = append(codes, serve(t, h, r).Code)
	want := []int{200, 200, 429, 200}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("statuses = %v, want %v", codes, want)
		}
	}
}
