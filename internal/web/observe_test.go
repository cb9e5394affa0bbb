package web

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestRequestIDMiddleware(t *testing.T) {
	var seen []string
	h := RequestIDMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, RequestID(r.Context()))
	}))
	hexID := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for i := range 2 {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(RequestIDHeader, "chosen-by-client")
		w := serve(t, h, r)
		if got := w.Header().Get(RequestIDHeader); got != seen[i] || !hexID.MatchString(got) {
			t.Fatalf("header %q, context %q: want the same 32 hex digits", got, seen[i])
		}
	}
	if seen[0] == seen[1] {
		t.Fatalf("two requests got the same id %s", seen[0])
	}
}

func TestRecover(t *testing.T) {
	const secret = "db password is hunter2"
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"panic before writing", func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "__Host-gh_session", Value: "half-made"})
			panic(secret)
		}},
		{"panic with an error", func(w http.ResponseWriter, r *http.Request) {
			panic(errors.New(secret))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, _ := MustRenderer(t)
			logs := &syncBuffer{}
			h := Recover(slog.New(slog.NewJSONHandler(logs, nil)), rd)(tt.handler)
			r := httptest.NewRequest("GET", "/t/acme/account", nil)
			r = r.WithContext(WithRequestID(r.Context(), "req-7f3a"))
			w := serve(t, h, r)
			body := w.Body.String()
			if w.Code != http.StatusInternalServerError {
				t.Fatalf("status = %d, want 500", w.Code)
			}
			if !strings.Contains(body, "req-7f3a") || !strings.Contains(body, InternalMessage) {
				t.Errorf("body lacks the sentence or the request id:\n%s", body)
			}
			if strings.Contains(body, "hunter2") || strings.Contains(body, "goroutine") {
				t.Errorf("body leaks the panic:\n%s", body)
			}
			if c := w.Header().Values("Set-Cookie"); len(c) != 0 {
				t.Errorf("a failed request still set cookies: %v", c)
			}
			if !strings.Contains(logs.String(), "req-7f3a") || !strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), "stack") {
				t.Errorf("log lacks request id, panic value or stack: %s", logs.String())
			}
		})
	}
}

func TestRecoverPassesOnAbortHandler(t *testing.T) {
	h := Recover(slog.New(slog.DiscardHandler), nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler passed on", v)
		}
	}()
	serve(t, h, httptest.NewRequest("GET", "/", nil))
}

func TestRecoverAbortsAStartedResponse(t *testing.T) {
	h := Recover(slog.New(slog.DiscardHandler), nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html>half a page"))
		panic("boom")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("client read a complete response; a truncated page must look like a failure")
	}
}

func TestAccessLog(t *testing.T) {
	logs := &syncBuffer{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /t/{tenant}/device", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("12345"))
		// The writer must still flush through the wrapper.
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through access log writer: %v", err)
		}
	})
	h := AccessLog(slog.New(slog.NewJSONHandler(logs, nil)))(mux)
	r := httptest.NewRequest("POST", "/t/acme/device?user_code=BCDF-GHJK", nil)
	ctx := WithRequestID(r.Context(), "req-1")
	r = r.WithContext(ctx)
	serve(t, h, r)

	var line map[string]any
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
		t.Fatalf("want exactly one JSON log line, got %q: %v", logs.String(), err)
	}
	want := map[string]any{
		"method":     "POST",
		"path":       "/t/acme/device",
		"route":      "POST /t/{tenant}/device",
		"status":     float64(202),
		"bytes":      float64(5),
		"request_id": "req-1",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	if strings.Contains(logs.String(), "BCDF") {
		t.Errorf("log contains the query string: %s", logs.String())
	}
}
