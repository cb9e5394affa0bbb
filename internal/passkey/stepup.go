package passkey

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// BeginStepUp asks the signed-in user to confirm with one of their own passkeys. The
// user is known, so the options list that user's passkeys.
func (s *Service) BeginStepUp(ctx context.Context, tenantID string, sess *store.Session, c Client) (Options, error) {
	var out Options
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		rp, p, err := s.loadRP(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if err := s.throttle(ctx, tx, tenantID, p, c); err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, tenantID, sess.UserID)
		if err != nil {
			return err
		}
		creds, err := tx.ListCredentials(ctx, tenantID, u.ID)
		if err != nil {
			return err
		}
		wcs := toWebAuthn(creds)
		if len(wcs) == 0 {
			return &Error{Status: 409, Code: CodeUnknownCredential,
				Message: "Your account has no passkey yet. Create one first.", Reason: "step-up without passkeys"}
		}
		opts, sd, err := rp.BeginLogin(&waUser{id: u.ID, name: u.DisplayName, display: u.DisplayName, creds: wcs})
		if err != nil {
			return err
		}
		if err := s.saveCeremony(ctx, tx, kindStepUp, tenantID, &ceremony{Session: *sd, UserID: u.ID, SessionID: sess.ID}); err != nil {
			return err
		}
		out, err = json.Marshal(opts)
		return err
	})
	return out, err
}

// FinishStepUp verifies the assertion and refreshes the session's assurance: a new
// auth time and passkey amr/acr. Only a passkey can do this, so a session obtained
// any other way becomes phishing-resistant only by presenting one.
func (s *Service) FinishStepUp(ctx context.Context, tenantID string, body []byte, sess *store.Session, c Client) (*store.Session, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, s.stepUpFailed(ctx, tenantID, "", sess, malformed(reason(err)), c)
	}
	challenge := parsed.Response.CollectedClientData.Challenge
	credID := b64.EncodeToString(parsed.RawID)
	var (
		cred   *store.Credential
		waCred *webauthn.Credential
	)
	err = s.Store.View(ctx, func(tx store.Tx) error {
		cer, err := s.peekCeremony(ctx, tx, kindStepUp, tenantID, challenge)
		if err != nil {
			return err
		}
		if cer.SessionID != sess.ID {
			return &Error{Status: 403, Code: CodeForbidden, Message: "This confirmation was started in another session.", Reason: "step-up binding mismatch"}
		}
		rp, _, err := s.loadRP(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if cred, err = tx.GetCredentialByCredID(ctx, tenantID, credID); err != nil || cred.UserID != sess.UserID {
			if err == nil || errors.Is(err, store.ErrNotFound) {
				return errUnknownCredential
			}
			return err
		}
		creds, err := tx.ListCredentials(ctx, tenantID, sess.UserID)
		if err != nil {
			return err
		}
		u := &waUser{id: sess.UserID, creds: toWebAuthn(creds)}
		if waCred, err = rp.ValidateLogin(u, cer.Session, parsed); err != nil {
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
			return nil, s.stepUpFailed(ctx, tenantID, challenge, sess, e, c)
		}
		return nil, err
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := s.redeemCeremony(ctx, tx, kindStepUp, challenge); err != nil {
			return err
		}
		now := store.Micro(s.Now())
		if err := recordUse(ctx, tx, cred, waCred, c, now); err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, tenantID, sess.UserID)
		if err != nil {
			return err
		}
		acr, flow := assurance(cred, u, now)
		// A provisional credential confirms the person only as what it is; a
		// credential from before the hold lifts a provisional session.
		if flow == session.FlowProvisional || sess.Flow == session.FlowProvisional {
			sess.Flow = flow
		}
		sess.AuthTime, sess.AMR, sess.ACR, sess.CredentialID = now, passkeyAMR(cred), acr, cred.ID
		if err := tx.UpdateSessionAuth(ctx, sess); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errStepUp
			}
			return err
		}
		return audit.Record(ctx, tx, now, c.meta(sess.UserID, sess.ID), audit.Entry{
			Type: audit.StepUpSucceeded, TenantID: tenantID, TargetType: "session", TargetID: sess.ID,
			Details: map[string]any{"credential": cred.ID},
		})
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, s.stepUpFailed(ctx, tenantID, challenge, sess, e, c)
		}
		return nil, err
	}
	return sess, nil
}

func (s *Service) stepUpFailed(ctx context.Context, tenantID, challenge string, sess *store.Session, e *Error, c Client) error {
	return s.failed(ctx, kindStepUp, audit.StepUpFailed, tenantID, challenge, sess.UserID, "", e, c, sess.ID)
}
