package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// SendCode sends a recovery code to addr when it is the verified address of an
// account that may recover, and otherwise does the same work (a decoy code, counted
// against the same limits) and sends a note that says no code was sent. Either way
// exactly one message goes to addr, and the caller shows the same page.
func (s *Service) SendCode(ctx context.Context, t *store.Tenant, p tenant.Policy, addr string, c Client) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		req := otp.IssueRequest{TenantID: t.ID, Purpose: otp.PurposeRecovery, Subject: addr, IP: c.IP,
			Policy: p.Throttles, Meta: userMeta(c, "", "", session.FlowRecovery)}
		_, ok, err := user.ByVerifiedEmail(ctx, tx, t.ID, addr)
		if err != nil {
			return err
		}
		now := s.Now()
		if !ok {
			if err := s.OTP.IssueDecoy(ctx, tx, req); err != nil {
				return err
			}
			return notify.QueueEmail(ctx, tx, t.ID, "recovery-none:"+secret.ID(), noAccountMail(addr, t.DisplayName), now)
		}
		code, err := s.OTP.Issue(ctx, tx, req)
		if err != nil {
			return err
		}
		return notify.QueueEmail(ctx, tx, t.ID, "recovery-code:"+secret.ID(),
			recoveryCodeMail(addr, t.DisplayName, code, p.Throttles.CodeLifetime.D()), now)
	})
}

// Verified is the outcome of a correct email code.
type Verified struct {
	// Token and Session are set when recovery may go straight on to a passkey.
	Token   string
	Session *store.Session
	// Pending is set instead when a saved recovery code is needed first: the browser
	// keeps it in a cookie and sends it back with the recovery code.
	Pending string
}

type pendingData struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
}

// VerifyCode checks the email code for addr and decides the next step. It returns
// otp.ErrWrongCode (and the otp errors) for a bad code, ErrPrivileged for an
// operator's or admin's account the policy keeps from recovering on its own, and
// ErrDisabled when the policy changed meanwhile.
func (s *Service) VerifyCode(ctx context.Context, tenantID string, p tenant.Policy, addr, code string, c Client) (*Verified, error) {
	if _, err := s.OTP.Verify(ctx, otp.VerifyRequest{TenantID: tenantID, Purpose: otp.PurposeRecovery, Subject: addr,
		Code: code, IP: c.IP, Policy: p.Throttles, Meta: userMeta(c, "", "", session.FlowRecovery)}); err != nil {
		return nil, err
	}
	out := &Verified{}
	var refused error
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		p, err := policyOf(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		u, ok, err := user.ByVerifiedEmail(ctx, tx, tenantID, addr)
		if err != nil {
			return err
		}
		if !ok {
			// Locked or removed between sending and checking the code.
			return otp.ErrWrongCode
		}
		now := store.Micro(s.Now())
		m := userMeta(c, u.ID, "", session.FlowRecovery)
		if !SelfServiceAllowed(p) || (user.Privileged(u) && !p.Recovery.PrivilegedSelfService) {
			refused = ErrDisabled
			reason := "policy: self-service recovery off"
			if SelfServiceAllowed(p) {
				refused, reason = ErrPrivileged, "privileged account"
			}
			// The refusal commits: a privileged account being targeted is news.
			return audit.Record(ctx, tx, now, m, audit.Entry{Type: audit.RecoveryRefused, TenantID: tenantID,
				TargetType: "user", TargetID: u.ID, Result: audit.Denied, Severity: audit.High,
				Details: map[string]any{"method": "email_code", "reason": reason}})
		}
		if p.Recovery.RequireRecoveryCode && p.Methods.RecoveryCode.Recovery {
			left, err := tx.CountRecoveryCodes(ctx, tenantID, u.ID)
			if err != nil {
				return err
			}
			if left > 0 {
				out.Pending = secret.Token(32)
				data, _ := json.Marshal(pendingData{UserID: u.ID, Email: addr}) // two strings cannot fail
				return tx.PutArtifact(ctx, &store.Artifact{Hash: secret.Hash(out.Pending), Kind: kindPending, TenantID: tenantID,
					Subject: u.ID, Data: data, CreatedAt: now, ExpiresAt: now.Add(pendingLifetime)})
			}
		}
		out.Token, out.Session, err = s.begin(ctx, tx, u, session.FlowRecovery, []string{session.AMROTP}, c,
			map[string]any{"method": "email_code"})
		return err
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return out, nil
}

// VerifyRecoveryCode finishes the recovery-code step begun by VerifyCode. A wrong
// code keeps the step open (and is counted); a right one uses up both the code and
// the step.
func (s *Service) VerifyRecoveryCode(ctx context.Context, tenantID, pending, input string, c Client) (*Verified, error) {
	if pending == "" {
		return nil, ErrLinkInvalid
	}
	var wrong error
	out := &Verified{}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		a, err := tx.PeekArtifact(ctx, kindPending, secret.Hash(pending))
		now := s.Now()
		if isNotFound(err) || (err == nil && (a.TenantID != tenantID || !a.RedeemedAt.IsZero() || !now.Before(a.ExpiresAt))) {
			return ErrLinkInvalid
		}
		if err != nil {
			return err
		}
		var d pendingData
		if err := json.Unmarshal(a.Data, &d); err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, tenantID, d.UserID)
		if err != nil {
			return err
		}
		if u.Status != store.UserActive {
			return ErrLinkInvalid
		}
		if err := s.useCode(ctx, tx, u, input, c, ""); err != nil {
			var te *otp.ThrottledError
			if errors.Is(err, ErrWrongRecoveryCode) || errors.As(err, &te) {
				// Commit the counted try and its audit event; report the error after.
				wrong = err
				return nil
			}
			return err
		}
		if _, err := tx.RedeemArtifact(ctx, kindPending, secret.Hash(pending), now); err != nil {
			if isNotFound(err) {
				return ErrLinkInvalid
			}
			return err
		}
		out.Token, out.Session, err = s.begin(ctx, tx, u, session.FlowRecovery, []string{session.AMROTP}, c,
			map[string]any{"method": "email_code+recovery_code"})
		return err
	})
	if err != nil {
		return nil, err
	}
	if wrong != nil {
		return nil, wrong
	}
	return out, nil
}

// begin creates the restricted session a recovery yields and audits the start. The
// session can only enroll a passkey; Complete turns it into an ordinary one.
func (s *Service) begin(ctx context.Context, tx store.Tx, u *store.User, flow string, amr []string, c Client, details map[string]any) (string, *store.Session, error) {
	token, sess, err := s.Sessions.Create(ctx, tx, session.New{
		TenantID: u.TenantID, UserID: u.ID, AMR: amr, ACR: session.ACRSingleFactor, Flow: flow,
		IP: c.IP, Network: c.Network, UserAgent: c.UserAgent, Restricted: true,
	})
	if err != nil {
		return "", nil, err
	}
	err = audit.Record(ctx, tx, store.Micro(s.Now()), userMeta(c, u.ID, sess.ID, flow), audit.Entry{
		Type: audit.RecoveryStarted, TenantID: u.TenantID, TargetType: "user", TargetID: u.ID, Severity: audit.Medium,
		Details: details,
	})
	return token, sess, err
}

// pendingCookieLifetime matches the recovery-code step.
func pendingCookieLifetime() time.Duration { return pendingLifetime }
