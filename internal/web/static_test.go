package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestStaticAssets(t *testing.T) {
	assets, err := NewAssets(fstest.MapFS{"passkey/passkey.js": page("export const x = 1;\n")})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	assets.Mount(mux)

	cssURL, err := assets.URL("app.css")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^/static/[0-9a-f]{16}/app\.css$`).MatchString(cssURL) {
		t.Fatalf("URL = %q, want a content-hashed path", cssURL)
	}
	jsURL, err := assets.URL("passkey/passkey.js")
	if err != nil {
		t.Fatal(err)
	}
	hashOf := func(u string) string { return strings.Split(u, "/")[2] }

	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantType   string
	}{
		{"stylesheet", cssURL, http.StatusOK, "text/css; charset=utf-8"},
		{"contributed script", jsURL, http.StatusOK, "text/javascript; charset=utf-8"},
		{"wrong hash", "/static/0000000000000000/app.css", http.StatusNotFound, ""},
		{"another file's hash", "/static/" + hashOf(jsURL) + "/app.css", http.StatusNotFound, ""},
		{"unknown file", "/static/" + hashOf(cssURL) + "/missing.css", http.StatusNotFound, ""},
		{"directory", "/static/" + hashOf(jsURL) + "/passkey", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, mux, httptest.NewRequest("GET", tt.path, nil))
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusOK {
				return
			}
			if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := w.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if w.Body.Len() == 0 {
				t.Error("empty body")
			}
		})
	}
}

func TestLayoutLinksHashedStylesheet(t *testing.T) {
	assets, err := NewAssets()
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewRenderer(RendererOptions{Assets: assets})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	rd.NotFound(w, httptest.NewRequest("GET", "/", nil))
	url, _ := assets.URL("app.css")
	if !strings.Contains(w.Body.String(), `<link rel="stylesheet" href="`+url+`">`) {
		t.Fatalf("page does not link %s:\n%s", url, w.Body.String())
	}
}

func TestStaticRejectsDuplicateNames(t *testing.T) {
	if _, err := NewAssets(fstest.MapFS{"app.css": page("body{}")}); err == nil {
		t.Fatal("a contributed app.css silently replaced the built-in one")
	}
}
