package passkey

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// List returns the user's passkeys, oldest first.
func (s *Service) List(ctx context.Context, tenantID, userID string) ([]store.Credential, error) {
	var out []store.Credential
	err := s.Store.View(ctx, func(tx store.Tx) error {
		cs, err := tx.ListCredentials(ctx, tenantID, userID)
		for _, c := range cs {
			if c.Kind == store.CredPasskey {
				out = append(out, c)
			}
		}
		return err
	})
	return out, err
}

// Rename changes a passkey's name. Naming is not a security change, so it needs no
// step-up, but it is audited.
func (s *Service) Rename(ctx context.Context, tenantID string, sess *store.Session, credID, name string, c Client) error {
	name, err := cleanName(name, c.UserAgent)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		cred, err := tx.GetCredential(ctx, tenantID, credID)
		if err != nil || cred.UserID != sess.UserID || cred.Kind != store.CredPasskey {
			if err == nil || errors.Is(err, store.ErrNotFound) {
				return errNotFound
			}
			return err
		}
		old := cred.Name
		cred.Name = name
		if err := tx.UpdateCredential(ctx, cred); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.Now(), c.meta(sess.UserID, sess.ID), audit.Entry{
			Type: audit.PasskeyRenamed, TenantID: tenantID, TargetType: "credential", TargetID: cred.ID,
			Details: map[string]string{"from": old, "to": name},
		})
	})
}

// RequireStepUp returns errStepUp unless sess is a fresh phishing-resistant session
// under the tenant's policy.
func RequireStepUp(sess *store.Session, p tenant.Policy, now time.Time) error {
	if !session.PhishingResistant(sess) || !session.Fresh(sess, now, p.Sessions.StepUpAge.D()) {
		return errStepUp
	}
	return nil
}

// signInMethods counts the ways the user could still sign in if passkey skip were
// removed: other passkeys, and a verified email when the tenant allows email-code
// sign-in.
func signInMethods(ctx context.Context, tx store.Tx, p tenant.Policy, tenantID, userID, skip string) (int, error) {
	creds, err := tx.ListCredentials(ctx, tenantID, userID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range creds {
		if c.Kind == store.CredPasskey && c.ID != skip {
			n++
		}
	}
	if p.Flows.EmailCodeSignIn && p.Methods.EmailCode.SignIn {
		ids, err := tx.ListIdentifiers(ctx, tenantID, userID)
		if err != nil {
			return 0, err
		}
		for _, id := range ids {
			if id.Kind == store.IdentEmail && id.Verified {
				n++
				break
			}
		}
	}
	return n, nil
}

// reasonPasskeyRemoved is recorded on sessions and grants ended by a passkey's removal.
const reasonPasskeyRemoved = "the passkey that signed it in was removed"

// Remove deletes one of the user's passkeys. It needs a fresh phishing-resistant
// session, refuses to remove the last way to sign in, audits the removal and tells
// every verified email.
func (s *Service) Remove(ctx context.Context, tenantID string, sess *store.Session, credID string, c Client) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		p, err := tenant.CurrentPolicy(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		u, err := user.Lock(ctx, tx, tenantID, sess.UserID)
		if err != nil {
			return err
		}
		if provisionalOnHold(sess, u, s.Now()) {
			return holdError(u.HoldUntil)
		}
		if err := RequireStepUp(sess, p, s.Now()); err != nil {
			return err
		}
		cred, err := tx.GetCredential(ctx, tenantID, credID)
		if err != nil || cred.UserID != sess.UserID || cred.Kind != store.CredPasskey {
			if err == nil || errors.Is(err, store.ErrNotFound) {
				return errNotFound
			}
			return err
		}
		left, err := signInMethods(ctx, tx, p, tenantID, sess.UserID, cred.ID)
		if err != nil {
			return err
		}
		if left == 0 {
			return errLastMethod
		}
		if err := tx.DeleteCredential(ctx, tenantID, cred.ID); err != nil {
			return err
		}
		now := store.Micro(s.Now())
		// Whoever signed in with the removed passkey (a lost phone, say) is signed
		// out, with the applications they authorized; the session doing the removal
		// stays, whatever passkey it used.
		sessions, grants, err := tx.RevokeCredentialSessions(ctx, tenantID, sess.UserID, cred.ID, sess.ID, now, reasonPasskeyRemoved)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, now, c.meta(sess.UserID, sess.ID), audit.Entry{
			Type: audit.PasskeyRemoved, TenantID: tenantID, TargetType: "credential", TargetID: cred.ID, Severity: audit.Low,
			Details: map[string]any{"name": cred.Name, "remaining_methods": left, "sessions_revoked": sessions, "grants_revoked": grants},
		}); err != nil {
			return err
		}
		what := "The passkey named \"" + cred.Name + "\" was removed from your account and can no longer be used to sign in."
		if sessions > 0 {
			what += " Browsers signed in with it were signed out."
		}
		_, err = user.NotifyVerifiedEmails(ctx, tx, tenantID, sess.UserID, user.Notice{
			Key: "passkey-removed:" + cred.ID, Subject: "A passkey was removed from your account",
			What: what,
			At:   now, IP: c.IP, UserAgent: c.UserAgent,
		})
		return err
	})
}
