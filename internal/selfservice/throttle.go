package selfservice

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/otp"
)

// messagePage is the Data of the "message" view: one heading, one or two sentences,
// and an optional way on.
type messagePage struct {
	frame
	Title    string
	Message  string
	LinkText string
	LinkURL  string
}

// retryIn says when to try again: "Try again in 3 minutes." Rounded up, because a
// person told "0 minutes" would try at once and fail again.
func retryIn(d time.Duration) string {
	return "Try again in " + notify.Minutes(d) + "."
}

// throttled renders the page for a reached limit when err is an otp.ThrottledError
// and reports whether it did. back is the page to return to once the wait is over.
func (h *Handlers) throttled(w http.ResponseWriter, r *http.Request, err error, back link) bool {
	var te *otp.ThrottledError
	if !errors.As(err, &te) {
		return false
	}
	var why string
	switch te.Reason {
	case otp.ReasonSends:
		why = "We have sent as many codes to that address as we can for now."
	case otp.ReasonTries:
		why = "There have been too many wrong codes for that address."
	default:
		why = "There have been too many attempts from your network."
	}
	secs := int((te.RetryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	h.render(w, r, http.StatusTooManyRequests, "message", messagePage{
		frame: h.frame(r, ""), Title: "Please wait a little", Message: why + " " + retryIn(te.RetryAfter),
		LinkText: back.text, LinkURL: back.url,
	})
	return true
}

// link is a way on from a message page.
type link struct{ text, url string }
