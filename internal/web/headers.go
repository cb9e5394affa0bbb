package web

import (
	"net/http"
	"strings"
)

// CSP returns the Content-Security-Policy Gatehouse pages send. Scripts and
// styles load only from Gatehouse's own origin and never inline, so an
// injected tag has nothing to run; frame-ancestors 'none' stops click-jacking.
//
// formAction adds sources a page may submit forms to beyond 'self'. An OAuth
// form_post response page needs the client's redirect origin here; that page
// sets the header itself with CSP(origin) after SecurityHeaders ran. Entries
// that could break out of the directive (containing ';', ',' or whitespace)
// are dropped rather than trusted.
func CSP(formAction ...string) string {
	sources := []string{"'self'"}
	for _, src := range formAction {
		if src == "" || strings.ContainsAny(src, ";,\"\\") || strings.ContainsFunc(src, isSpaceOrControl) {
			continue
		}
		sources = append(sources, src)
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"object-src 'none'; base-uri 'none'; form-action " + strings.Join(sources, " ") +
		"; frame-ancestors 'none'"
}

func isSpaceOrControl(r rune) bool {
	return r <= ' ' || r == 0x7f
}

// PermissionsPolicy switches off powerful browser features no Gatehouse page
// uses. WebAuthn is deliberately absent: its default allowlist is 'self',
// which is exactly what passkey ceremonies need.
const PermissionsPolicy = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

// HSTSValue is the Strict-Transport-Security header sent when HSTS is on:
// one year, subdomains included, no preload (preloading is an operator's
// decision that cannot be undone quickly).
const HSTSValue = "max-age=31536000; includeSubDomains"

// SecurityHeaders sets the response headers every Gatehouse response carries.
// Strict-Transport-Security is sent only when hsts is true, because telling a
// browser to insist on HTTPS for a host served over plain HTTP (localhost
// development) would lock it out.
//
// The headers are set before the handler runs, so a handler may still replace
// one, such as the CSP of an OAuth form_post page.
func SecurityHeaders(hsts bool) func(http.Handler) http.Handler {
	csp := CSP()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", csp)
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", PermissionsPolicy)
			if hsts {
				h.Set("Strict-Transport-Security", HSTSValue)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// CrossSiteMessage is the sentence shown when a request is refused as a
// cross-site forgery.
const CrossSiteMessage = "This request came from another site and was refused."

// CSRF refuses state-changing requests a browser sent on behalf of another
// site, using net/http's CrossOriginProtection (Sec-Fetch-Site, then Origin
// against Host). Safe methods and non-browser clients pass. A refused request
// gets 403 and a plain sentence.
func CSRF(next http.Handler) http.Handler {
	return newCrossOriginProtection(http.HandlerFunc(plainCrossSiteRefusal)).Handler(next)
}

func newCrossOriginProtection(deny http.Handler, bypass ...string) *http.CrossOriginProtection {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(deny)
	for _, pattern := range bypass {
		p.AddInsecureBypassPattern(pattern)
	}
	return p
}

func plainCrossSiteRefusal(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(CrossSiteMessage + "\n"))
}
