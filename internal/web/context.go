// Package web is the HTTP plumbing every Gatehouse capability shares: request
// ids, client addresses, security headers, cross-origin protection, rate
// limits, panics, logs, metrics, body limits, errors, pages and static assets.
//
// Everything is configured through constructors; the package keeps no mutable
// state of its own, so two servers in one process (as in end-to-end tests)
// never share a limiter, a registry or a template set.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/netip"
)

type requestIDKey struct{}

type clientIPKey struct{}

// RequestIDHeader is the response header that carries the request id, so a
// person reporting a problem can quote the same id the logs contain.
const RequestIDHeader = "X-Request-Id"

// RequestID returns the id RequestIDMiddleware assigned to the request, or ""
// outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithRequestID returns a copy of ctx that carries id as the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// ClientIP returns the client address an IPResolver chose for the request, or
// the zero Addr when none was resolved.
func ClientIP(ctx context.Context) netip.Addr {
	ip, _ := ctx.Value(clientIPKey{}).(netip.Addr)
	return ip
}

// WithClientIP returns a copy of ctx that carries ip as the client address.
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// RequestIDMiddleware gives every request a fresh random id, stores it in the
// request context and echoes it in the X-Request-Id response header.
//
// An id sent by the client is ignored: ids appear in logs and on error pages,
// and letting a caller choose them would let it forge or collide log lines.
func RequestIDMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newRequestID()
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
	})
}

// newRequestID returns 16 random bytes in hex: enough that ids from many nodes
// never collide, and unguessable so an id reveals nothing about other requests.
func newRequestID() string {
	var b [16]byte
	// crypto/rand.Read never returns an error on supported platforms; it
	// crashes the program instead of handing out predictable bytes.
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
