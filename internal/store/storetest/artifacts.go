package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func newArtifact(hash, kind string, expires time.Time) *store.Artifact {
	return &store.Artifact{Hash: hash, Kind: kind, TenantID: "acme", Subject: "ann",
		Data: []byte(`{"attempts":0}`), CreatedAt: t0, ExpiresAt: expires}
}

func mustPut(t *testing.T, s store.Store, a *store.Artifact) {
	t.Helper()
	mustTx(t, s, func(tx store.Tx) error { return tx.PutArtifact(t.Context(), a) })
}

// redeem redeems in its own transaction, as a request handler would.
func redeem(t *testing.T, s store.Store, kind, hash string, now time.Time) (*store.Artifact, error) {
	t.Helper()
	var got *store.Artifact
	err := s.InTx(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.RedeemArtifact(t.Context(), kind, hash, now)
		return err
	})
	return got, err
}

func peek(t *testing.T, s store.Store, kind, hash string) (*store.Artifact, error) {
	t.Helper()
	var got *store.Artifact
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.PeekArtifact(t.Context(), kind, hash)
		return err
	})
	return got, err
}

func testArtifacts(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	expires := t0.Add(5 * time.Minute)
	now := t0.Add(time.Minute)

	t.Run("redeem once", func(t *testing.T) {
		a := newArtifact("h-once", "email_code", expires)
		mustPut(t, s, a)
		got, err := peek(t, s, "email_code", "h-once")
		if err != nil {
			t.Fatalf("PeekArtifact: %v", err)
		}
		want := *a
		want.CreatedAt, want.ExpiresAt = store.Micro(a.CreatedAt), store.Micro(a.ExpiresAt)
		wantEqual(t, "PeekArtifact", *got, want)

		got, err = redeem(t, s, "email_code", "h-once", now)
		if err != nil {
			t.Fatalf("first RedeemArtifact: %v", err)
		}
		want.RedeemedAt = store.Micro(now)
		wantEqual(t, "RedeemArtifact", *got, want)

		_, err = redeem(t, s, "email_code", "h-once", now.Add(time.Second))
		wantErr(t, "second RedeemArtifact", err, store.ErrNotFound)

		got, err = peek(t, s, "email_code", "h-once")
		if err != nil {
			t.Fatalf("PeekArtifact after redeem: %v", err)
		}
		if !got.RedeemedAt.Equal(store.Micro(now)) {
			t.Errorf("PeekArtifact after redeem: RedeemedAt = %v, want %v", got.RedeemedAt, store.Micro(now))
		}
	})

	t.Run("not redeemable", func(t *testing.T) {
		mustPut(t, s, newArtifact("h-expired", "email_code", now))
		mustPut(t, s, newArtifact("h-device", "device_code", expires))
		cases := []struct {
			name, kind, hash string
			at               time.Time
		}{
			{"expired", "email_code", "h-expired", now.Add(time.Second)},
			{"at the expiry instant", "email_code", "h-expired", now},
			{"wrong kind", "email_code", "h-device", now},
			{"unknown hash", "email_code", "h-unknown", now},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := redeem(t, s, c.kind, c.hash, c.at)
				wantErr(t, "RedeemArtifact", err, store.ErrNotFound)
			})
		}
		// The failed attempts must not have used the artifacts up.
		if _, err := redeem(t, s, "email_code", "h-expired", now.Add(-time.Microsecond)); err != nil {
			t.Errorf("an artifact still valid a microsecond before expiry: %v", err)
		}
		if _, err := redeem(t, s, "device_code", "h-device", now); err != nil {
			t.Errorf("a wrong-kind attempt consumed the artifact: %v", err)
		}
	})

	t.Run("peek", func(t *testing.T) {
		_, err := peek(t, s, "email_code", "h-unknown")
		wantErr(t, "PeekArtifact(unknown)", err, store.ErrNotFound)
		_, err = peek(t, s, "email_code", "h-device")
		wantErr(t, "PeekArtifact(wrong kind)", err, store.ErrNotFound)
	})

	t.Run("duplicate hash conflicts", func(t *testing.T) {
		mustPut(t, s, newArtifact("h-dup", "email_code", expires))
		for _, kind := range []string{"email_code", "device_code"} {
			err := txErr(t, s, func(tx store.Tx) error { return tx.PutArtifact(ctx, newArtifact("h-dup", kind, expires)) })
			wantErr(t, "PutArtifact(duplicate, "+kind+")", err, store.ErrConflict)
		}
	})

	t.Run("a rolled back redemption does not count", func(t *testing.T) {
		mustPut(t, s, newArtifact("h-rollback", "email_code", expires))
		errAbort := errors.New("abort")
		err := s.InTx(ctx, func(tx store.Tx) error {
			if _, err := tx.RedeemArtifact(ctx, "email_code", "h-rollback", now); err != nil {
				return err
			}
			return errAbort
		})
		wantErr(t, "InTx", err, errAbort)
		if _, err := redeem(t, s, "email_code", "h-rollback", now); err != nil {
			t.Errorf("redeem after a rolled back redemption: %v", err)
		}
	})

	t.Run("delete expired", func(t *testing.T) {
		s := h.Open(t) // empty, so the count is exact
		cutoff := t0.Add(time.Hour)
		for i, exp := range []time.Time{cutoff.Add(-time.Minute), cutoff.Add(-time.Microsecond), cutoff, cutoff.Add(time.Minute)} {
			mustPut(t, s, newArtifact(fmt.Sprintf("h-gc%d", i), "recovery_code", exp))
		}
		var n int
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteExpiredArtifacts(ctx, cutoff)
			return err
		})
		if n != 2 {
			t.Errorf("DeleteExpiredArtifacts deleted %d, want 2", n)
		}
		for i, want := range []error{store.ErrNotFound, store.ErrNotFound, nil, nil} {
			_, err := peek(t, s, "recovery_code", fmt.Sprintf("h-gc%d", i))
			wantErr(t, fmt.Sprintf("PeekArtifact(h-gc%d)", i), err, want)
		}
	})
}

// testRedemptionRace is invariant 3 under load: two nodes redeeming the same artifact at
// the same moment produce exactly one success.
func testRedemptionRace(t *testing.T, h Harness) {
	a, b := h.OpenPair(t)
	ctx := t.Context()
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	expires, now := t0.Add(time.Hour), t0.Add(time.Minute)
	nodes := [2]store.Store{a, b}
	for round := range rounds {
		hash := seqName("race-", round)
		// Alternate the node that writes, so neither depends on its own cache.
		mustTx(t, nodes[round%2], func(tx store.Tx) error {
			return tx.PutArtifact(ctx, newArtifact(hash, "auth_code", expires))
		})
		start := make(chan struct{})
		type result struct {
			a   *store.Artifact
			err error
		}
		results := make(chan result, 2)
		for _, node := range nodes {
			go func() {
				<-start
				var got *store.Artifact
				err := node.InTx(ctx, func(tx store.Tx) error {
					var err error
					got, err = tx.RedeemArtifact(ctx, "auth_code", hash, now)
					return err
				})
				results <- result{got, err}
			}()
		}
		close(start)
		wins, losses := 0, 0
		for range nodes {
			r := <-results
			switch {
			case r.err == nil:
				wins++
				if r.a == nil || r.a.Hash != hash || !r.a.RedeemedAt.Equal(store.Micro(now)) {
					t.Errorf("round %d: winner got %+v", round, r.a)
				}
			case errors.Is(r.err, store.ErrNotFound):
				losses++
			default:
				t.Errorf("round %d: unexpected error %v", round, r.err)
			}
		}
		if wins != 1 || losses != 1 {
			t.Fatalf("round %d: %d successes and %d ErrNotFound, want exactly one of each", round, wins, losses)
		}
	}
}
