package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testHousekeeping checks that PurgeEnded deletes exactly what ended before the
// cutoff, in bounded batches, and leaves everything live or recent in place.
func testHousekeeping(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateUser(t, s, "acme", "ann")
	cutoff := t0.Add(time.Hour)
	before, after := cutoff.Add(-time.Minute), cutoff.Add(time.Minute)

	mustTx(t, s, func(tx store.Tx) error {
		for i, exp := range []time.Time{before, before, before, after} {
			if err := tx.PutArtifact(ctx, newArtifact("a"+string(rune('0'+i)), "email_code", exp)); err != nil {
				return err
			}
		}
		if _, err := tx.Hit(ctx, "old", t0, before); err != nil {
			return err
		}
		if _, err := tx.Hit(ctx, "live", t0, after); err != nil {
			return err
		}
		for _, m := range []*store.OutboxMessage{newMessage("delivered-old", "", t0), newMessage("delivered-new", "", t0),
			newMessage("pending", "", t0), newMessage("dead", "", t0)} {
			if err := tx.Enqueue(ctx, m); err != nil {
				return err
			}
		}
		for _, se := range []*store.Session{newSession("acme", "ann", "s-live"), newSession("acme", "ann", "s-idle"),
			newSession("acme", "ann", "s-revoked"), newSession("acme", "ann", "s-revoked-recently")} {
			se.IdleExpiresAt, se.ExpiresAt = after, after.Add(time.Hour)
			if se.ID == "s-idle" {
				se.IdleExpiresAt = before
			}
			if err := tx.CreateSession(ctx, se); err != nil {
				return err
			}
		}
		if err := tx.RevokeSession(ctx, "acme", "s-revoked", before, "test"); err != nil {
			return err
		}
		if err := tx.RevokeSession(ctx, "acme", "s-revoked-recently", after, "test"); err != nil {
			return err
		}
		ended, live := newGrant("acme", "g-ended", "ann", "app", ""), newGrant("acme", "g-live", "ann", "app", "")
		ended.ExpiresAt, live.ExpiresAt = before, after
		for _, g := range []*store.Grant{ended, live} {
			if err := tx.CreateGrant(ctx, g); err != nil {
				return err
			}
			rt := &store.RefreshToken{Hash: "rt-" + g.ID, TenantID: "acme", GrantID: g.ID, Generation: 1, CreatedAt: t0, ExpiresAt: g.ExpiresAt}
			if err := tx.PutRefreshToken(ctx, rt); err != nil {
				return err
			}
		}
		return nil
	})
	// Deliver two messages (one before the cutoff, one after) and kill one.
	mustTx(t, s, func(tx store.Tx) error {
		if _, err := tx.LeaseOutbox(ctx, "w", 10, t0, t0.Add(time.Minute)); err != nil {
			return err
		}
		if err := tx.CompleteOutbox(ctx, "delivered-old", "w", before); err != nil {
			return err
		}
		if err := tx.CompleteOutbox(ctx, "delivered-new", "w", after); err != nil {
			return err
		}
		return tx.RetryOutbox(ctx, "dead", "w", t0, "gave up", true)
	})

	purge := func(what store.Purgeable, limit int) int {
		t.Helper()
		var n int
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.PurgeEnded(ctx, what, cutoff, limit)
			return err
		})
		return n
	}

	t.Run("artifacts in bounded batches", func(t *testing.T) {
		if n := purge(store.PurgeArtifacts, 2); n != 2 {
			t.Fatalf("first batch deleted %d, want 2", n)
		}
		if n := purge(store.PurgeArtifacts, 2); n != 1 {
			t.Fatalf("second batch deleted %d, want 1", n)
		}
		if n := purge(store.PurgeArtifacts, 2); n != 0 {
			t.Fatalf("third batch deleted %d, want 0", n)
		}
		if _, err := peek(t, s, "email_code", "a3"); err != nil {
			t.Errorf("the unexpired artifact is gone: %v", err)
		}
	})

	t.Run("counters", func(t *testing.T) {
		if n := purge(store.PurgeCounters, 100); n != 1 {
			t.Fatalf("deleted %d counters, want 1", n)
		}
		mustView(t, s, func(tx store.Tx) error {
			if v, err := tx.CounterValue(ctx, "live", t0); err != nil || v != 1 {
				t.Errorf("live counter = %d, %v; want 1", v, err)
			}
			return nil
		})
	})

	t.Run("outbox keeps pending and recent messages", func(t *testing.T) {
		if n := purge(store.PurgeOutbox, 100); n != 2 {
			t.Fatalf("deleted %d messages, want 2 (delivered before the cutoff, dead)", n)
		}
		for id, want := range map[string]bool{"delivered-old": false, "dead": false, "delivered-new": true, "pending": true} {
			var err error
			mustView(t, s, func(tx store.Tx) error { _, err = tx.GetOutbox(ctx, id); return nil })
			if got := err == nil; got != want {
				t.Errorf("message %s present = %v, want %v (err %v)", id, got, want, err)
			}
		}
	})

	t.Run("sessions that ended before the cutoff", func(t *testing.T) {
		if n := purge(store.PurgeSessions, 100); n != 2 {
			t.Fatalf("deleted %d sessions, want 2 (idle-expired, revoked)", n)
		}
		for id, want := range map[string]bool{"s-live": true, "s-revoked-recently": true, "s-idle": false, "s-revoked": false} {
			var err error
			mustView(t, s, func(tx store.Tx) error { _, err = tx.GetSession(ctx, "acme", id); return nil })
			if got := err == nil; got != want {
				t.Errorf("session %s present = %v, want %v (err %v)", id, got, want, err)
			}
		}
	})

	t.Run("grants with their refresh tokens", func(t *testing.T) {
		if n := purge(store.PurgeGrants, 100); n != 1 {
			t.Fatalf("deleted %d grants, want 1", n)
		}
		mustView(t, s, func(tx store.Tx) error {
			if _, err := tx.GetGrant(ctx, "acme", "g-ended"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ended grant: %v, want ErrNotFound", err)
			}
			if _, err := tx.GetRefreshToken(ctx, "acme", "rt-g-ended"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ended grant's refresh token: %v, want ErrNotFound", err)
			}
			if _, err := tx.GetRefreshToken(ctx, "acme", "rt-g-live"); err != nil {
				t.Errorf("live grant's refresh token: %v", err)
			}
			return nil
		})
	})

	t.Run("unknown kind", func(t *testing.T) {
		err := txErr(t, s, func(tx store.Tx) error { _, err := tx.PurgeEnded(ctx, "audit_events", cutoff, 10); return err })
		if err == nil {
			t.Fatal("purging the audit log was accepted")
		}
	})
}
