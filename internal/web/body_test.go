package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	tests := []struct {
		name       string
		limit      int64
		target     string
		body       string
		wantStatus int
		wantMsg    string
	}{
		{"valid form", 1024, "/", "email=ada%40example.com&name=Ad%C3%A0", http.StatusOK, ""},
		{"oversize body", 16, "/", "email=" + strings.Repeat("a", 100), http.StatusRequestEntityTooLarge, TooLargeMessage},
		{"invalid UTF-8 value", 1024, "/", "name=%ff%fe", http.StatusBadRequest, InvalidUTF8Message},
		{"invalid UTF-8 key", 1024, "/", "%c3%28=x", http.StatusBadRequest, InvalidUTF8Message},
		{"invalid UTF-8 in query", 1024, "/?q=%80", "a=b", http.StatusBadRequest, InvalidUTF8Message},
		{"broken escape", 1024, "/", "name=%zz", http.StatusBadRequest, "The form could not be read."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, _ := MustRenderer(t)
			h := LimitBody(tt.limit)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := ParseForm(w, r); err != nil {
					Fail(w, r, rd, err)
					return
				}
				_, _ = w.Write([]byte("ok"))
			}))
			r := httptest.NewRequest("POST", tt.target, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := serve(t, h, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body.String())
			}
			if tt.wantMsg != "" && !strings.Contains(w.Body.String(), tt.wantMsg) {
				t.Errorf("body lacks %q:\n%s", tt.wantMsg, w.Body.String())
			}
		})
	}
}

func TestParseFormCapsFormsWithoutLimitBody(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader("a="+strings.Repeat("x", MaxFormBytes)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	err := ParseForm(httptest.NewRecorder(), r)
	var we *Error
	if !errors.As(err, &we) || we.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("err = %v, want a 413 *web.Error", err)
	}
}
