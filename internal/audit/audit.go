// Package audit records security-relevant events in each tenant's append-only,
// hash-chained log, and verifies and exports that log.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Event types. A type is "<subject>.<what happened>" so queries can select a family by
// prefix ("session.").
const (
	TenantCreated     = "tenant.created"
	PolicyChanged     = "policy.changed"
	UserCreated       = "user.created"
	UserLocked        = "user.locked"
	UserUnlocked      = "user.unlocked"
	UserDisabled      = "user.disabled"
	SessionCreated    = "session.created"
	SessionRevoked    = "session.revoked"
	SessionsRevoked   = "session.revoked_all"
	OperatorSetupLink = "operator.setup_link_issued"

	UserSignedUp        = "user.signed_up"
	SignInSucceeded     = "signin.succeeded"
	SignInFailed        = "signin.failed"
	StepUpSucceeded     = "stepup.succeeded"
	StepUpFailed        = "stepup.failed"
	PasskeyEnrolled     = "passkey.enrolled"
	PasskeyEnrollFailed = "passkey.enroll_failed"
	PasskeyRenamed      = "passkey.renamed"
	PasskeyRemoved      = "passkey.removed"
	SignCountRegression = "passkey.sign_count_regression"
	// FailuresSuppressed says that further failures of one kind from one network are
	// counted, not recorded one by one, until the window ends: a flood of junk
	// requests must not be able to flood the audit log.
	FailuresSuppressed = "audit.failures_suppressed"
)

// Results.
const (
	Success = "success"
	Failure = "failure"
	Denied  = "denied"
)

// Severities.
const (
	Info   = "info"
	Low    = "low"
	Medium = "medium"
	High   = "high"
)

// Actor types.
const (
	ActorUser     = "user"
	ActorOperator = "operator"
	ActorClient   = "client"
	ActorSystem   = "system"
	ActorCLI      = "cli"
)

// Meta says who did something and from where; handlers fill it from the request.
type Meta struct {
	ActorType string
	ActorID   string
	IP        string
	Network   string
	UserAgent string
	SessionID string
	Flow      string
}

// System is the Meta of actions Gatehouse takes on its own.
func System() Meta { return Meta{ActorType: ActorSystem, ActorID: "gatehouse"} }

// CLI is the Meta of an operator acting through the command line on the server host.
func CLI(user string) Meta {
	if user == "" {
		user = "local"
	}
	return Meta{ActorType: ActorCLI, ActorID: user}
}

// Entry is one event to record.
type Entry struct {
	Type       string
	TenantID   string
	TargetType string
	TargetID   string
	Result     string // defaults to Success
	Severity   string // defaults to Info
	Details    any    // marshalled to a JSON object; never put secrets here
}

// Record appends e to the tenant's audit chain inside tx, so the event commits or
// rolls back with the change it describes.
func Record(ctx context.Context, tx store.Tx, now time.Time, m Meta, e Entry) error {
	details := []byte("{}")
	if e.Details != nil {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return fmt.Errorf("audit %s: %w", e.Type, err)
		}
		details = b
	}
	if e.Result == "" {
		e.Result = Success
	}
	if e.Severity == "" {
		e.Severity = Info
	}
	ev := &store.AuditEvent{
		TenantID: e.TenantID, ID: secret.ID(), Type: e.Type, OccurredAt: now,
		ActorType: text(m.ActorType, 64), ActorID: text(m.ActorID, 256),
		TargetType: text(e.TargetType, 64), TargetID: text(e.TargetID, 256),
		IP: text(m.IP, 64), Network: text(m.Network, 64), UserAgent: text(m.UserAgent, 512),
		SessionID: text(m.SessionID, 256), Flow: text(m.Flow, 64), Result: e.Result, Severity: e.Severity, Details: details,
	}
	return tx.AppendAudit(ctx, ev)
}

// text makes a value that may come from a request (a User-Agent header can hold any
// bytes) safe to store: valid UTF-8, which PostgreSQL demands of TEXT, without NUL,
// which it refuses too, and at most n bytes, cut between characters. Otherwise a
// crafted header would fail the transaction of the change the event describes.
func text(s string, n int) string {
	if utf8.ValidString(s) && len(s) <= n && strings.IndexByte(s, 0) < 0 {
		return s
	}
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
