package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// statusWriter records the status and size of a response for logs and
// metrics. Unwrap lets http.ResponseController reach the underlying writer's
// optional features (flushing, deadlines, hijacking).
type statusWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	// 1xx responses other than 101 are informational (103 Early Hints) and
	// are followed by the real status.
	if !s.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = http.StatusOK, true
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Flush keeps the http.Flusher interface for handlers that type-assert it.
func (s *statusWriter) Flush() {
	if !s.wroteHeader {
		s.status, s.wroteHeader = http.StatusOK, true
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Status returns the status sent, or 200 if the handler wrote nothing, which
// is what net/http then sends.
func (s *statusWriter) Status() int {
	if !s.wroteHeader {
		return http.StatusOK
	}
	return s.status
}

// maxLoggedPath bounds the path written to logs so one request cannot write
// a megabyte log line.
const maxLoggedPath = 512

// AccessLog logs one line per request: method, path, route pattern, status,
// bytes, duration, request id and client address. The query string is left
// out because OAuth and sign-in URLs carry codes and state in it.
//
// The route comes from r.Pattern, which ServeMux sets on the request it is
// handed; AccessLog must therefore wrap the mux without any request-copying
// middleware in between (Stack gets this right).
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	logger = orDiscard(logger)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			// Deferred so a request aborted by a panic is still logged.
			defer func() {
				p := r.URL.Path
				if len(p) > maxLoggedPath {
					p = p[:maxLoggedPath]
				}
				logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
					slog.String("method", r.Method),
					slog.String("path", p),
					slog.String("route", r.Pattern),
					slog.Int("status", sw.Status()),
					slog.Int64("bytes", sw.bytes),
					slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
					slog.String("request_id", RequestID(r.Context())),
					slog.String("client_ip", clientIPString(r)),
				)
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// Recover turns a panic in a handler into a logged error and a 500 error page
// that shows the request id and nothing of the panic. http.ErrAbortHandler is
// passed on, since it is net/http's way of aborting a response on purpose.
// If the handler had already started its response, the page cannot be sent;
// the connection is aborted instead, so the client sees a failure rather than
// a silently truncated page.
func Recover(logger *slog.Logger, rd *Renderer) func(http.Handler) http.Handler {
	logger = orDiscard(logger)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				logger.ErrorContext(r.Context(), "panic serving request", requestAttrs(r,
					slog.String("method", r.Method),
					slog.String("route", r.Pattern),
					slog.String("panic", fmt.Sprint(v)),
					slog.String("stack", string(debug.Stack())),
				)...)
				if sw.wroteHeader {
					panic(http.ErrAbortHandler)
				}
				// Drop what the failed handler prepared: a cookie or redirect
				// from a half-finished request must not take effect.
				h := w.Header()
				for _, k := range []string{"Set-Cookie", "Location", "Content-Length", "Content-Encoding", "Content-Disposition"} {
					h.Del(k)
				}
				rd.renderError(w, r, http.StatusInternalServerError, InternalMessage)
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// orDiscard returns logger, or a logger that drops everything when it is nil.
func orDiscard(logger *slog.Logger) *slog.Logger {
	if logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return logger
}
