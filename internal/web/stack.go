package web

import (
	"fmt"
	"log/slog"
	"net/http"
)

// Stack is the middleware every Gatehouse request passes through, assembled
// in the one order in which each piece works:
//
//  1. RequestIDMiddleware and the IPResolver first, so every later log line,
//     limit and error page knows the request id and client address;
//  2. LimitBody while the ResponseWriter is still net/http's own, so an
//     oversized body also closes the connection;
//  3. AccessLog and Metrics with no request-copying middleware between them
//     and the mux, because ServeMux records the route (r.Pattern) on the
//     request it receives, and they read it from the same request afterwards;
//  4. SecurityHeaders before Recover and the limiter, so error pages carry
//     the headers too;
//  5. Recover, the rate limit and cross-origin protection closest to the
//     handlers.
type Stack struct {
	// Logger receives access logs and panics; nil discards them.
	Logger *slog.Logger
	// Renderer renders error pages; required.
	Renderer *Renderer
	// IPs resolves client addresses; nil trusts no proxy.
	IPs *IPResolver
	// Limiter, when set, limits every request per client address.
	Limiter *RateLimiter
	// Metrics, when set, records every request.
	Metrics *Metrics
	// HSTS sends Strict-Transport-Security; turn it on when served over TLS.
	HSTS bool
	// MaxBodyBytes caps request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// CSRFBypass lists ServeMux patterns exempt from cross-origin checks,
	// such as an OAuth token endpoint that browser apps on other origins call
	// with CORS. Everything else that changes state must come from our origin.
	CSRFBypass []string
}

// Wrap returns h wrapped in the stack. It fails if Renderer is missing or a
// CSRFBypass pattern is invalid or conflicts with another.
func (s Stack) Wrap(h http.Handler) (_ http.Handler, err error) {
	if s.Renderer == nil {
		return nil, fmt.Errorf("web: stack needs a renderer")
	}
	logger := orDiscard(s.Logger)
	// AddInsecureBypassPattern panics on a bad pattern; configuration errors
	// should be returned, not crash start-up with a stack trace.
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("web: cross-origin bypass pattern: %v", v)
		}
	}()
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wantsJSON(r) {
			JSONError(w, http.StatusForbidden, "access_denied", CrossSiteMessage)
			return
		}
		s.Renderer.renderError(w, r, http.StatusForbidden, CrossSiteMessage)
	})
	h = newCrossOriginProtection(deny, s.CSRFBypass...).Handler(h)
	if s.Limiter != nil {
		h = s.Limiter.Middleware(s.Renderer)(h)
	}
	h = Recover(logger, s.Renderer)(h)
	h = SecurityHeaders(s.HSTS)(h)
	if s.Metrics != nil {
		h = s.Metrics.Middleware(h)
	}
	h = AccessLog(logger)(h)
	h = LimitBody(s.MaxBodyBytes)(h)
	h = s.IPs.Middleware(h)
	h = RequestIDMiddleware(h)
	return h, nil
}
