package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// MaxBodyBytes caps a request body: a whole policy document or a client with its JWK
// Set is a few kilobytes.
const MaxBodyBytes = 1 << 20

// Error is a refusal with an HTTP status, an error code in the style of RFC 6749
// §5.2, and a sentence that is safe to show the caller.
type Error struct {
	Status      int
	Code        string
	Description string
	// Challenge, when set, is sent as WWW-Authenticate.
	Challenge string
	// Nonce, when set, is sent as DPoP-Nonce: the nonce the next DPoP proof must carry.
	Nonce string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Description) }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Description: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: "conflict", Description: fmt.Sprintf(format, args...)}
}

func denied(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Code: "access_denied", Description: fmt.Sprintf(format, args...)}
}

// invalidInput turns the validation errors of the services, whose messages are
// written to be shown, into 400s; it returns nil for any other error.
func invalidInput(err error) *Error {
	for _, sentinel := range []error{client.ErrInvalid, tenant.ErrInvalid, keys.ErrInvalid} {
		if errors.Is(err, sentinel) {
			return badRequest("%s", strings.TrimPrefix(err.Error(), "invalid: "))
		}
	}
	return nil
}

// fail answers err as a JSON error. Anything that is not an *Error or a validation
// error of a service is logged and answered as a bare server_error: its text may
// hold internal detail.
func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case invalidInput(err) != nil:
		e = invalidInput(err)
	case errors.Is(err, store.ErrNotFound):
		e = notFound("not found")
	case errors.Is(err, store.ErrConflict):
		e = conflict("someone else changed this at the same moment: read it again and retry")
	default:
		h.Logger.ErrorContext(r.Context(), "admin API request failed", "error", err,
			"request_id", web.RequestID(r.Context()), "method", r.Method, "path", r.URL.Path)
		web.JSONError(w, http.StatusInternalServerError, "server_error", "internal error; quote request id "+web.RequestID(r.Context()))
		return
	}
	if e.Challenge != "" {
		w.Header().Set("WWW-Authenticate", e.Challenge)
	}
	if e.Nonce != "" {
		w.Header().Set("DPoP-Nonce", e.Nonce)
	}
	web.JSONError(w, e.Status, e.Code, e.Description)
}

// reply writes v as JSON; the response is never cached.
func (h *Handlers) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := web.WriteJSON(w, status, v); err != nil {
		h.Logger.ErrorContext(r.Context(), "admin API response failed", "error", err, "request_id", web.RequestID(r.Context()))
	}
}

// readBody returns the request body, which must be JSON (or, where mergePatch is
// set, a JSON merge patch) of at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request, mergePatch bool) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !(mergePatch && mt == "application/merge-patch+json")) {
		want := "application/json"
		if mergePatch {
			want += " or application/merge-patch+json"
		}
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "invalid_request",
			Description: "send the body as " + want}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request",
			Description: fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes)}
	}
	if err != nil {
		return nil, badRequest("the request body could not be read")
	}
	// encoding/json would quietly turn invalid bytes into U+FFFD, storing a name or a
	// setting other than the one sent.
	if !utf8.Valid(b) {
		return nil, badRequest("the request body is not valid UTF-8")
	}
	return b, nil
}

// decode reads a JSON object into v, a pointer to a struct, strictly: unknown
// fields, fields spelled in another case, repeated fields and anything after the
// object are refused, because encoding/json would quietly accept them and the caller
// would not get what they meant.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := readBody(w, r, false)
	if err != nil {
		return err
	}
	if err := checkObject(b, fieldNames(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return badRequest("%s: wrong type (got %s)", te.Field, te.Value)
		}
		return badRequest("the request body is not valid JSON for this request")
	}
	return nil
}

// checkObject checks that b is one JSON object whose member names are all in names,
// each at most once.
func checkObject(b []byte, names []string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return badRequest("the request body must be one JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badRequest("the request body is not valid JSON")
		}
		name, _ := tok.(string)
		if !slices.Contains(names, name) {
			return badRequest("unknown field %q", name)
		}
		if seen[name] {
			return badRequest("field %q appears more than once", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return badRequest("the request body is not valid JSON")
		}
	}
	if _, err := dec.Token(); err != nil {
		return badRequest("the request body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("unexpected data after the JSON object")
	}
	return nil
}

// fieldNames lists the JSON names of the fields of the struct v points to.
func fieldNames(v any) []string {
	t := reflect.TypeOf(v).Elem()
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// boolParam reads the query parameter name as a boolean: absent means false, and
// anything but "true" or "false" is refused, so a typo never quietly widens a listing.
func boolParam(r *http.Request, name string) (bool, error) {
	vs := r.URL.Query()[name]
	switch {
	case len(vs) == 0:
		return false, nil
	case len(vs) > 1:
		return false, badRequest("query parameter %s appears more than once", name)
	case vs[0] == "true":
		return true, nil
	case vs[0] == "false":
		return false, nil
	}
	return false, badRequest("query parameter %s must be true or false, not %q", name, vs[0])
}
