package selfservice

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/useragent"
)

// activityRow is one line of "Recent security activity".
type activityRow struct {
	When, What, Where string
	// Failed marks attempts that did not succeed, which deserve a second look.
	Failed bool
}

// activityShown is how many events the account page lists.
const activityShown = 20

// hiddenActivity are events that repeat what another event of the same moment says
// better (every sign-in also creates a session; every sign-up also creates a user).
var hiddenActivity = map[string]bool{audit.SessionCreated: true, audit.UserCreated: true}

// recentActivity returns the user's newest security events in words.
func recentActivity(ctx context.Context, tx store.Tx, tenantID, userID string) ([]activityRow, error) {
	evs, err := tx.QueryAudit(ctx, store.AuditQuery{TenantID: tenantID, UserID: userID, Limit: 3 * activityShown, Newest: true})
	if err != nil {
		return nil, err
	}
	var out []activityRow
	for _, e := range evs {
		if hiddenActivity[e.Type] {
			continue
		}
		where := e.IP
		if d := useragent.Describe(e.UserAgent); e.UserAgent != "" {
			if where != "" {
				where += ", "
			}
			where += d
		}
		out = append(out, activityRow{When: formatTime(e.OccurredAt), What: describe(e), Where: where,
			Failed: e.Result != audit.Success})
		if len(out) == activityShown {
			break
		}
	}
	return out, nil
}

// describe says what an audit event means to the person it is about.
func describe(e store.AuditEvent) string {
	var d map[string]any
	_ = json.Unmarshal(e.Details, &d) // the details are ours; missing keys read as ""
	str := func(k string) string {
		if s, ok := d[k].(string); ok {
			return s
		}
		return ""
	}
	switch e.Type {
	case audit.UserSignedUp:
		return "Account created"
	case audit.SignInSucceeded:
		if str("method") == "email_code" {
			return "Signed in with an email code"
		}
		return "Signed in with a passkey"
	case audit.SignInFailed:
		return "A sign-in with a passkey failed"
	case audit.StepUpSucceeded:
		return "Confirmed it was you with a passkey"
	case audit.StepUpFailed:
		return "A confirmation with a passkey failed"
	case audit.PasskeyEnrolled:
		if d["provisional"] == true {
			return fmt.Sprintf("Passkey %q added (provisional while the account is on hold)", str("name"))
		}
		return fmt.Sprintf("Passkey %q added", str("name"))
	case audit.PasskeyEnrollFailed:
		return "Adding a passkey failed"
	case audit.PasskeyRenamed:
		return fmt.Sprintf("Passkey %q renamed to %q", str("from"), str("to"))
	case audit.PasskeyRemoved:
		return fmt.Sprintf("Passkey %q removed", str("name"))
	case audit.SignCountRegression:
		return "A passkey reported a signature counter lower than before, which can mean it was copied"
	case audit.SessionRevoked:
		if str("reason") == reasonSignedOut {
			return "Signed out"
		}
		return "A session was signed out"
	case audit.SessionsRevoked:
		n, _ := d["count"].(float64)
		if n == 1 {
			return "Signed out 1 other session"
		}
		return fmt.Sprintf("Signed out %d other sessions", int(n))
	case audit.EmailAdded:
		return "Email address " + str("email") + " added"
	case audit.EmailVerified:
		return "Email address " + str("email") + " verified"
	case audit.EmailPrimaryChanged:
		return "Primary email address changed to " + str("email")
	case audit.EmailRemoved:
		return "Email address " + str("email") + " removed"
	case audit.NudgeSkipped:
		return "Skipped creating a passkey"
	case audit.UserLocked:
		return "Account locked"
	case audit.UserUnlocked:
		return "Account unlocked"
	case audit.UserDisabled:
		return "Account disabled"
	case otp.EventIssued:
		return "A verification code was sent to " + e.TargetID
	case otp.EventVerified:
		return "A verification code was used"
	case otp.EventFailed:
		return "A wrong verification code was entered"
	case otp.EventThrottled:
		return "Too many wrong verification codes"
	}
	// An event type added later still shows, in plain if technical words.
	return "Security event: " + strings.ReplaceAll(e.Type, "_", " ")
}
