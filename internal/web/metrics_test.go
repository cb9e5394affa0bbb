package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// counterValue returns gatehouse_http_requests_total for the given labels.
func counterValue(t *testing.T, reg *prometheus.Registry, route, method, code string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "gatehouse_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["method"] == method && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestMetricsCountByRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t/{tenant}/signin", func(w http.ResponseWriter, r *http.Request) {})
	h := m.Middleware(mux)

	for _, p := range []string{"/t/acme/signin", "/t/globex/signin", "/t/acme/signin?x=1", "/random/1", "/random/2"} {
		serve(t, h, httptest.NewRequest("GET", p, nil))
	}
	serve(t, h, httptest.NewRequest("BREW", "/t/acme/signin", nil))

	tests := []struct {
		route, method, code string
		want                float64
	}{
		{"GET /t/{tenant}/signin", "GET", "200", 3},
		{"unmatched", "GET", "404", 2},
		{"unmatched", "other", "405", 1},
		{"/t/acme/signin", "GET", "200", 0}, // raw paths never become labels
	}
	for _, tt := range tests {
		if got := counterValue(t, reg, tt.route, tt.method, tt.code); got != tt.want {
			t.Errorf("requests{route=%q,method=%q,code=%q} = %v, want %v", tt.route, tt.method, tt.code, got, tt.want)
		}
	}
}

func TestNewMetricsTwiceOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := NewMetrics(reg), NewMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	serve(t, a.Middleware(mux), httptest.NewRequest("GET", "/healthz", nil))
	serve(t, b.Middleware(mux), httptest.NewRequest("GET", "/healthz", nil))
	if got := counterValue(t, reg, "GET /healthz", "GET", "200"); got != 2 {
		t.Fatalf("count = %v, want 2 shared between both servers", got)
	}
}
