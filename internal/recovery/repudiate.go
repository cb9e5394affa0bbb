package recovery

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// CheckRepudiation reports whether a "This wasn't me" token is still usable, without
// using it, so the confirm page can say so before anyone presses the button.
func (s *Service) CheckRepudiation(ctx context.Context, tenantID, token string) error {
	if token == "" || len(token) > 128 {
		return ErrLinkInvalid
	}
	return s.Store.View(ctx, func(tx store.Tx) error {
		a, err := tx.PeekArtifact(ctx, kindRepudiate, secret.Hash(token))
		if isNotFound(err) || (err == nil && (a.TenantID != tenantID || !a.RedeemedAt.IsZero() || !s.Now().Before(a.ExpiresAt))) {
			return ErrLinkInvalid
		}
		return err
	})
}

// Repudiation is what "This wasn't me" did.
type Repudiation struct {
	UserID             string
	CredentialsRemoved int
	SessionsRevoked    int
}

// Repudiate acts on a "This wasn't me" link, once: it removes the provisional
// credentials the recovery added, revokes every session and token of the account
// and every pass still waiting, and locks the account until an operator unlocks it.
func (s *Service) Repudiate(ctx context.Context, tenantID, token string, c Client) (*Repudiation, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrLinkInvalid
	}
	out := &Repudiation{}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		now := store.Micro(s.Now())
		a, err := tx.RedeemArtifact(ctx, kindRepudiate, secret.Hash(token), now)
		if isNotFound(err) || (err == nil && a.TenantID != tenantID) {
			return ErrLinkInvalid
		}
		if err != nil {
			return err
		}
		var d repudiation
		if err := json.Unmarshal(a.Data, &d); err != nil {
			return err
		}
		u, err := user.Lock(ctx, tx, tenantID, a.Subject)
		if err != nil {
			return err
		}
		out.UserID = u.ID
		m := audit.Meta{ActorType: audit.ActorUser, ActorID: u.ID, IP: c.IP, Network: c.Network, UserAgent: c.UserAgent}
		creds, err := tx.ListCredentials(ctx, tenantID, u.ID)
		if err != nil {
			return err
		}
		var removed []string
		for _, cr := range creds {
			if cr.Provisional && !cr.CreatedAt.Before(d.Since) {
				if err := tx.DeleteCredential(ctx, tenantID, cr.ID); err != nil {
					return err
				}
				removed = append(removed, cr.ID)
			}
		}
		out.CredentialsRemoved = len(removed)
		if out.SessionsRevoked, err = session.RevokeAll(ctx, tx, now, tenantID, u.ID, "", reasonRepudiated, m); err != nil {
			return err
		}
		taps, err := tx.ListTAPs(ctx, tenantID, store.TAPQuery{UserID: u.ID, Live: true, Now: now})
		if err != nil {
			return err
		}
		for _, p := range taps {
			if err := tx.RevokeTAP(ctx, tenantID, p.ID, now); err != nil && !isNotFound(err) {
				return err
			}
		}
		if u.Status == store.UserActive {
			if err := tx.SetUserStatus(ctx, tenantID, u.ID, store.UserLocked, now); err != nil {
				return err
			}
		}
		if err := audit.Record(ctx, tx, now, m, audit.Entry{
			Type: audit.RecoveryRepudiated, TenantID: tenantID, TargetType: "user", TargetID: u.ID, Severity: audit.High,
			Details: map[string]any{"recovery_session": d.SessionID, "flow": d.Flow, "credentials_removed": removed,
				"sessions_revoked": out.SessionsRevoked, "passes_revoked": len(taps), "locked": true},
		}); err != nil {
			return err
		}
		_, err = user.NotifyVerifiedEmails(ctx, tx, tenantID, u.ID, user.Notice{
			Key: "recovery-repudiated:" + a.Hash, Subject: "Your account is locked for your safety",
			What: "You reported that a recent recovery of your account was not you. We removed the passkey it added, " +
				"signed out every session and application, and locked the account. Contact your administrator to unlock it.",
			At: now, IP: c.IP, UserAgent: c.UserAgent,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
