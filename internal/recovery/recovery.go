// Package recovery gets people back into accounts whose passkeys are lost, in a way an
// attacker cannot ride (DESIGN.md §3 "Recovery"):
//
//   - self-service recovery by a code sent to a verified email address, optionally
//     followed by a saved recovery code, with the same answer whether or not an
//     account exists;
//   - help-desk temporary access passes (TAPs), issued by an operator who records
//     how the person's identity was checked and, for privileged accounts, approved by
//     a second operator;
//   - the restricted session either one yields, which can do exactly one thing:
//     enroll a new passkey;
//   - completion, which revokes every other session and token, tells every verified
//     address with a "This wasn't me" link, and puts the account on hold;
//   - "This wasn't me", which removes what the recovery added and locks the account.
//
// Operators and admins cannot recover on their own unless the tenant's policy says so:
// the help desk, and a second operator, stand between an attacker and their accounts.
package recovery

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// Artifact kinds this package keeps in the artifacts table.
const (
	// kindPending is the state between a verified email code and the recovery-code
	// step, bound to the browser by a cookie.
	kindPending = "recovery:pending"
	// kindRepudiate is the one-time "This wasn't me" link of a completed recovery.
	kindRepudiate = "recovery:repudiate"
)

// RepudiationGrace is how long after the hold ends the "This wasn't me" link works:
// a person back from a week away must still be able to say so.
const RepudiationGrace = 7 * 24 * time.Hour

// pendingLifetime bounds the recovery-code step.
const pendingLifetime = 10 * time.Minute

// Reasons recorded on sessions and grants this package ends.
const (
	reasonRecovered  = "account recovered"
	reasonRepudiated = "recovery reported as not made by the account holder"
)

// Errors of the service. Their messages are sentences safe to show.
var (
	// ErrPrivileged means the account is an operator's or admin's, which the policy
	// does not let recover on its own.
	ErrPrivileged = errors.New("Accounts with administrator rights cannot be recovered on your own. Contact your help desk: they can check who you are and give you a temporary access pass.")
	// ErrDisabled means the tenant's policy turned the path off.
	ErrDisabled = errors.New("This way of recovering an account is turned off here. Contact your help desk.")
	// ErrLinkInvalid means a "This wasn't me" link is unknown, used or expired.
	ErrLinkInvalid = errors.New("This link has already been used or has expired. If you still think someone else is in your account, contact your administrator.")
	// ErrWrongRecoveryCode means the recovery code is not one of the account's unused codes.
	ErrWrongRecoveryCode = errors.New("That recovery code is not right or was already used. Check the code, or use another one from your list.")
	// ErrStepUp means the change needs a fresh passkey confirmation first.
	ErrStepUp = errors.New("Please confirm it is you with your passkey first.")
)

// HoldError says a change waits for the end of the account's recovery hold.
type HoldError struct{ Until time.Time }

func (e *HoldError) Error() string {
	return "Your account was recovered recently and is on hold until " + FormatTime(e.Until) +
		". Until then, a passkey added during the recovery can sign in but cannot change security settings."
}

// Service runs recovery.
type Service struct {
	Store    store.Store
	Now      func() time.Time
	Logger   *slog.Logger
	Sessions *session.Manager
	OTP      *otp.Service
	// BaseURL is the public origin, for links in email.
	BaseURL string
}

// Client is where a request came from.
type Client = passkey.Client

func userMeta(c Client, userID, sessionID, flow string) audit.Meta {
	return audit.Meta{ActorType: audit.ActorUser, ActorID: userID, IP: c.IP, Network: c.Network,
		UserAgent: c.UserAgent, SessionID: sessionID, Flow: flow}
}

// FormatTime shows a moment in pages and mail, always in UTC so every node agrees.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// OnHold reports whether u is on a recovery hold at now.
func OnHold(u *store.User, now time.Time) bool { return u.HoldUntil.After(now) }

// SelfServiceAllowed reports whether the tenant lets people recover by email code.
func SelfServiceAllowed(p tenant.Policy) bool {
	return p.Flows.SelfServiceRecovery && p.Methods.EmailCode.Recovery
}

// TAPAllowed reports whether the tenant lets the help desk issue passes.
func TAPAllowed(p tenant.Policy) bool { return p.Flows.HelpdeskTAP && p.Methods.TAP.Recovery }

// SMSRecoveryAllowed reports whether a text-message code may recover an account: only
// while the method is allowed to recover and its retirement has not reached the
// phases that switch it off. Gatehouse has no SMS sender yet, so no page offers it;
// this is the rule that page must follow.
func SMSRecoveryAllowed(p tenant.Policy) bool {
	if !p.Methods.SMS.Recovery {
		return false
	}
	switch p.Retirement["sms"].Phase {
	case "disabled", "purged":
		return false
	}
	return true
}

// alphabet spells codes and passes: 32 symbols without 0/O and 1/I, so each is 5 bits
// and none is misread when typed from paper.
const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// normalize upper-cases s and drops spaces and dashes; it returns "" when what is left
// is not exactly n symbols of the alphabet.
func normalize(s string, n int) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
		case r < 128 && strings.ContainsRune(alphabet, r):
			if b.Len() >= n {
				return ""
			}
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != n {
		return ""
	}
	return b.String()
}

// group writes s in groups of four for reading aloud and copying.
func group(s string) string {
	var parts []string
	for len(s) > 4 {
		parts = append(parts, s[:4])
		s = s[4:]
	}
	return strings.Join(append(parts, s), "-")
}

// policyOf reads the tenant's current policy inside tx.
func policyOf(ctx context.Context, tx store.Tx, tenantID string) (tenant.Policy, error) {
	return tenant.CurrentPolicy(ctx, tx, tenantID)
}
