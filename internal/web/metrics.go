package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts and times HTTP requests per route for Prometheus.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers gatehouse_http_requests_total{route,method,code} and
// gatehouse_http_request_duration_seconds{route} with reg. If reg already
// holds collectors of those names (a second server in the same process), they
// are shared rather than treated as an error. It panics only if reg rejects
// them for another reason, such as a clash of label names, which is a
// programming error.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_http_requests_total",
		Help: "HTTP requests served, by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatehouse_http_request_duration_seconds",
		Help:    "Time to serve HTTP requests, by route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	return &Metrics{
		requests: register(reg, requests),
		duration: register(reg, duration),
	}
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// unmatchedRoute labels requests no route pattern matched.
const unmatchedRoute = "unmatched"

// Middleware records every request under its route pattern (r.Pattern, set by
// ServeMux), never its raw path, so a scan of random URLs cannot create an
// unbounded number of series. Methods outside the standard set are counted as
// "other" for the same reason. Like AccessLog, it must wrap the mux with no
// request-copying middleware in between.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" {
				route = unmatchedRoute
			}
			m.requests.WithLabelValues(route, metricMethod(r.Method), strconv.Itoa(sw.Status())).Inc()
			m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

func metricMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}
