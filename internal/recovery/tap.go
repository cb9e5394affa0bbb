package recovery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// TAPLength is the number of symbols of a pass: 100 bits, typed in groups of four.
const TAPLength = 20

// Errors of the help-desk pass. Their messages are sentences safe to show.
var (
	ErrNotOperator      = errors.New("the operator must be an active operator or admin of the system tenant")
	ErrSameOperator     = errors.New("a pass must be approved by a different operator than the one who issued it")
	ErrNoApprovalNeeded = errors.New("this pass does not need an approval")
	ErrAlreadyApproved  = errors.New("this pass was already approved")
	ErrTAPNotLive       = errors.New("this pass was already used, revoked or has expired")
	ErrTAPInvalid       = errors.New("That pass is not valid. Check it and type it again, or ask your help desk for a new one.")
	// ErrTAPAwaitingApproval means a second operator has not approved the pass yet.
	ErrTAPAwaitingApproval = errors.New("This pass is waiting for a second help-desk operator to approve it. Try again once your help desk says it is approved.")
	ErrUserNotActive       = errors.New("the account is locked or disabled: unlock it first")
)

// InvalidError is a request the help desk must correct; its message is safe to show.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// NotFoundError means the pass a request names does not exist in the tenant; its
// message is safe to show.
type NotFoundError struct{ Msg string }

func (e *NotFoundError) Error() string { return e.Msg }

// ErrVerifiedBy means an issue request did not say how the person's identity was
// checked, or said it in more than 500 characters. The message names no input:
// the command line calls it --verified-by and the admin API verified_by, so each
// names its own before it; anything else may show it as the InvalidError it is.
var ErrVerifiedBy error = &InvalidError{"say how the person's identity was checked, in at most 500 characters"}

func tapHash(normalized string) string { return secret.Hash("tap:" + normalized) }

// FindOperator resolves an operator reference (a user id or email address in the
// system tenant) to an active operator or admin, or returns ErrNotOperator
// (ErrOperatorOnHold when that account is on a recovery hold at now).
func FindOperator(ctx context.Context, tx store.Tx, ref string, now time.Time) (*store.User, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, ErrNotOperator
	}
	var u *store.User
	var err error
	if strings.Contains(ref, "@") {
		addr, nerr := user.NormalizeEmail(ref)
		if nerr != nil {
			return nil, ErrNotOperator
		}
		u, err = tx.FindUserByIdentifier(ctx, tenant.System, store.IdentEmail, addr)
	} else {
		u, err = tx.GetUser(ctx, tenant.System, ref)
	}
	if isNotFound(err) {
		return nil, ErrNotOperator
	}
	if err != nil {
		return nil, err
	}
	if u.Status != store.UserActive || !user.Privileged(u) {
		return nil, ErrNotOperator
	}
	if OnHold(u, now) {
		return nil, ErrOperatorOnHold
	}
	return u, nil
}

// ErrOperatorOnHold means the operator's own account is on a recovery hold: whoever
// recovered it may not be its owner, so it may not act on passes or holds until the
// hold ends.
var ErrOperatorOnHold = errors.New("the operator's own account is on a recovery hold: it cannot act on passes or holds until the hold ends")

// Operator is who acts on a pass: a person (an active operator or admin of the system
// tenant, or an admin of the pass's own tenant) or an admin API client that
// authenticated with the client_credentials grant.
type Operator struct {
	ID     string
	Client bool
}

// ref is how the operator is recorded on the pass: client ids and user ids are
// different namespaces, so clients carry a prefix.
func (o Operator) ref() string {
	if o.Client {
		return "client:" + o.ID
	}
	return o.ID
}

func (o Operator) meta(m audit.Meta) audit.Meta {
	m.ActorType, m.ActorID = audit.ActorOperator, o.ID
	if o.Client {
		m.ActorType = audit.ActorClient
	}
	return m
}

// ErrOwnPass means an operator acted on a pass for their own account.
var ErrOwnPass = errors.New("nobody may issue or approve a pass for their own account")

// ErrApprovalNeedsPerson means an API client tried to approve a pass: the second pair
// of eyes must be a person's.
var ErrApprovalNeedsPerson = errors.New("a pass is approved by a person: sign in as an operator with a passkey to approve it")

// checkOperator confirms a person acting on a pass in tenantID may: an active
// operator or admin of the system tenant, or an admin of tenantID itself. Clients
// were authenticated by the admin API and are taken as they are.
func checkOperator(ctx context.Context, tx store.Tx, tenantID string, o Operator, now time.Time) error {
	if o.Client {
		return nil
	}
	for _, home := range []string{tenant.System, tenantID} {
		u, err := tx.GetUser(ctx, home, o.ID)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if u.Status == store.UserActive && user.Privileged(u) {
			if OnHold(u, now) {
				return ErrOperatorOnHold
			}
			return nil
		}
	}
	return ErrNotOperator
}

// IssueTAP is a request for a pass.
type IssueTAP struct {
	TenantID string
	// User is the target: an id or an email address in TenantID.
	User string
	// Operator is who issues it.
	Operator Operator
	// VerifiedBy says how the person's identity was checked; required.
	VerifiedBy string
	// TTL is the pass's lifetime; zero means one hour or the policy's maximum,
	// whichever is shorter.
	TTL time.Duration
}

// Issued is a new pass. Pass is shown once and never stored.
type Issued struct {
	TAP  *store.TAP
	Pass string
}

// findUser resolves an id or email address within a tenant.
func findUser(ctx context.Context, tx store.Tx, tenantID, ref string) (*store.User, error) {
	if strings.Contains(ref, "@") {
		addr, err := user.NormalizeEmail(ref)
		if err != nil {
			return nil, &InvalidError{"no user " + ref + " in tenant " + tenantID}
		}
		u, err := tx.FindUserByIdentifier(ctx, tenantID, store.IdentEmail, addr)
		if isNotFound(err) {
			return nil, &InvalidError{"no user " + ref + " in tenant " + tenantID}
		}
		return u, err
	}
	u, err := tx.GetUser(ctx, tenantID, ref)
	if isNotFound(err) {
		return nil, &InvalidError{"no user " + ref + " in tenant " + tenantID}
	}
	return u, err
}

// Issue creates a pass for a user. A privileged target's pass needs a second
// operator's approval before it works, when the policy says so (the default).
func (s *Service) Issue(ctx context.Context, in IssueTAP, m audit.Meta) (*Issued, error) {
	verified := strings.TrimSpace(in.VerifiedBy)
	if verified == "" || !utf8.ValidString(verified) || utf8.RuneCountInString(verified) > 500 {
		return nil, ErrVerifiedBy
	}
	var out *Issued
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		p, err := policyOf(ctx, tx, in.TenantID)
		if err != nil {
			return err
		}
		if !TAPAllowed(p) {
			return &InvalidError{"help-desk passes are turned off in tenant " + in.TenantID + " (flows.helpdesk_tap, methods.tap.recovery)"}
		}
		ttl := in.TTL
		max := p.Recovery.TAPMaxLifetime.D()
		switch {
		case ttl == 0:
			ttl = min(time.Hour, max)
		case ttl < time.Minute:
			return &InvalidError{"a pass must live at least 1m"}
		case ttl > max:
			return &InvalidError{fmt.Sprintf("a pass may live at most %s here (recovery.tap_max_lifetime)", max)}
		}
		if err := checkOperator(ctx, tx, in.TenantID, in.Operator, s.Now()); err != nil {
			return err
		}
		u, err := findUser(ctx, tx, in.TenantID, in.User)
		if err != nil {
			return err
		}
		if u.Status != store.UserActive {
			return ErrUserNotActive
		}
		if !in.Operator.Client && in.Operator.ID == u.ID {
			return ErrOwnPass
		}
		now := store.Micro(s.Now())
		raw := randomSymbols(TAPLength)
		t := &store.TAP{ID: secret.ID(), TenantID: in.TenantID, UserID: u.ID, Hash: tapHash(raw), IssuedBy: in.Operator.ref(),
			VerifiedBy: verified, NeedsApproval: needsApproval(u, p, in.Operator),
			CreatedAt: now, ExpiresAt: now.Add(ttl)}
		if err := tx.CreateTAP(ctx, t); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, now, in.Operator.meta(m), audit.Entry{
			Type: audit.TAPIssued, TenantID: in.TenantID, TargetType: "user", TargetID: u.ID, Severity: audit.High,
			Details: map[string]any{"tap": t.ID, "issued_by": t.IssuedBy, "verified_by": verified, "expires_at": t.ExpiresAt,
				"needs_approval": t.NeedsApproval},
		}); err != nil {
			return err
		}
		if _, err := user.NotifyVerifiedEmails(ctx, tx, in.TenantID, u.ID, user.Notice{
			Key: "tap-issued:" + t.ID, Subject: "Your help desk issued a temporary access pass for your account",
			What: "Your help desk issued a one-time temporary access pass for your account, valid until " + FormatTime(t.ExpiresAt) +
				". It lets whoever holds it add a new passkey. If you did not ask your help desk for one, tell them at once.",
			At: now, ByAdministrator: true,
		}); err != nil {
			return err
		}
		out = &Issued{TAP: t, Pass: group(raw)}
		return nil
	})
	return out, err
}

// needsApproval decides whether a pass for u waits for a second operator. The policy
// may let one operator alone help a privileged account, but never an API client: a
// client that could also rewrite the policy would otherwise hand itself a working
// pass for an admin's account, with no person ever looking at it.
func needsApproval(u *store.User, p tenant.Policy, o Operator) bool {
	return user.Privileged(u) && (p.Recovery.TAPPrivilegedTwoPersons || o.Client)
}

// Approve records a second operator's approval of a privileged target's pass. The
// issuer cannot approve their own pass; such an attempt is refused and audited.
func (s *Service) Approve(ctx context.Context, tenantID, id string, op Operator, m audit.Meta) (*store.TAP, error) {
	if op.Client {
		return nil, ErrApprovalNeedsPerson
	}
	var out *store.TAP
	var refused error
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		t, err := s.operatorTAP(ctx, tx, tenantID, id, op)
		if err != nil {
			return err
		}
		now := store.Micro(s.Now())
		m = op.meta(m)
		switch {
		case !t.NeedsApproval:
			return ErrNoApprovalNeeded
		case !t.ApprovedAt.IsZero():
			return ErrAlreadyApproved
		case t.IssuedBy == op.ref() || t.UserID == op.ID:
			refused = ErrSameOperator
			if t.UserID == op.ID {
				refused = ErrOwnPass
			}
			// Commit the refusal: one operator trying to approve their own pass is news.
			return audit.Record(ctx, tx, now, m, audit.Entry{
				Type: audit.TAPApprovalRefused, TenantID: tenantID, TargetType: "user", TargetID: t.UserID, Result: audit.Denied,
				Severity: audit.High, Details: map[string]any{"tap": t.ID, "issued_by": t.IssuedBy, "reason": refused.Error()},
			})
		}
		if err := tx.ApproveTAP(ctx, tenantID, id, op.ref(), now); err != nil {
			if isNotFound(err) {
				return ErrTAPNotLive
			}
			return err
		}
		t.ApprovedBy, t.ApprovedAt = op.ref(), now
		out = t
		return audit.Record(ctx, tx, now, m, audit.Entry{
			Type: audit.TAPApproved, TenantID: tenantID, TargetType: "user", TargetID: t.UserID, Severity: audit.High,
			Details: map[string]any{"tap": t.ID, "issued_by": t.IssuedBy, "approved_by": t.ApprovedBy},
		})
	})
	if err == nil && refused != nil {
		return nil, refused
	}
	return out, err
}

// operatorTAP checks that op may act on the tenant's passes and loads pass id.
func (s *Service) operatorTAP(ctx context.Context, tx store.Tx, tenantID, id string, op Operator) (*store.TAP, error) {
	if err := checkOperator(ctx, tx, tenantID, op, s.Now()); err != nil {
		return nil, err
	}
	t, err := tx.GetTAP(ctx, tenantID, id)
	if isNotFound(err) {
		return nil, &NotFoundError{"no pass " + id + " in tenant " + tenantID}
	}
	return t, err
}

// TAPState names where a pass is in its life at now: "ready", "awaiting_approval",
// "used", "revoked" or "expired".
func TAPState(p *store.TAP, now time.Time) string {
	switch {
	case !p.RedeemedAt.IsZero():
		return "used"
	case !p.RevokedAt.IsZero():
		return "revoked"
	case !now.Before(p.ExpiresAt):
		return "expired"
	case p.NeedsApproval && p.ApprovedAt.IsZero():
		return "awaiting_approval"
	}
	return "ready"
}

// ListTAPs returns the tenant's passes, newest first (only live ones when live).
func (s *Service) ListTAPs(ctx context.Context, tenantID string, live bool) ([]store.TAP, error) {
	var out []store.TAP
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListTAPs(ctx, tenantID, store.TAPQuery{Live: live, Now: s.Now()})
		return err
	})
	return out, err
}

// Revoke withdraws a pass that has not been used.
func (s *Service) Revoke(ctx context.Context, tenantID, id string, op Operator, m audit.Meta) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		t, err := s.operatorTAP(ctx, tx, tenantID, id, op)
		if err != nil {
			return err
		}
		now := store.Micro(s.Now())
		if err := tx.RevokeTAP(ctx, tenantID, id, now); err != nil {
			if isNotFound(err) {
				return ErrTAPNotLive
			}
			return err
		}
		return audit.Record(ctx, tx, now, op.meta(m), audit.Entry{
			Type: audit.TAPRevoked, TenantID: tenantID, TargetType: "user", TargetID: t.UserID, Severity: audit.Medium,
			Details: map[string]any{"tap": t.ID},
		})
	})
}

// SignInWithTAP redeems a pass and starts the restricted recovery session it grants.
// Wrong passes are counted per client network (policy throttles.ip_attempts_per_hour).
func (s *Service) SignInWithTAP(ctx context.Context, tenantID, input string, c Client) (string, *store.Session, error) {
	var token string
	var sess *store.Session
	var failed error
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		p, err := policyOf(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if !TAPAllowed(p) {
			return ErrDisabled
		}
		now := store.Micro(s.Now())
		hour := now.Truncate(time.Hour)
		if c.IP != "" {
			n, err := tx.CounterValue(ctx, "tap-ip:"+tenantID+":"+c.IP, hour)
			if err != nil {
				return err
			}
			if n >= p.Throttles.IPAttemptsPerHour {
				return &otp.ThrottledError{RetryAfter: hour.Add(time.Hour).Sub(now).Round(time.Second) + time.Second, Reason: otp.ReasonIP}
			}
		}
		fail := func(why error, reason, userID string) error {
			failed = why
			if c.IP != "" {
				if _, err := tx.Hit(ctx, "tap-ip:"+tenantID+":"+c.IP, hour, hour.Add(2*time.Hour)); err != nil {
					return err
				}
			}
			return audit.Record(ctx, tx, now, userMeta(c, userID, "", session.FlowTAP), audit.Entry{
				Type: audit.TAPFailed, TenantID: tenantID, TargetType: "user", TargetID: userID, Result: audit.Failure,
				Severity: audit.Medium, Details: map[string]any{"reason": reason},
			})
		}
		raw := normalize(input, TAPLength)
		if raw == "" {
			return fail(ErrTAPInvalid, "malformed pass", "")
		}
		t, err := tx.GetTAPByHash(ctx, tenantID, tapHash(raw))
		if isNotFound(err) {
			return fail(ErrTAPInvalid, "unknown pass", "")
		}
		if err != nil {
			return err
		}
		if t.NeedsApproval && t.ApprovedAt.IsZero() && t.RedeemedAt.IsZero() && t.RevokedAt.IsZero() && now.Before(t.ExpiresAt) {
			return fail(ErrTAPAwaitingApproval, "awaiting second operator", t.UserID)
		}
		if _, err := tx.RedeemTAP(ctx, tenantID, t.Hash, now); err != nil {
			if isNotFound(err) {
				return fail(ErrTAPInvalid, "pass used, revoked or expired", t.UserID)
			}
			return err
		}
		u, err := tx.GetUser(ctx, tenantID, t.UserID)
		if err != nil {
			return err
		}
		if u.Status != store.UserActive {
			return fail(ErrTAPInvalid, "account not active", u.ID)
		}
		if t.ApprovedAt.IsZero() && needsApproval(u, p, Operator{}) {
			// The account gained an operator or admin role after the pass was issued
			// for it as an ordinary one: no second operator has looked at it.
			return fail(ErrTAPInvalid, "account became privileged after the pass was issued without approval", u.ID)
		}
		token, sess, err = s.begin(ctx, tx, u, session.FlowTAP, []string{session.AMROTP}, c,
			map[string]any{"method": "tap", "tap": t.ID, "issued_by": t.IssuedBy, "approved_by": t.ApprovedBy})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, userMeta(c, u.ID, sess.ID, session.FlowTAP), audit.Entry{
			Type: audit.TAPUsed, TenantID: tenantID, TargetType: "user", TargetID: u.ID, Severity: audit.High,
			Details: map[string]any{"tap": t.ID, "issued_by": t.IssuedBy, "approved_by": t.ApprovedBy},
		})
	})
	if err == nil && failed != nil {
		return "", nil, failed
	}
	return token, sess, err
}
