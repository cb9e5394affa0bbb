package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// RegisterRequest says whom a new passkey is for: the signed-in account of Session,
// or a new account described by SignUp (then Binding, the hash of a secret the
// browser holds, ties the ceremony to that browser).
type RegisterRequest struct {
	Session *store.Session
	SignUp  *SignUp
	Binding string
	Name    string
}

// FinishRequest carries what binds a finishing browser to the ceremony it began.
type FinishRequest struct {
	SessionID string
	Binding   string
}

// RegisterResult is a newly registered passkey (and, for a sign-up, the new account
// and its first session).
type RegisterResult struct {
	User       *store.User
	Credential *store.Credential
	Session    *store.Session
	Token      string
	// Provisional is set when the passkey was enrolled without a fresh
	// phishing-resistant session, so the account entered a hold.
	Provisional bool
}

// MaxNameLength bounds passkey names.
const MaxNameLength = 64

func cleanName(name, ua string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength || strings.ContainsAny(name, "\r\n\t") {
		return "", &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest,
			Message: "A passkey name must be at most 64 characters of plain text.", Reason: "bad passkey name"}
	}
	if name == "" {
		name = "Passkey on " + deviceName(ua)
	}
	return name, nil
}

// deviceName guesses a friendly device name from a user agent for default names.
func deviceName(ua string) string {
	for _, d := range []struct{ needle, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Macintosh", "Mac"},
		{"Windows", "Windows"}, {"CrOS", "Chromebook"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, d.needle) {
			return d.name
		}
	}
	return "this device"
}

// RestrictedMaxAge bounds how long a recovery session may take to create its passkey.
const RestrictedMaxAge = 30 * time.Minute

var errRecoveryExpired = &Error{Status: http.StatusForbidden, Code: CodeStepUpRequired,
	Message: "Your recovery took too long. Start the recovery again to create a passkey.", Reason: "restricted session too old to enroll"}

// CodeOnHold is the JSON API's code for a change a provisional session may not make.
const CodeOnHold = "on_hold"

// holdError refuses a change to a provisional session while its account's hold lasts:
// a passkey enrolled by a recovery must not be able to add or remove others.
func holdError(until time.Time) *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeOnHold,
		Message: "Your account was recovered recently and is on hold until " + until.UTC().Format("2 Jan 2006, 15:04 UTC") +
			". Until then this session cannot add or remove passkeys. Sign in with a passkey you had before the recovery, or wait for the hold to end.",
		Reason: "provisional session during hold"}
}

// provisionalOnHold reports whether sess is a provisional session of an account whose
// hold has not ended.
func provisionalOnHold(sess *store.Session, u *store.User, now time.Time) bool {
	return sess.Flow == session.FlowProvisional && now.Before(u.HoldUntil)
}

// mayEnroll decides whether sess may add a credential to its account now: only a
// fresh phishing-resistant session may, or — for an account that has no credential
// at all — a fresh session of any kind, whose enrollment then puts the account on
// hold (DESIGN.md §4 invariant 2).
func mayEnroll(sess *store.Session, creds int, p tenant.Policy, now func() time.Time) (provisional bool, err error) {
	if sess.Restricted && !session.Fresh(sess, now(), RestrictedMaxAge) {
		return false, errRecoveryExpired
	}
	fresh := session.Fresh(sess, now(), p.Sessions.StepUpAge.D())
	if fresh && session.PhishingResistant(sess) {
		return false, nil
	}
	if sess.Restricted || (creds == 0 && fresh) {
		return true, nil
	}
	return false, errStepUp
}

// BeginRegistration starts creating a passkey.
func (s *Service) BeginRegistration(ctx context.Context, tenantID string, req RegisterRequest, c Client) (Options, error) {
	name, err := cleanName(req.Name, c.UserAgent)
	if err != nil {
		return nil, err
	}
	var out Options
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		rp, p, err := s.loadRP(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if err := s.throttle(ctx, tx, tenantID, p, c); err != nil {
			return err
		}
		cer := &ceremony{Name: name}
		u := &waUser{}
		switch {
		case req.Session != nil:
			acct, err := tx.GetUser(ctx, tenantID, req.Session.UserID)
			if err != nil {
				return err
			}
			if acct.Status != store.UserActive {
				return errAccountUnusable
			}
			if provisionalOnHold(req.Session, acct, s.Now()) {
				return holdError(acct.HoldUntil)
			}
			creds, err := tx.ListCredentials(ctx, tenantID, acct.ID)
			if err != nil {
				return err
			}
			if _, err := mayEnroll(req.Session, len(creds), p, s.Now); err != nil {
				return err
			}
			label := acct.DisplayName
			if e := primaryEmail(ctx, tx, tenantID, acct.ID); e != "" {
				label = e
			}
			u = &waUser{id: acct.ID, name: label, display: displayOr(acct.DisplayName, label), creds: toWebAuthn(creds)}
			cer.UserID, cer.SessionID = acct.ID, req.Session.ID
		case req.SignUp != nil:
			if req.Binding == "" {
				return malformed("sign-up ceremony without a browser binding")
			}
			if !p.Methods.Passkey.Enroll {
				return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "Creating passkeys is turned off here.", Reason: "policy: passkey enroll off"}
			}
			id := secret.ID()
			label := req.SignUp.DisplayName
			if req.SignUp.Email != "" {
				label = req.SignUp.Email
			}
			u = &waUser{id: id, name: label, display: displayOr(req.SignUp.DisplayName, label)}
			cer.UserID, cer.SignUp, cer.Binding = id, req.SignUp, req.Binding
		default:
			return malformed("registration for nobody")
		}
		var exclusions []protocol.CredentialDescriptor
		for _, wc := range u.creds {
			exclusions = append(exclusions, wc.Descriptor())
		}
		opts, sd, err := rp.BeginRegistration(u, webauthn.WithExclusions(exclusions),
			webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
		if err != nil {
			return err
		}
		cer.Session = *sd
		if err := s.saveCeremony(ctx, tx, kindRegister, tenantID, cer); err != nil {
			return err
		}
		out, err = json.Marshal(opts)
		return err
	})
	return out, err
}

func displayOr(display, fallback string) string {
	if display != "" {
		return display
	}
	return fallback
}

func primaryEmail(ctx context.Context, tx store.Tx, tenantID, userID string) string {
	ids, err := tx.ListIdentifiers(ctx, tenantID, userID)
	if err != nil {
		return ""
	}
	first := ""
	for _, id := range ids {
		if id.Kind != store.IdentEmail {
			continue
		}
		if id.Primary {
			return id.Value
		}
		if first == "" {
			first = id.Value
		}
	}
	return first
}

// FinishRegistration verifies the attestation in body and stores the passkey; for a
// sign-up it also creates the account and signs it in. Failures consume the
// challenge and are audited.
func (s *Service) FinishRegistration(ctx context.Context, tenantID string, body []byte, fr FinishRequest, c Client) (*RegisterResult, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, s.enrollFailed(ctx, tenantID, "", "", malformed(reason(err)), c, fr.SessionID)
	}
	challenge := parsed.Response.CollectedClientData.Challenge
	var (
		cer    *ceremony
		policy tenant.Policy
		wc     *webauthn.Credential
	)
	err = s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if cer, err = s.peekCeremony(ctx, tx, kindRegister, tenantID, challenge); err != nil {
			return err
		}
		// Only the browser that began the ceremony may finish it.
		if (cer.SessionID != "" && cer.SessionID != fr.SessionID) || (cer.Binding != "" && cer.Binding != fr.Binding) {
			return &Error{Status: http.StatusForbidden, Code: CodeForbidden,
				Message: "This passkey request was started in another browser session.", Reason: "ceremony binding mismatch"}
		}
		rp, p, err := s.loadRP(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		policy = p
		u := &waUser{id: cer.UserID}
		if cer.SignUp == nil {
			creds, err := tx.ListCredentials(ctx, tenantID, cer.UserID)
			if err != nil {
				return err
			}
			u.creds = toWebAuthn(creds)
		}
		if wc, err = rp.CreateCredential(u, cer.Session, parsed); err != nil {
			var pe *protocol.Error
			if errors.As(err, &pe) {
				return verificationFailed(reason(err))
			}
			return err
		}
		if !aaguidAllowed(p, hexAAGUID(wc)) {
			return &Error{Status: http.StatusForbidden, Code: CodeForbidden,
				Message: "This kind of authenticator is not allowed here. Use one your organisation approved.", Reason: "AAGUID not on the allow-list: " + hexAAGUID(wc)}
		}
		return nil
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			uid := ""
			if cer != nil {
				uid = cer.UserID
			}
			return nil, s.enrollFailed(ctx, tenantID, challenge, uid, e, c, fr.SessionID)
		}
		return nil, err
	}

	res := &RegisterResult{}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := s.redeemCeremony(ctx, tx, kindRegister, challenge); err != nil {
			return err
		}
		now := store.Micro(s.Now())
		var sess *store.Session
		if cer.SignUp != nil {
			// The pending sign-up is single use: it is consumed with the ceremony.
			if _, err := tx.RedeemArtifact(ctx, kindSignUp, cer.Binding, s.Now()); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return errChallenge
				}
				return err
			}
			in := user.NewUser{ID: cer.UserID, DisplayName: cer.SignUp.DisplayName, Roles: cer.SignUp.Roles}
			if cer.SignUp.Email != "" {
				in.Email, in.EmailVerified = cer.SignUp.Email, !cer.SignUp.EmailUnverified
			}
			u, err := user.Create(ctx, tx, now, tenantID, in, c.meta(cer.UserID, ""))
			if err != nil {
				if errors.Is(err, user.ErrInvalid) {
					return &Error{Status: http.StatusConflict, Code: CodeConflict,
						Message: "An account with this email already exists. Sign in instead.", Reason: "sign-up email taken"}
				}
				return err
			}
			res.User = u
		} else {
			var err error
			if res.User, err = tx.GetUser(ctx, tenantID, cer.UserID); err != nil {
				return err
			}
			if sess, err = tx.GetSession(ctx, tenantID, fr.SessionID); err != nil || !session.Live(sess, s.Now()) {
				return errStepUp
			}
			if provisionalOnHold(sess, res.User, s.Now()) {
				return holdError(res.User.HoldUntil)
			}
			creds, err := tx.ListCredentials(ctx, tenantID, cer.UserID)
			if err != nil {
				return err
			}
			if res.Provisional, err = mayEnroll(sess, len(creds), policy, s.Now); err != nil {
				return err
			}
		}
		cred := fromWebAuthn(wc, tenantID, res.User.ID, cer.Name, c.IP, now)
		cred.Provisional = res.Provisional
		if err := tx.CreateCredential(ctx, cred); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &Error{Status: http.StatusConflict, Code: CodeConflict,
					Message: "This passkey is already registered.", Reason: "duplicate credential id"}
			}
			return err
		}
		res.Credential = cred
		if res.Provisional {
			res.User.HoldUntil = now.Add(policy.Recovery.Hold.D())
			res.User.UpdatedAt = now
			if err := tx.UpdateUser(ctx, res.User); err != nil {
				return err
			}
		}
		if sess != nil && sess.Restricted && s.OnRestrictedEnroll != nil {
			if err := s.OnRestrictedEnroll(ctx, tx, sess, res.User, cred, c); err != nil {
				return err
			}
		}
		sessionID := fr.SessionID
		if cer.SignUp != nil {
			token, ns, err := s.Sessions.Create(ctx, tx, session.New{
				TenantID: tenantID, UserID: res.User.ID, AMR: passkeyAMR(cred), ACR: session.ACRPhishingResistant,
				IP: c.IP, Network: c.Network, UserAgent: c.UserAgent, CredentialID: cred.ID,
			})
			if err != nil {
				return err
			}
			res.Token, res.Session, sessionID = token, ns, ns.ID
			if err := audit.Record(ctx, tx, now, c.meta(res.User.ID, ns.ID), audit.Entry{
				Type: audit.UserSignedUp, TenantID: tenantID, TargetType: "user", TargetID: res.User.ID,
				Details: map[string]any{"email_verified": cer.SignUp.Email != "" && !cer.SignUp.EmailUnverified, "roles": cer.SignUp.Roles},
			}); err != nil {
				return err
			}
		}
		sev := audit.Info
		if res.Provisional {
			sev = audit.Medium
		}
		if err := audit.Record(ctx, tx, now, c.meta(res.User.ID, sessionID), audit.Entry{
			Type: audit.PasskeyEnrolled, TenantID: tenantID, TargetType: "credential", TargetID: cred.ID, Severity: sev,
			Details: map[string]any{"name": cred.Name, "aaguid": cred.AAGUID, "synced": cred.BackupEligible, "provisional": res.Provisional},
		}); err != nil {
			return err
		}
		_, err := user.NotifyVerifiedEmails(ctx, tx, tenantID, res.User.ID, user.Notice{
			Key: "passkey-enrolled:" + cred.ID, Subject: "A passkey was added to your account",
			What: "A passkey named \"" + cred.Name + "\" was added to your account. It can now be used to sign in.",
			At:   now, IP: c.IP, UserAgent: c.UserAgent,
		})
		return err
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, s.enrollFailed(ctx, tenantID, challenge, cer.UserID, e, c, fr.SessionID)
		}
		return nil, err
	}
	return res, nil
}

func hexAAGUID(wc *webauthn.Credential) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 32)
	for _, x := range wc.Authenticator.AAGUID {
		b = append(b, digits[x>>4], digits[x&15])
	}
	return string(b)
}

func (s *Service) enrollFailed(ctx context.Context, tenantID, challenge, userID string, e *Error, c Client, sessionID string) error {
	return s.failed(ctx, kindRegister, audit.PasskeyEnrollFailed, tenantID, challenge, userID, "", e, c, sessionID)
}
