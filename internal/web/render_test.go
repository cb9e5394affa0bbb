package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func page(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }

func TestRenderContributedPage(t *testing.T) {
	rd, _ := MustRenderer(t, fstest.MapFS{
		"signin.html": page(`{{define "title"}}Sign in{{end}}{{define "content"}}<h1>Hello {{.Data.Name}}</h1><p>{{.RequestID}}</p>{{end}}`),
		"other.html":  page(`{{define "title"}}Other{{end}}{{define "content"}}<p>other</p>{{end}}`),
	})
	r := httptest.NewRequest("GET", "/t/acme/signin", nil)
	r = r.WithContext(WithRequestID(r.Context(), "req-42"))
	w := httptest.NewRecorder()
	if err := rd.Render(w, r, http.StatusOK, "signin", struct{ Name string }{"<Ada>"}); err != nil {
		t.Fatalf("Render: %v", err)
	}
	body := w.Body.String()
	for _, want := range []string{
		`<html lang="en">`,
		`name="viewport"`,
		`<title>Sign in</title>`,
		`<h1>Hello &lt;Ada&gt;</h1>`,
		`<p>req-42</p>`,
		`<main id="main"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "other") {
		t.Errorf("one page's blocks leaked into another:\n%s", body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if !slices.Contains(rd.Views(), "signin") || !slices.Contains(rd.Views(), "error") {
		t.Errorf("Views() = %v", rd.Views())
	}
}

func TestRenderFailures(t *testing.T) {
	rd, logs := MustRenderer(t, fstest.MapFS{
		"broken.html": page(`{{define "content"}}{{.Data.Missing}}{{end}}`),
	})
	tests := []struct {
		name string
		view string
		data any
	}{
		{"unknown view", "no-such-view", nil},
		{"execution error mid-page", "broken", struct{ Name string }{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r = r.WithContext(WithRequestID(r.Context(), "req-9"))
			w := httptest.NewRecorder()
			err := rd.Render(w, r, http.StatusOK, tt.view, tt.data)
			if err == nil {
				t.Fatal("Render returned no error")
			}
			if w.Code != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", w.Code)
			}
			body := w.Body.String()
			if !strings.Contains(body, InternalMessage) || !strings.Contains(body, "req-9") || strings.Count(body, "<html") != 1 {
				t.Errorf("want exactly one whole error page with the request id:\n%s", body)
			}
			if !strings.Contains(logs.String(), tt.view) {
				t.Errorf("log does not name the view %q: %s", tt.view, logs.String())
			}
		})
	}
}

func TestNewRendererRejectsBadPages(t *testing.T) {
	tests := []struct {
		name    string
		pages   []fstest.MapFS
		wantErr string
	}{
		{"parse error", []fstest.MapFS{{"a.html": page(`{{define "content"}}{{if}}{{end}}`)}}, `"a"`},
		{"no content block", []fstest.MapFS{{"b.html": page(`<p>loose</p>`)}}, "content"},
		{"duplicate across packages", []fstest.MapFS{
			{"c.html": page(`{{define "content"}}1{{end}}`)},
			{"c.html": page(`{{define "content"}}2{{end}}`)},
		}, "twice"},
		{"replacing the layout", []fstest.MapFS{{"layout.html": page(`<html>{{template "content" .}}</html>`)}}, "layout"},
		{"shadowing the error view", []fstest.MapFS{{"error.html": page(`{{define "content"}}x{{end}}`)}}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := RendererOptions{}
			for _, p := range tt.pages {
				opts.Pages = append(opts.Pages, p)
			}
			_, err := NewRenderer(opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one mentioning %s", err, tt.wantErr)
			}
		})
	}
}

func TestFail(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
		hidden     string // must not be shown
		logged     string // must be logged
	}{
		{"safe error", &Error{Status: http.StatusBadRequest, Message: "Enter the 8-character code.", Err: errors.New("bad length 3")},
			http.StatusBadRequest, "Enter the 8-character code.", "bad length", "bad length"},
		{"wrapped safe error", fmt.Errorf("device: %w", &Error{Status: http.StatusForbidden, Message: "This code was refused."}),
			http.StatusForbidden, "This code was refused.", "device:", ""},
		{"internal error", errors.New("pq: relation users does not exist"),
			http.StatusInternalServerError, InternalMessage, "relation", "relation"},
		{"nonsense status", &Error{Status: 200, Message: "fine"},
			http.StatusInternalServerError, "fine", "", "fine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, logs := MustRenderer(t)
			r := httptest.NewRequest("POST", "/", nil)
			r = r.WithContext(WithRequestID(r.Context(), "req-5"))
			w := httptest.NewRecorder()
			Fail(w, r, rd, tt.err)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantBody, w.Body.String())
			}
			if w.Code >= 500 && !strings.Contains(w.Body.String(), "Reference: <code class=\"reference\">req-5</code>") {
				t.Errorf("500 page lacks the request id as a reference:\n%s", w.Body.String())
			}
			if tt.hidden != "" && strings.Contains(w.Body.String(), tt.hidden) {
				t.Errorf("body shows internal detail %q", tt.hidden)
			}
			if tt.logged != "" && !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log lacks the real error %q: %s", tt.logged, logs.String())
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
		})
	}
}

func TestFailWithoutRenderer(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(WithRequestID(r.Context(), "req-3"))
	w := httptest.NewRecorder()
	Fail(w, r, nil, errors.New("secret detail"))
	if w.Code != 500 || !strings.Contains(w.Body.String(), "req-3") || strings.Contains(w.Body.String(), "secret") {
		t.Fatalf("status %d, body %q", w.Code, w.Body.String())
	}
}

func TestNotFound(t *testing.T) {
	rd, _ := MustRenderer(t)
	w := httptest.NewRecorder()
	rd.NotFound(w, httptest.NewRequest("GET", "/t/acme/nope", nil))
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), NotFoundMessage) {
		t.Fatalf("status %d, body:\n%s", w.Code, w.Body.String())
	}
}

func TestJSONError(t *testing.T) {
	w := httptest.NewRecorder()
	JSONError(w, http.StatusBadRequest, "invalid_grant", "The code has expired.")
	if got, want := w.Body.String(), `{"error":"invalid_grant","error_description":"The code has expired."}`+"\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if w.Code != 400 || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("status %d, headers %v", w.Code, w.Header())
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	if err := WriteJSON(w, http.StatusCreated, map[string]string{"id": "u1"}); err != nil {
		t.Fatal(err)
	}
	if w.Code != 201 || w.Body.String() != `{"id":"u1"}`+"\n" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("status %d, body %q, headers %v", w.Code, w.Body.String(), w.Header())
	}

	w = httptest.NewRecorder()
	if err := WriteJSON(w, http.StatusOK, map[string]any{"bad": make(chan int)}); err == nil {
		t.Fatal("encoding a channel succeeded")
	}
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"server_error"`) {
		t.Errorf("status %d, body %q: want a clean JSON 500", w.Code, w.Body.String())
	}
}
