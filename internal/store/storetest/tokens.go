package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testTokens checks token families, refresh-token rotation and consents.
func testTokens(t *testing.T, h Harness) {
	t.Run("Grants", func(t *testing.T) { testGrants(t, h) })
	t.Run("RefreshRotationRace", func(t *testing.T) { testRefreshRotationRace(t, h) })
	t.Run("Consents", func(t *testing.T) { testConsents(t, h) })
}

func newGrant(tenant, id, user, client, code string) *store.Grant {
	return &store.Grant{ID: id, TenantID: tenant, ClientID: client, UserID: user, SessionID: "s-" + id,
		Scope: "openid profile", AuthTime: t0, ACR: "urn:gatehouse:acr:phr", AMR: []string{"hwk", "user"},
		CodeHash: code, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
}

func testGrants(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateTenant(t, s, "globex")
	g := newGrant("acme", "g1", "u1", "app", "code-1")
	mustTx(t, s, func(tx store.Tx) error {
		for _, x := range []*store.Grant{g, newGrant("acme", "g2", "u1", "app", "code-2"),
			newGrant("acme", "g3", "u1", "other", ""), newGrant("globex", "g4", "u1", "app", "code-4")} {
			if err := tx.CreateGrant(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	wantErr(t, "duplicate grant", txErr(t, s, func(tx store.Tx) error { return tx.CreateGrant(ctx, g) }), store.ErrConflict)

	t.Run("round-trips and finds by code within the tenant", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetGrant(ctx, "acme", "g1")
			if err != nil {
				return err
			}
			want := *g
			want.AuthTime, want.CreatedAt, want.ExpiresAt = store.Micro(g.AuthTime), store.Micro(g.CreatedAt), store.Micro(g.ExpiresAt)
			wantEqual(t, "grant", *got, want)
			byCode, err := tx.GetGrantByCode(ctx, "acme", "code-2")
			if err != nil {
				return err
			}
			wantEqual(t, "grant by code", byCode.ID, "g2")
			_, err = tx.GetGrantByCode(ctx, "acme", "code-4")
			wantErr(t, "code of another tenant", err, store.ErrNotFound)
			_, err = tx.GetGrantByCode(ctx, "acme", "")
			wantErr(t, "empty code", err, store.ErrNotFound)
			_, err = tx.GetGrant(ctx, "globex", "g1")
			wantErr(t, "grant of another tenant", err, store.ErrNotFound)
			return nil
		})
	})

	t.Run("revocation happens once and keeps the first reason", func(t *testing.T) {
		at := t0.Add(time.Minute)
		mustTx(t, s, func(tx store.Tx) error { return tx.RevokeGrant(ctx, "acme", "g1", at, "reuse") })
		wantErr(t, "second revocation", txErr(t, s, func(tx store.Tx) error {
			return tx.RevokeGrant(ctx, "acme", "g1", at.Add(time.Minute), "again")
		}), store.ErrNotFound)
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetGrant(ctx, "acme", "g1")
			if err != nil {
				return err
			}
			wantEqual(t, "revoked at", got.RevokedAt, store.Micro(at))
			wantEqual(t, "reason", got.RevokeReason, "reuse")
			return nil
		})
		var n int
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.RevokeUserClientGrants(ctx, "acme", "u1", "app", at, "consent withdrawn")
			return err
		})
		wantEqual(t, "grants revoked for user and client (g2 only: g1 was already)", n, 1)
		mustView(t, s, func(tx store.Tx) error {
			for id, revoked := range map[string]bool{"g2": true, "g3": false} {
				got, err := tx.GetGrant(ctx, "acme", id)
				if err != nil {
					return err
				}
				wantEqual(t, id+" revoked", !got.RevokedAt.IsZero(), revoked)
			}
			got, err := tx.GetGrant(ctx, "globex", "g4")
			if err != nil {
				return err
			}
			wantEqual(t, "other tenant's grant untouched", got.RevokedAt.IsZero(), true)
			return nil
		})
	})

	t.Run("a user's grants are revoked except one session's", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			// g8 was authorized without a browser session (a device grant).
			g8 := newGrant("acme", "g8", "u9", "tv", "")
			g8.SessionID = ""
			for _, x := range []*store.Grant{newGrant("acme", "g5", "u9", "app", ""), newGrant("acme", "g6", "u9", "other", ""),
				newGrant("acme", "g7", "u8", "app", ""), g8} {
				if err := tx.CreateGrant(ctx, x); err != nil {
					return err
				}
			}
			return nil
		})
		var n int
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.RevokeUserGrants(ctx, "acme", "u9", "s-g6", t0, "signed out elsewhere")
			return err
		})
		wantEqual(t, "revoked except the kept session's (g5 and the sessionless g8)", n, 2)
		g9 := newGrant("acme", "g9", "u9", "tv", "")
		g9.SessionID = ""
		mustTx(t, s, func(tx store.Tx) error { return tx.CreateGrant(ctx, g9) })
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.RevokeUserGrants(ctx, "acme", "u9", "", t0, "locked")
			return err
		})
		wantEqual(t, "revoked with nothing kept (g6 and the sessionless g9)", n, 2)
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetGrant(ctx, "acme", "g7")
			if err == nil && !got.RevokedAt.IsZero() {
				t.Error("another user's grant was revoked")
			}
			return err
		})
	})

	t.Run("refresh tokens are used once", func(t *testing.T) {
		rt := &store.RefreshToken{Hash: "rt-1", TenantID: "acme", GrantID: "g3", Generation: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		mustTx(t, s, func(tx store.Tx) error { return tx.PutRefreshToken(ctx, rt) })
		wantErr(t, "duplicate refresh token", txErr(t, s, func(tx store.Tx) error { return tx.PutRefreshToken(ctx, rt) }), store.ErrConflict)
		used := t0.Add(time.Second)
		mustTx(t, s, func(tx store.Tx) error { return tx.UseRefreshToken(ctx, "acme", "rt-1", used) })
		wantErr(t, "second use", txErr(t, s, func(tx store.Tx) error { return tx.UseRefreshToken(ctx, "acme", "rt-1", used) }), store.ErrNotFound)
		wantErr(t, "other tenant", txErr(t, s, func(tx store.Tx) error { return tx.UseRefreshToken(ctx, "globex", "rt-2", used) }), store.ErrNotFound)
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetRefreshToken(ctx, "acme", "rt-1")
			if err != nil {
				return err
			}
			want := *rt
			want.CreatedAt, want.ExpiresAt, want.UsedAt = store.Micro(rt.CreatedAt), store.Micro(rt.ExpiresAt), store.Micro(used)
			wantEqual(t, "refresh token", *got, want)
			_, err = tx.GetRefreshToken(ctx, "globex", "rt-1")
			wantErr(t, "refresh token of another tenant", err, store.ErrNotFound)
			return nil
		})
	})
}

// testRefreshRotationRace has two nodes rotate the same refresh token at once:
// exactly one may win, or a stolen token could fork the family.
func testRefreshRotationRace(t *testing.T, h Harness) {
	a, b := h.OpenPair(t)
	ctx := t.Context()
	mustCreateTenant(t, a, "acme")
	mustTx(t, a, func(tx store.Tx) error { return tx.CreateGrant(ctx, newGrant("acme", "g", "u", "app", "")) })
	rounds := 200
	if testing.Short() {
		rounds = 50
	}
	nodes := [2]store.Store{a, b}
	for round := range rounds {
		hash := seqName("rt-", round)
		mustTx(t, nodes[round%2], func(tx store.Tx) error {
			return tx.PutRefreshToken(ctx, &store.RefreshToken{Hash: hash, TenantID: "acme", GrantID: "g",
				Generation: round + 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		})
		start := make(chan struct{})
		errs := make(chan error, 2)
		for _, node := range nodes {
			go func() {
				<-start
				errs <- node.InTx(ctx, func(tx store.Tx) error { return tx.UseRefreshToken(ctx, "acme", hash, t0) })
			}()
		}
		close(start)
		wins := 0
		for range nodes {
			err := <-errs
			switch {
			case err == nil:
				wins++
			default:
				wantErr(t, "losing rotation", err, store.ErrNotFound)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d rotations won, want exactly 1", round, wins)
		}
	}
}

func testConsents(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	c := &store.Consent{TenantID: "acme", UserID: "u1", ClientID: "b-app", Scope: "openid", CreatedAt: t0, UpdatedAt: t0}
	mustTx(t, s, func(tx store.Tx) error {
		if err := tx.PutConsent(ctx, c); err != nil {
			return err
		}
		return tx.PutConsent(ctx, &store.Consent{TenantID: "acme", UserID: "u1", ClientID: "a-app", Scope: "openid", CreatedAt: t0, UpdatedAt: t0})
	})
	later := t0.Add(time.Hour)
	mustTx(t, s, func(tx store.Tx) error {
		return tx.PutConsent(ctx, &store.Consent{TenantID: "acme", UserID: "u1", ClientID: "b-app", Scope: "openid email", CreatedAt: later, UpdatedAt: later})
	})
	mustView(t, s, func(tx store.Tx) error {
		got, err := tx.GetConsent(ctx, "acme", "u1", "b-app")
		if err != nil {
			return err
		}
		wantEqual(t, "replaced consent", *got, store.Consent{TenantID: "acme", UserID: "u1", ClientID: "b-app",
			Scope: "openid email", CreatedAt: store.Micro(t0), UpdatedAt: store.Micro(later)})
		list, err := tx.ListConsents(ctx, "acme", "u1")
		if err != nil {
			return err
		}
		wantEqual(t, "consents by client", ids(list, func(c store.Consent) string { return c.ClientID }), []string{"a-app", "b-app"})
		return nil
	})
	mustTx(t, s, func(tx store.Tx) error { return tx.DeleteConsent(ctx, "acme", "u1", "a-app") })
	wantErr(t, "delete again", txErr(t, s, func(tx store.Tx) error { return tx.DeleteConsent(ctx, "acme", "u1", "a-app") }), store.ErrNotFound)
	mustView(t, s, func(tx store.Tx) error {
		_, err := tx.GetConsent(ctx, "acme", "u1", "a-app")
		wantErr(t, "deleted consent", err, store.ErrNotFound)
		return nil
	})
}
