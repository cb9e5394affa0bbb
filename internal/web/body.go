package web

import (
	"errors"
	"net/http"
	"unicode/utf8"
)

// DefaultMaxBodyBytes is the request body limit used when none is configured:
// every Gatehouse form and JSON request is far smaller, and a low limit stops
// a client from making the server buffer megabytes.
const DefaultMaxBodyBytes = 1 << 20

// MaxFormBytes caps what ParseForm reads even if a route allows larger bodies,
// because parsed forms are held in memory whole.
const MaxFormBytes = 64 << 10

// TooLargeMessage is the sentence shown when a request body is over the limit.
const TooLargeMessage = "The request was too large."

// InvalidUTF8Message is the sentence shown when a form is not valid UTF-8.
const InvalidUTF8Message = "The form contained text that is not valid UTF-8."

// LimitBody caps every request body at n bytes with http.MaxBytesReader.
// Reading past the limit fails with *http.MaxBytesError, which ParseForm
// turns into a 413, and net/http closes the connection afterwards rather than
// draining the rest.
func LimitBody(n int64) func(http.Handler) http.Handler {
	if n <= 0 {
		n = DefaultMaxBodyBytes
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				// Work on a shallow copy: handlers must not modify the
				// request they were given.
				r = r.WithContext(r.Context())
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ParseForm parses the query and the urlencoded body of r (at most
// MaxFormBytes) and checks that every key and value is valid UTF-8.
// It returns a *web.Error: 413 when the body was too large, 400 with
// InvalidUTF8Message for invalid UTF-8, and 400 for any other malformed input.
// Returning these instead of letting handlers see broken text keeps bad input
// a clear 4xx, never a 5xx further down.
func ParseForm(w http.ResponseWriter, r *http.Request) error {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	}
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Message: TooLargeMessage, Err: err}
		}
		return &Error{Status: http.StatusBadRequest, Message: "The form could not be read.", Err: err}
	}
	for key, values := range r.Form {
		if !utf8.ValidString(key) {
			return &Error{Status: http.StatusBadRequest, Message: InvalidUTF8Message}
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				return &Error{Status: http.StatusBadRequest, Message: InvalidUTF8Message}
			}
		}
	}
	return nil
}
