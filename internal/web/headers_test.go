package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSecurityHeaders(t *testing.T) {
	want := map[string]string{
		"Content-Security-Policy":    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
		"Referrer-Policy":            "no-referrer",
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"Cross-Origin-Opener-Policy": "same-origin",
		"Permissions-Policy":         PermissionsPolicy,
	}
	for _, hsts := range []bool{false, true} {
		w := serve(t, SecurityHeaders(hsts)(okHandler), httptest.NewRequest("GET", "/t/acme/signin", nil))
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("hsts=%v: %s = %q, want %q", hsts, k, got, v)
			}
		}
		if got := w.Header().Get("Strict-Transport-Security"); (got != "") != hsts {
			t.Errorf("hsts=%v: Strict-Transport-Security = %q", hsts, got)
		}
		if csp := w.Header().Get("Content-Security-Policy"); strings.Contains(csp, "unsafe") {
			t.Errorf("CSP allows unsafe sources: %s", csp)
		}
	}
}

func TestCSPFormAction(t *testing.T) {
	tests := []struct {
		name       string
		formAction []string
		want       string
	}{
		{"self only", nil, "form-action 'self';"},
		{"client origin added", []string{"https://app.example"}, "form-action 'self' https://app.example;"},
		{"directive injection dropped", []string{"https://a.example; script-src *"}, "form-action 'self';"},
		{"list injection dropped", []string{"https://a.example,*"}, "form-action 'self';"},
		{"newline dropped", []string{"https://a.example\r\nX: y"}, "form-action 'self';"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CSP(tt.formAction...)
			if !strings.Contains(got, tt.want) {
				t.Errorf("CSP = %q, want it to contain %q", got, tt.want)
			}
			if strings.Count(got, "script-src") != 1 {
				t.Errorf("CSP = %q, has an injected directive", got)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		headers    map[string]string
		wantStatus int
	}{
		{"cross-site POST refused", "POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-site POST refused", "POST", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"old browser, foreign Origin refused", "POST", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same-origin POST allowed", "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"old browser, matching Origin allowed", "POST", map[string]string{"Origin": "https://id.example"}, http.StatusOK},
		{"non-browser client allowed", "POST", nil, http.StatusOK},
		{"cross-site GET allowed", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached := false
			h := CSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
			r := httptest.NewRequest(tt.method, "https://id.example/t/acme/account", strings.NewReader("a=b"))
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := serve(t, h, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if reached != (tt.wantStatus == http.StatusOK) {
				t.Errorf("handler reached = %v", reached)
			}
			if tt.wantStatus == http.StatusForbidden && !strings.Contains(w.Body.String(), CrossSiteMessage) {
				t.Errorf("body = %q, want the refusal sentence", w.Body.String())
			}
		})
	}
}
