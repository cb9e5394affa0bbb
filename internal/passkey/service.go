package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// Service runs passkey ceremonies.
type Service struct {
	Store    store.Store
	Now      func() time.Time
	BaseURL  string
	Sessions *session.Manager
	Logger   *slog.Logger
	// OnRestrictedEnroll, when set, finishes a recovery: it runs inside the
	// transaction that stores the first passkey a restricted (recovery) session
	// registered, after the credential and the hold are written, so what it does
	// commits with the enrollment or not at all.
	OnRestrictedEnroll func(ctx context.Context, tx store.Tx, sess *store.Session, u *store.User, cred *store.Credential, c Client) error
}

// Client is where a request came from.
type Client struct {
	IP        string
	Network   string
	UserAgent string
}

func (c Client) meta(actorID, sessionID string) audit.Meta {
	return audit.Meta{ActorType: audit.ActorUser, ActorID: actorID, IP: c.IP, Network: c.Network,
		UserAgent: c.UserAgent, SessionID: sessionID}
}

// loadRP reads the tenant and its policy and builds the relying party.
func (s *Service) loadRP(ctx context.Context, tx store.Tx, tenantID string) (*webauthn.WebAuthn, tenant.Policy, error) {
	// A request under /t/{tenant} already carries its tenant; only the policy, which
	// can change at any moment, is read in this transaction.
	t, ok := tenant.FromContext(ctx)
	if !ok || t.ID != tenantID {
		var err error
		if t, err = tx.GetTenant(ctx, tenantID); err != nil {
			return nil, tenant.Policy{}, err
		}
	}
	p, err := tenant.CurrentPolicy(ctx, tx, tenantID)
	if err != nil {
		return nil, tenant.Policy{}, err
	}
	rp, err := relyingParty(s.BaseURL, t, p)
	return rp, p, err
}

// throttleKey is the client's IPv4 address, or its IPv6 /64: one host can take any
// address of its /64, so counting addresses would not bound it.
func throttleKey(c Client) string {
	ip, err := netip.ParseAddr(c.IP)
	if err != nil || ip.Unmap().Is4() {
		return c.IP
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// throttle bounds ceremony starts per client IP and minute across all nodes
// (policy throttles.ceremonies_per_minute).
func (s *Service) throttle(ctx context.Context, tx store.Tx, tenantID string, p tenant.Policy, c Client) error {
	now := s.Now()
	window := now.Truncate(time.Minute)
	n, err := tx.Hit(ctx, "ceremony:"+tenantID+":"+throttleKey(c), window, window.Add(2*time.Minute))
	if err != nil {
		return err
	}
	if n > p.Throttles.CeremoniesPerMinute {
		return &Error{Status: http.StatusTooManyRequests, Code: CodeThrottled,
			Message: fmt.Sprintf("Too many attempts from your network. Try again in %d seconds.", int(window.Add(time.Minute).Sub(now).Seconds())+1),
			Reason:  "ceremony start limit"}
	}
	return nil
}

// Options is what the browser passes to navigator.credentials.create or get.
type Options = json.RawMessage

// BeginLogin starts a usernameless sign-in; with conditional set the browser offers
// the passkeys in the identifier field's autofill. No account is named, so the
// response reveals nothing about which accounts exist.
func (s *Service) BeginLogin(ctx context.Context, tenantID string, conditional bool, c Client) (Options, error) {
	var out Options
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		rp, p, err := s.loadRP(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if err := s.throttle(ctx, tx, tenantID, p, c); err != nil {
			return err
		}
		var opts *protocol.CredentialAssertion
		var sd *webauthn.SessionData
		if conditional {
			opts, sd, err = rp.BeginDiscoverableMediatedLogin(protocol.MediationConditional)
		} else {
			opts, sd, err = rp.BeginDiscoverableLogin()
		}
		if err != nil {
			return err
		}
		if err := s.saveCeremony(ctx, tx, kindLogin, tenantID, &ceremony{Session: *sd}); err != nil {
			return err
		}
		out, err = json.Marshal(opts)
		return err
	})
	return out, err
}

// LoginResult is a successful passkey sign-in.
type LoginResult struct {
	User       *store.User
	Credential *store.Credential
	Session    *store.Session
	// Token is the new session cookie's value.
	Token string
}

// FinishLogin verifies the assertion in body and, on success, creates a
// phishing-resistant session. Every failure consumes the challenge and is audited.
func (s *Service) FinishLogin(ctx context.Context, tenantID string, body []byte, c Client) (*LoginResult, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, s.loginFailed(ctx, tenantID, "", "", "", malformed(reason(err)), c)
	}
	challenge := parsed.Response.CollectedClientData.Challenge
	credID := b64.EncodeToString(parsed.RawID)

	var (
		user   *store.User
		cred   *store.Credential
		waCred *webauthn.Credential
		policy tenant.Policy
	)
	// Verify on a read transaction: the signature check needs no write lock.
	err = s.Store.View(ctx, func(tx store.Tx) error {
		cer, err := s.peekCeremony(ctx, tx, kindLogin, tenantID, challenge)
		if err != nil {
			return err
		}
		rp, p, err := s.loadRP(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		policy = p
		// The credential must belong to this tenant, whatever the user handle says.
		if cred, err = tx.GetCredentialByCredID(ctx, tenantID, credID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errUnknownCredential
			}
			return err
		}
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			if string(userHandle) != cred.UserID {
				return nil, errUnknownCredential
			}
			u, err := tx.GetUser(ctx, tenantID, cred.UserID)
			if err != nil {
				return nil, err
			}
			user = u
			creds, err := tx.ListCredentials(ctx, tenantID, u.ID)
			if err != nil {
				return nil, err
			}
			return &waUser{id: u.ID, name: u.DisplayName, display: u.DisplayName, creds: toWebAuthn(creds)}, nil
		}
		_, waCred, err = rp.ValidatePasskeyLogin(handler, cer.Session, parsed)
		if err != nil {
			if e, ok := AsError(err); ok {
				return e
			}
			var pe *protocol.Error
			if errors.As(err, &pe) {
				return verificationFailed(reason(err))
			}
			return err
		}
		return nil
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, s.loginFailed(ctx, tenantID, challenge, userIDOf(cred), credID, e, c)
		}
		return nil, err
	}
	if user.Status != store.UserActive {
		return nil, s.loginFailed(ctx, tenantID, challenge, user.ID, credID, errAccountUnusable, c)
	}
	regression := waCred.Authenticator.CloneWarning
	if regression && policy.Passkeys.SignCountRegression == "refuse" {
		e := verificationFailed(fmt.Sprintf("sign count regression: stored %d, presented %d", cred.SignCount, parsed.Response.AuthenticatorData.Counter))
		return nil, s.loginFailed(ctx, tenantID, challenge, user.ID, credID, e, c)
	}

	res := &LoginResult{User: user, Credential: cred}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := s.redeemCeremony(ctx, tx, kindLogin, challenge); err != nil {
			return err
		}
		now := store.Micro(s.Now())
		if err := recordUse(ctx, tx, cred, waCred, c, now); err != nil {
			return err
		}
		// Re-read the account inside the write: a lock that landed after the checks
		// above must still stop this sign-in.
		current, err := tx.GetUser(ctx, tenantID, user.ID)
		if err != nil {
			return err
		}
		if current.Status != store.UserActive {
			return errAccountUnusable
		}
		acr, flow := assurance(cred, current, now)
		token, sess, err := s.Sessions.Create(ctx, tx, session.New{
			TenantID: tenantID, UserID: user.ID, AMR: passkeyAMR(cred), ACR: acr, Flow: flow,
			IP: c.IP, Network: c.Network, UserAgent: c.UserAgent, Policy: &policy, CredentialID: cred.ID,
		})
		if err != nil {
			return err
		}
		res.Token, res.Session = token, sess
		m := c.meta(user.ID, sess.ID)
		if regression {
			if err := audit.Record(ctx, tx, now, m, audit.Entry{
				Type: audit.SignCountRegression, TenantID: tenantID, TargetType: "credential", TargetID: cred.ID,
				Severity: audit.High, Result: audit.Success,
				Details: map[string]any{"stored": cred.SignCount, "presented": parsed.Response.AuthenticatorData.Counter, "policy": "flag"},
			}); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, now, m, audit.Entry{
			Type: audit.SignInSucceeded, TenantID: tenantID, TargetType: "user", TargetID: user.ID,
			Details: map[string]any{"method": "passkey", "credential": cred.ID, "synced": cred.BackupEligible},
		})
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, s.loginFailed(ctx, tenantID, challenge, user.ID, credID, e, c)
		}
		return nil, err
	}
	return res, nil
}

func userIDOf(c *store.Credential) string {
	if c == nil {
		return ""
	}
	return c.UserID
}

// recordUse stores a verified use of cred: the new counter (unless it went backwards,
// which is flagged instead), the current backup state, when and from where.
func recordUse(ctx context.Context, tx store.Tx, cred *store.Credential, waCred *webauthn.Credential, c Client, now time.Time) error {
	if !waCred.Authenticator.CloneWarning {
		cred.SignCount = waCred.Authenticator.SignCount
	}
	cred.BackedUp, cred.LastUsedAt, cred.LastUsedIP = waCred.Flags.BackupState, now, c.IP
	if err := tx.UpdateCredentialUse(ctx, cred); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errUnknownCredential
		}
		return err
	}
	return nil
}

// assurance is what a sign-in with cred gives: phishing-resistant, unless the
// credential was enrolled during a recovery hold that is still running, in which case
// the session is provisional and only multi-factor.
func assurance(cred *store.Credential, u *store.User, now time.Time) (acr, flow string) {
	if cred.Provisional && now.Before(u.HoldUntil) {
		return session.ACRMultiFactor, session.FlowProvisional
	}
	return session.ACRPhishingResistant, session.FlowNormal
}

// passkeyAMR says how the key is held: a synced (backup-eligible) passkey is a
// software key, a device-bound one a hardware key; either way the user was verified.
func passkeyAMR(c *store.Credential) []string {
	if c.BackupEligible {
		return []string{session.AMRSoftwareKey, session.AMRUser}
	}
	return []string{session.AMRHardwareKey, session.AMRUser}
}

// loginFailed consumes the challenge (so a failed response cannot be retried with
// corrections) and audits the failure, then returns e.
func (s *Service) loginFailed(ctx context.Context, tenantID, challenge, userID, credID string, e *Error, c Client) error {
	return s.failed(ctx, kindLogin, audit.SignInFailed, tenantID, challenge, userID, credID, e, c, "")
}

func (s *Service) failed(ctx context.Context, kind, typ, tenantID, challenge, userID, credID string, e *Error, c Client, sessionID string) error {
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		if challenge != "" {
			if err := s.redeemCeremony(ctx, tx, kind, challenge); err != nil && !errors.Is(err, errChallenge) {
				return err
			}
		}
		if _, err := tx.GetTenant(ctx, tenantID); err != nil {
			return err
		}
		record, err := s.auditCap(ctx, tx, tenantID, typ, c)
		if !record || err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.Now(), c.meta(userID, sessionID), audit.Entry{
			Type: typ, TenantID: tenantID, TargetType: "user", TargetID: userID,
			Result: audit.Failure, Severity: audit.Low,
			Details: map[string]any{"method": "passkey", "code": e.Code, "reason": e.Reason, "credential_id": truncate(credID, 96)},
		})
	})
	if err != nil && s.Logger != nil {
		s.Logger.ErrorContext(ctx, "recording a failed passkey ceremony", "error", err)
	}
	if s.Logger != nil {
		s.Logger.InfoContext(ctx, "passkey ceremony refused", "tenant", tenantID, "code", e.Code, "reason", e.Reason)
	}
	return e
}

// Failed ceremonies are recorded one by one up to failureAuditCap per network (the
// /64 for IPv6) in each failureAuditWindow; beyond that a single
// audit.failures_suppressed event says so and the rest are only counted.
const (
	failureAuditCap    = 20
	failureAuditWindow = 10 * time.Minute
)

// auditCap counts a failure of type typ from the client's network and reports
// whether it should be recorded on its own. The first failure over the cap records
// the suppression instead.
func (s *Service) auditCap(ctx context.Context, tx store.Tx, tenantID, typ string, c Client) (bool, error) {
	now := s.Now()
	window := now.Truncate(failureAuditWindow)
	n, err := tx.Hit(ctx, "audit-cap:"+typ+":"+tenantID+":"+throttleKey(c), window, window.Add(failureAuditWindow+time.Minute))
	if err != nil || n <= failureAuditCap {
		return err == nil, err
	}
	if n == failureAuditCap+1 {
		return false, audit.Record(ctx, tx, now, c.meta("", ""), audit.Entry{
			Type: audit.FailuresSuppressed, TenantID: tenantID, TargetType: "network", TargetID: throttleKey(c),
			Result: audit.Failure, Severity: audit.Medium,
			Details: map[string]any{"event": typ, "recorded": failureAuditCap, "until": window.Add(failureAuditWindow).UTC().Format(time.RFC3339)},
		})
	}
	return false, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
