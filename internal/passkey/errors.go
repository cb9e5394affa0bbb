package passkey

import (
	"errors"
	"net/http"
)

// Error is a ceremony failure with a sentence safe to show and a stable code for the
// JSON API. Reason (logged and audited, never shown) says what exactly failed.
type Error struct {
	Status  int
	Code    string
	Message string
	Reason  string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Stable error codes of the JSON API.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeChallenge         = "challenge_invalid"
	CodeVerification      = "verification_failed"
	CodeUnknownCredential = "unknown_credential"
	CodeAccountUnusable   = "account_unavailable"
	CodeStepUpRequired    = "step_up_required"
	CodeForbidden         = "forbidden"
	CodeConflict          = "already_registered"
	CodeThrottled         = "rate_limited"
	CodeLastMethod        = "last_method"
	CodeNotFound          = "not_found"
)

var (
	errChallenge = &Error{Status: http.StatusBadRequest, Code: CodeChallenge,
		Message: "This sign-in attempt has expired or was already used. Please try again.", Reason: "challenge unknown, expired or already used"}
	errUnknownCredential = &Error{Status: http.StatusBadRequest, Code: CodeUnknownCredential,
		Message: "We do not recognise that passkey. Try another one, or sign in another way.", Reason: "credential not registered in this tenant"}
	errAccountUnusable = &Error{Status: http.StatusForbidden, Code: CodeAccountUnusable,
		Message: "This account cannot sign in right now. Contact your administrator.", Reason: "account locked or disabled"}
	errStepUp = &Error{Status: http.StatusForbidden, Code: CodeStepUpRequired,
		Message: "Please confirm it is you with your passkey first.", Reason: "no fresh phishing-resistant session"}
	errLastMethod = &Error{Status: http.StatusConflict, Code: CodeLastMethod,
		Message: "This is your only way to sign in, so it cannot be removed. Add another passkey first.", Reason: "last sign-in method"}
	errNotFound = &Error{Status: http.StatusNotFound, Code: CodeNotFound,
		Message: "That passkey does not exist.", Reason: "credential not found"}
)

func malformed(reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest,
		Message: "The request was not a valid passkey response.", Reason: reason}
}

func verificationFailed(reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeVerification,
		Message: "That passkey could not be verified. Please try again.", Reason: reason}
}

// AsError returns err as an *Error when it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
