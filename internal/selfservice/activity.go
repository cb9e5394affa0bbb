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
// better (every sign-in also creates a session; every sign-up also creates a user),
// or routine ones that would crowd the list: an application refreshing its tokens
// every few minutes. A replayed refresh token is shown (oauth.refresh_reused).
var hiddenActivity = map[string]bool{audit.SessionCreated: true, audit.UserCreated: true, audit.OAuthTokenRefreshed: true}

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
		out = append(out, activityRow{When: formatTime(e.OccurredAt), What: describe(e, userID), Where: where,
			Failed: e.Result != audit.Success})
		if len(out) == activityShown {
			break
		}
	}
	return out, nil
}

// unknownActivity starts the line of an event type that has no sentence yet: it still
// shows, in plain if technical words. Every type Gatehouse records has a sentence.
const unknownActivity = "Security event: "

// describe says what an audit event means to viewer, the person whose account page
// lists it. Most events are about the viewer's own account; an operator also sees
// what they did to other accounts, and an administrator's change to the viewer's
// account says so.
func describe(e store.AuditEvent, viewer string) string {
	var d map[string]any
	_ = json.Unmarshal(e.Details, &d) // the details are ours; missing keys read as ""
	str := func(k string) string {
		if s, ok := d[k].(string); ok {
			return s
		}
		return ""
	}
	count := func(k string) int { n, _ := d[k].(float64); return int(n) }
	// account is whose account a user event is about; byAdmin says an operator (not
	// the viewer) made the change.
	account := "your account"
	if e.TargetType == "user" && e.TargetID != "" && e.TargetID != viewer {
		account = "another account"
	}
	byAdmin := ""
	if (e.ActorType == audit.ActorOperator || e.ActorType == audit.ActorCLI) && e.ActorID != viewer {
		byAdmin = " by an administrator"
	}
	failed := e.Result != audit.Success
	if s := describeRecovery(e, str, account, byAdmin); s != "" {
		return s
	}
	if s := describeApps(e, count, failed); s != "" {
		return s
	}
	if s := describeAdmin(e, str); s != "" {
		return s
	}
	switch e.Type {
	case audit.UserSignedUp:
		return "Account created"
	case audit.UserCreated:
		return upper(account) + " was created" + byAdmin
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
	case audit.SessionCreated:
		return "Signed in"
	case audit.SessionRevoked:
		if str("reason") == reasonSignedOut {
			return "Signed out"
		}
		return "A session was signed out"
	case audit.SessionsRevoked:
		if byAdmin != "" || account != "your account" {
			return "Every session of " + account + " was signed out" + byAdmin
		}
		if n := count("count"); n != 1 {
			return fmt.Sprintf("Signed out %d other sessions", n)
		}
		return "Signed out 1 other session"
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
		return upper(account) + " was locked" + byAdmin
	case audit.UserUnlocked:
		return upper(account) + " was unlocked" + byAdmin
	case audit.UserDisabled:
		return upper(account) + " was disabled" + byAdmin
	case audit.FailuresSuppressed:
		return "Many failed attempts came from one network; further ones were counted rather than listed"
	case otp.EventIssued:
		return "A verification code was sent to " + e.TargetID
	case otp.EventVerified:
		return "A verification code was used"
	case otp.EventFailed:
		return "A wrong verification code was entered"
	case otp.EventThrottled:
		return "Too many wrong verification codes"
	}
	return unknownActivity + strings.ReplaceAll(e.Type, "_", " ")
}

// describeRecovery words the events of account recovery and help-desk passes, or
// returns "" for other events.
func describeRecovery(e store.AuditEvent, str func(string) string, account, byAdmin string) string {
	switch e.Type {
	case audit.RecoveryStarted:
		switch str("method") {
		case "tap":
			return "Account recovery started with a temporary access pass"
		case "email_code+recovery_code":
			return "Account recovery started with an email code and a recovery code"
		}
		return "Account recovery started with an email code"
	case audit.RecoveryRefused:
		return "An account recovery was refused"
	case audit.RecoveryCompleted:
		return "Account recovered: a new passkey was added and the account went on hold"
	case audit.RecoveryRepudiated:
		return "A recovery was reported as not yours: its passkey was removed and the account locked"
	case audit.RecoveryHoldEnded:
		return "The recovery hold on " + account + " was ended early" + byAdmin
	case audit.RecoveryCodesGenerated:
		return "New recovery codes were created; older ones no longer work"
	case audit.RecoveryCodeUsed:
		return "A recovery code was used"
	case audit.RecoveryCodeFailed:
		return "A wrong recovery code was entered"
	case audit.TAPIssued:
		return "A temporary access pass was issued for " + account + byAdmin
	case audit.TAPApproved:
		return "A temporary access pass for " + account + " was approved" + byAdmin
	case audit.TAPApprovalRefused:
		return "An approval of a temporary access pass for " + account + " was refused: a second operator must approve it"
	case audit.TAPRevoked:
		return "A temporary access pass for " + account + " was revoked" + byAdmin
	case audit.TAPUsed:
		return "A temporary access pass was used to start an account recovery"
	case audit.TAPFailed:
		return "A temporary access pass that is wrong or no longer valid was entered"
	}
	return ""
}

// describeApps words the events of applications and devices signing in to the
// account, or returns "" for other events.
func describeApps(e store.AuditEvent, count func(string) int, failed bool) string {
	switch e.Type {
	case audit.OAuthConsentGranted:
		return "Allowed an application to use your account"
	case audit.OAuthConsentDenied:
		return "Refused an application access to your account"
	case audit.OAuthConsentRevoked:
		return "Removed an application's access to your account"
	case audit.OAuthCodeIssued:
		return "Signed in to an application"
	case audit.OAuthCodeReused:
		return "An application sign-in was refused because its one-time code was used twice"
	case audit.OAuthTokenIssued:
		return "An application received access to your account"
	case audit.OAuthTokenRefreshed:
		return "An application renewed its access to your account"
	case audit.OAuthRefreshReused:
		return "An application's access was revoked because an old token of it was used again, which can mean it was stolen"
	case audit.OAuthTokenRevoked:
		return "An application's access token was revoked"
	case audit.OAuthLogout:
		return "Signed out of an application"
	case audit.OAuthClientAuthFail:
		return "An application failed to prove its identity"
	case audit.DeviceRequested:
		return "A device asked to sign in with a code"
	case audit.DeviceCodeEntered:
		if failed {
			return "A wrong device code was entered"
		}
		return "Entered a code from a device"
	case audit.DeviceEntryLocked:
		return "Entering device codes was locked after too many wrong codes"
	case audit.DeviceApproved:
		return "Approved a device to sign in to your account"
	case audit.DeviceDenied:
		return "Denied a device's request to sign in"
	case audit.DeviceProximityMismatch:
		return "A device asked to sign in from a different network than yours"
	case audit.DeviceApprovalRefused:
		return "A device approval was refused because the device is on a different network than yours"
	case audit.DeviceTokenIssued:
		return "A device finished signing in to your account"
	case audit.DeviceExpired:
		return "A device's sign-in code expired unused"
	case audit.DeviceGrantsRevoked:
		if n := count("count"); n != 1 {
			return fmt.Sprintf("%d devices signed in with a code were signed out", n)
		}
		return "1 device signed in with a code was signed out"
	}
	return ""
}

// describeAdmin words the events of running the service, which an operator's own
// list shows, or returns "" for other events.
func describeAdmin(e store.AuditEvent, str func(string) string) string {
	app := e.TargetID
	if n := str("name"); n != "" {
		app = n
	}
	switch e.Type {
	case audit.TenantCreated:
		return fmt.Sprintf("Tenant %q created", e.TargetID)
	case audit.PolicyChanged:
		return fmt.Sprintf("The sign-in policy of tenant %q was changed", e.TargetID)
	case audit.KeyCreated:
		return "A new token-signing key was created"
	case audit.KeyRotated:
		return "The token-signing key was rotated"
	case audit.ClientCreated:
		return fmt.Sprintf("Application %q registered", app)
	case audit.ClientUpdated:
		return fmt.Sprintf("Application %q changed", app)
	case audit.ClientDeleted:
		return fmt.Sprintf("Application %q deleted", app)
	case audit.ClientSecretRotated:
		return fmt.Sprintf("Application %q was given a new secret", app)
	case audit.OperatorSetupLink:
		return "An operator setup link was issued"
	case audit.OperatorSetupUsed:
		return "The operator setup link was used to create the first operator"
	}
	return ""
}

// upper capitalizes the first letter of an ASCII sentence fragment.
func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
