package passkey

import (
	"context"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// Required reports whether the session may not continue anywhere until its account
// has a passkey: it was not obtained with one, the account has none, and the "Sign
// in faster" prompt was already skipped as often as the tenant allows. Every place
// that lets a signed-in person continue (pages, OAuth) must honour it.
func Required(ctx context.Context, s store.Store, sess *store.Session) (bool, error) {
	if session.UsedPasskey(sess) {
		return false, nil
	}
	var required bool
	err := s.View(ctx, func(tx store.Tx) error {
		p, err := tenant.CurrentPolicy(ctx, tx, sess.TenantID)
		if err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, sess.TenantID, sess.UserID)
		if err != nil {
			return err
		}
		if u.NudgeSkips < p.Sessions.NudgeSkips {
			return nil
		}
		creds, err := tx.ListCredentials(ctx, sess.TenantID, sess.UserID)
		if err != nil {
			return err
		}
		for _, c := range creds {
			if c.Kind == store.CredPasskey {
				return nil
			}
		}
		required = true
		return nil
	})
	return required, err
}
