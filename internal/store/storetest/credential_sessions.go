package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testCredentialSessions checks that removing a credential can find and end the
// sessions it authenticated, with the grants authorized from them, and nothing else.
func testCredentialSessions(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateUser(t, s, "acme", "ann")
	mustCreateUser(t, s, "acme", "bob")
	at := t0.Add(time.Minute)

	mk := func(user, id, cred string) *store.Session {
		se := newSession("acme", user, id)
		se.CredentialID = cred
		return se
	}
	mustTx(t, s, func(tx store.Tx) error {
		for _, se := range []*store.Session{mk("ann", "phone-1", "c-phone"), mk("ann", "phone-2", "c-phone"),
			mk("ann", "laptop", "c-laptop"), mk("ann", "here", "c-phone"), mk("bob", "bob-1", "c-phone")} {
			if err := tx.CreateSession(ctx, se); err != nil {
				return err
			}
		}
		for _, g := range []*store.Grant{newGrant("acme", "g-phone", "ann", "app", ""), newGrant("acme", "g-laptop", "ann", "app", "")} {
			g.SessionID = map[string]string{"g-phone": "phone-1", "g-laptop": "laptop"}[g.ID]
			if err := tx.CreateGrant(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	if got := getSession(t, s, "acme", "phone-1"); got.CredentialID != "c-phone" {
		t.Fatalf("CredentialID did not round-trip: %q", got.CredentialID)
	}

	var sessions, grants int
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		sessions, grants, err = tx.RevokeCredentialSessions(ctx, "acme", "ann", "c-phone", "here", at, "passkey removed")
		return err
	})
	if sessions != 2 || grants != 1 {
		t.Fatalf("revoked %d sessions and %d grants, want 2 and 1", sessions, grants)
	}
	for id, revoked := range map[string]bool{"phone-1": true, "phone-2": true, "laptop": false, "here": false, "bob-1": false} {
		got := getSession(t, s, "acme", id)
		if !got.RevokedAt.IsZero() != revoked {
			t.Errorf("session %s revoked = %v, want %v", id, !got.RevokedAt.IsZero(), revoked)
		}
		if revoked && got.RevokeReason != "passkey removed" {
			t.Errorf("session %s revoke reason %q", id, got.RevokeReason)
		}
	}
	mustView(t, s, func(tx store.Tx) error {
		for id, revoked := range map[string]bool{"g-phone": true, "g-laptop": false} {
			g, err := tx.GetGrant(ctx, "acme", id)
			if err != nil {
				return err
			}
			if !g.RevokedAt.IsZero() != revoked {
				t.Errorf("grant %s revoked = %v, want %v", id, !g.RevokedAt.IsZero(), revoked)
			}
		}
		return nil
	})

	t.Run("step-up moves the session to the confirming credential", func(t *testing.T) {
		se := getSession(t, s, "acme", "laptop")
		se.CredentialID = "c-key"
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateSessionAuth(ctx, se) })
		if got := getSession(t, s, "acme", "laptop"); got.CredentialID != "c-key" {
			t.Errorf("after UpdateSessionAuth CredentialID = %q, want c-key", got.CredentialID)
		}
	})

	t.Run("an empty credential id matches nothing", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			n, g, err := tx.RevokeCredentialSessions(ctx, "acme", "bob", "", "", at, "x")
			if n != 0 || g != 0 {
				t.Errorf("empty credential id revoked %d sessions, %d grants", n, g)
			}
			return err
		})
	})
}
