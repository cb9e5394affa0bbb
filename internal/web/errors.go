package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error is a failure with a status and a sentence that is safe to show to the
// person who made the request. Err is the cause, for logs only: it may hold
// internal detail that must never reach a client.
type Error struct {
	Status  int
	Message string
	Err     error
}

// Error describes the failure for logs, including the hidden cause.
func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%d: %s: %v", e.Status, e.Message, e.Err)
}

// Unwrap returns the hidden cause, so errors.Is and errors.As see through.
func (e *Error) Unwrap() error { return e.Err }

// InternalMessage is the sentence shown for every failure that is not a
// *web.Error; the page adds the request id as a reference for support.
const InternalMessage = "Something went wrong on our side."

// NotFoundMessage is the sentence shown for pages that do not exist.
const NotFoundMessage = "We could not find that page."

// Fail answers a page request that failed with err. A *web.Error (found with
// errors.As) shows its status and Message; anything else becomes a 500 with
// InternalMessage and the request id, and is logged in full. Client-side
// failures (4xx) are logged at Info only when they carry a cause, so a
// stream of bad input does not drown real errors.
//
// rd may be nil, in which case a plain-text sentence is written.
func Fail(w http.ResponseWriter, r *http.Request, rd *Renderer, err error) {
	status, msg := http.StatusInternalServerError, InternalMessage
	var we *Error
	if errors.As(err, &we) {
		status, msg = we.Status, we.Message
		if status < 400 || status > 599 {
			status = http.StatusInternalServerError
		}
		if msg == "" {
			msg = defaultMessage(status)
		}
	}
	logger := rd.log()
	switch {
	case status >= 500:
		logger.ErrorContext(r.Context(), "request failed", requestAttrs(r, slog.Int("status", status), slog.Any("error", err))...)
	case we != nil && we.Err != nil:
		logger.InfoContext(r.Context(), "request refused", requestAttrs(r, slog.Int("status", status), slog.Any("error", err))...)
	}
	rd.renderError(w, r, status, msg)
}

// requestAttrs returns the attributes every request log line shares, followed
// by extra.
func requestAttrs(r *http.Request, extra ...any) []any {
	attrs := []any{
		slog.String("request_id", RequestID(r.Context())),
		slog.String("client_ip", clientIPString(r)),
	}
	return append(attrs, extra...)
}

func clientIPString(r *http.Request) string {
	if ip := ClientIP(r.Context()); ip.IsValid() {
		return ip.String()
	}
	return ""
}

func defaultMessage(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "The request could not be understood."
	case http.StatusForbidden:
		return "You are not allowed to do that."
	case http.StatusNotFound:
		return NotFoundMessage
	case http.StatusMethodNotAllowed:
		return "That action is not available on this page."
	case http.StatusRequestEntityTooLarge:
		return TooLargeMessage
	case http.StatusTooManyRequests:
		return "Too many requests. Please wait a moment and try again."
	}
	if status >= 500 {
		return InternalMessage
	}
	return "The request could not be completed."
}

func errorTitle(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Page not found"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusTooManyRequests:
		return "Too many requests"
	case http.StatusRequestEntityTooLarge:
		return "Too much data"
	}
	if status >= 500 {
		return "Something went wrong"
	}
	return "That did not work"
}

// WriteJSON writes v as a JSON response with the given status. The value is
// encoded before anything is sent, so an encoding failure becomes a clean 500
// ({"error":"server_error"}) and is returned, instead of a truncated body.
// Responses are marked no-store unless the caller already set Cache-Control
// (discovery documents and key sets may be cached; tokens never).
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		JSONError(w, http.StatusInternalServerError, "server_error", "")
		return fmt.Errorf("web: encode JSON response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// JSONError writes an OAuth-style error object
// {"error":code,"error_description":description} with Cache-Control: no-store,
// as RFC 6749 asks of token endpoint responses. An empty description is left
// out. The description is shown to client developers, so it must be a fixed
// sentence, never an internal error string.
func JSONError(w http.ResponseWriter, status int, code, description string) {
	body := struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, description}
	// Encoding two strings cannot fail.
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
