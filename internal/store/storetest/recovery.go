package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testRecovery(t *testing.T, h Harness) {
	t.Run("recovery codes", func(t *testing.T) { testRecoveryCodes(t, h) })
	t.Run("temporary access passes", func(t *testing.T) { testTAPs(t, h) })
}

func countCodes(t *testing.T, s store.Store, tenant, user string) int {
	t.Helper()
	var n int
	mustView(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.CountRecoveryCodes(t.Context(), tenant, user)
		return err
	})
	return n
}

func useCode(t *testing.T, s store.Store, tenant, user, hash string) error {
	t.Helper()
	return txErr(t, s, func(tx store.Tx) error { return tx.UseRecoveryCode(t.Context(), tenant, user, hash, t0) })
}

func testRecoveryCodes(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateUser(t, s, "acme", "ann")
	mustCreateUser(t, s, "acme", "bob")
	mustTx(t, s, func(tx store.Tx) error {
		if err := tx.ReplaceRecoveryCodes(ctx, "acme", "ann", []string{"a1", "a2", "a3"}, t0); err != nil {
			return err
		}
		return tx.ReplaceRecoveryCodes(ctx, "acme", "bob", []string{"b1"}, t0)
	})
	wantEqual(t, "ann's codes", countCodes(t, s, "acme", "ann"), 3)

	wantErr(t, "use a code", useCode(t, s, "acme", "ann", "a1"), nil)
	wantErr(t, "use it again", useCode(t, s, "acme", "ann", "a1"), store.ErrNotFound)
	wantErr(t, "use bob's code as ann", useCode(t, s, "acme", "ann", "b1"), store.ErrNotFound)
	wantErr(t, "use an unknown code", useCode(t, s, "acme", "ann", "zz"), store.ErrNotFound)
	wantEqual(t, "ann's codes after one use", countCodes(t, s, "acme", "ann"), 2)

	// A new set replaces the old one entirely, used codes included.
	mustTx(t, s, func(tx store.Tx) error {
		return tx.ReplaceRecoveryCodes(ctx, "acme", "ann", []string{"n1", "n2"}, t0.Add(time.Hour))
	})
	wantEqual(t, "ann's new set", countCodes(t, s, "acme", "ann"), 2)
	wantErr(t, "use an old code after regeneration", useCode(t, s, "acme", "ann", "a2"), store.ErrNotFound)
	wantErr(t, "use a new code", useCode(t, s, "acme", "ann", "n1"), nil)
	wantEqual(t, "bob untouched", countCodes(t, s, "acme", "bob"), 1)

	// A duplicate hash in one set is a conflict, and the transaction changes nothing.
	err := txErr(t, s, func(tx store.Tx) error {
		return tx.ReplaceRecoveryCodes(ctx, "acme", "bob", []string{"d", "d"}, t0)
	})
	wantErr(t, "duplicate hashes", err, store.ErrConflict)
	wantEqual(t, "bob after the failed replacement", countCodes(t, s, "acme", "bob"), 1)
}

func newTAP(id, hash, user string, needsApproval bool) *store.TAP {
	return &store.TAP{ID: id, TenantID: "acme", UserID: user, Hash: hash, IssuedBy: "op1", VerifiedBy: "video call, passport",
		NeedsApproval: needsApproval, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
}

func redeemTAP(t *testing.T, s store.Store, hash string, now time.Time) (*store.TAP, error) {
	t.Helper()
	var got *store.TAP
	err := s.InTx(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.RedeemTAP(t.Context(), "acme", hash, now)
		return err
	})
	return got, err
}

func testTAPs(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateTenant(t, s, "other")
	mustCreateUser(t, s, "acme", "ann")
	mustCreateUser(t, s, "acme", "root", "admin")
	now := t0.Add(time.Minute)

	plain := newTAP("t1", "h1", "ann", false)
	mustTx(t, s, func(tx store.Tx) error { return tx.CreateTAP(ctx, plain) })
	wantErr(t, "same hash again", txErr(t, s, func(tx store.Tx) error { return tx.CreateTAP(ctx, newTAP("t9", "h1", "ann", false)) }), store.ErrConflict)
	mustView(t, s, func(tx store.Tx) error {
		got, err := tx.GetTAP(ctx, "acme", "t1")
		if err != nil {
			return err
		}
		want := *plain
		want.CreatedAt, want.ExpiresAt = store.Micro(plain.CreatedAt), store.Micro(plain.ExpiresAt)
		wantEqual(t, "GetTAP", *got, want)
		byHash, err := tx.GetTAPByHash(ctx, "acme", "h1")
		if err != nil {
			return err
		}
		wantEqual(t, "GetTAPByHash", byHash.ID, "t1")
		_, err = tx.GetTAPByHash(ctx, "other", "h1")
		wantErr(t, "hash in another tenant", err, store.ErrNotFound)
		return nil
	})

	t.Run("redeem once, before expiry, in its tenant", func(t *testing.T) {
		if _, err := redeemTAP(t, s, "h1", t0.Add(2*time.Hour)); err == nil {
			t.Fatal("an expired pass was redeemed")
		}
		got, err := redeemTAP(t, s, "h1", now)
		if err != nil {
			t.Fatalf("RedeemTAP: %v", err)
		}
		wantEqual(t, "redeemed at", got.RedeemedAt, store.Micro(now))
		_, err = redeemTAP(t, s, "h1", now)
		wantErr(t, "second RedeemTAP", err, store.ErrNotFound)
		wantErr(t, "revoke a used pass", txErr(t, s, func(tx store.Tx) error { return tx.RevokeTAP(ctx, "acme", "t1", now) }), store.ErrNotFound)
	})

	t.Run("two-person approval", func(t *testing.T) {
		priv := newTAP("t2", "h2", "root", true)
		mustTx(t, s, func(tx store.Tx) error { return tx.CreateTAP(ctx, priv) })
		_, err := redeemTAP(t, s, "h2", now)
		wantErr(t, "redeem before approval", err, store.ErrNotFound)
		approve := func(who string) error {
			return txErr(t, s, func(tx store.Tx) error { return tx.ApproveTAP(ctx, "acme", "t2", who, now) })
		}
		wantErr(t, "approval by the issuer", approve("op1"), store.ErrNotFound)
		wantErr(t, "approval by a second operator", approve("op2"), nil)
		wantErr(t, "approving twice", approve("op3"), store.ErrNotFound)
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetTAP(ctx, "acme", "t2")
			if err != nil {
				return err
			}
			wantEqual(t, "approver", got.ApprovedBy, "op2")
			wantEqual(t, "approved at", got.ApprovedAt, store.Micro(now))
			return nil
		})
		if _, err := redeemTAP(t, s, "h2", now); err != nil {
			t.Fatalf("redeem after approval: %v", err)
		}
		wantErr(t, "approving a pass that needs none",
			txErr(t, s, func(tx store.Tx) error { return tx.ApproveTAP(ctx, "acme", "t1", "op2", now) }), store.ErrNotFound)
	})

	t.Run("revoke and list", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			if err := tx.CreateTAP(ctx, newTAP("t3", "h3", "ann", false)); err != nil {
				return err
			}
			later := newTAP("t4", "h4", "ann", false)
			later.CreatedAt = t0.Add(time.Second)
			return tx.CreateTAP(ctx, later)
		})
		mustTx(t, s, func(tx store.Tx) error { return tx.RevokeTAP(ctx, "acme", "t3", now) })
		wantErr(t, "revoke twice", txErr(t, s, func(tx store.Tx) error { return tx.RevokeTAP(ctx, "acme", "t3", now) }), store.ErrNotFound)
		_, err := redeemTAP(t, s, "h3", now)
		wantErr(t, "redeem a revoked pass", err, store.ErrNotFound)
		mustView(t, s, func(tx store.Tx) error {
			all, err := tx.ListTAPs(ctx, "acme", store.TAPQuery{UserID: "ann"})
			if err != nil {
				return err
			}
			wantEqual(t, "ann's passes, newest first", ids(all, func(p store.TAP) string { return p.ID }), []string{"t4", "t1", "t3"})
			live, err := tx.ListTAPs(ctx, "acme", store.TAPQuery{Live: true, Now: now})
			if err != nil {
				return err
			}
			wantEqual(t, "live passes", ids(live, func(p store.TAP) string { return p.ID }), []string{"t4"})
			return nil
		})
	})
}

// testRecoveryRace has two nodes redeem the same recovery code, and the same pass, at
// once: exactly one may win, or one code could open two recoveries.
func testRecoveryRace(t *testing.T, h Harness) {
	a, b := h.OpenPair(t)
	ctx := t.Context()
	mustCreateTenant(t, a, "acme")
	mustCreateUser(t, a, "acme", "ann")
	rounds := 100
	if testing.Short() {
		rounds = 25
	}
	nodes := [2]store.Store{a, b}
	race := func(what string, fn func(tx store.Tx) error) {
		t.Helper()
		start := make(chan struct{})
		errs := make(chan error, 2)
		for _, node := range nodes {
			go func() {
				<-start
				errs <- node.InTx(ctx, fn)
			}()
		}
		close(start)
		wins := 0
		for range nodes {
			if err := <-errs; err == nil {
				wins++
			} else {
				wantErr(t, what+": losing redemption", err, store.ErrNotFound)
			}
		}
		if wins != 1 {
			t.Fatalf("%s: %d redemptions won, want exactly 1", what, wins)
		}
	}
	for round := range rounds {
		code := seqName("code-", round)
		mustTx(t, nodes[round%2], func(tx store.Tx) error {
			return tx.ReplaceRecoveryCodes(ctx, "acme", "ann", []string{code}, t0)
		})
		race("recovery code "+code, func(tx store.Tx) error { return tx.UseRecoveryCode(ctx, "acme", "ann", code, t0) })

		hash := seqName("tap-", round)
		mustTx(t, nodes[round%2], func(tx store.Tx) error { return tx.CreateTAP(ctx, newTAP(hash, hash, "ann", false)) })
		race("pass "+hash, func(tx store.Tx) error {
			_, err := tx.RedeemTAP(ctx, "acme", hash, t0.Add(time.Minute))
			return err
		})
	}
}
