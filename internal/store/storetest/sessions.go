package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// newSession returns a live session of user with every field set.
func newSession(tenant, user, id string) *store.Session {
	return &store.Session{
		ID: id, TokenHash: "hash-" + id, TenantID: tenant, UserID: user,
		CreatedAt: t0, LastSeenAt: t0, IdleExpiresAt: t0.Add(30 * time.Minute), ExpiresAt: t0.Add(12 * time.Hour),
		AuthTime: t0, AMR: []string{"otp"}, ACR: "urn:gatehouse:acr:sfa", Flow: "normal",
		IP: "203.0.113.7", Network: "203.0.113.0/24", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
	}
}

// micro returns s with every time truncated as the store keeps it.
func micro(s store.Session) store.Session {
	s.CreatedAt, s.LastSeenAt, s.IdleExpiresAt = store.Micro(s.CreatedAt), store.Micro(s.LastSeenAt), store.Micro(s.IdleExpiresAt)
	s.ExpiresAt, s.AuthTime, s.RevokedAt = store.Micro(s.ExpiresAt), store.Micro(s.AuthTime), store.Micro(s.RevokedAt)
	return s
}

func sessionIDs(ss []store.Session) []string {
	return ids(ss, func(s store.Session) string { return s.ID })
}

func getSession(t *testing.T, s store.Store, tenant, id string) *store.Session {
	t.Helper()
	var got *store.Session
	mustView(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.GetSession(t.Context(), tenant, id)
		return err
	})
	return got
}

func testSessions(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateUser(t, s, "acme", "ann")
	mustCreateUser(t, s, "acme", "bob")

	s1 := newSession("acme", "ann", "s1")
	mustTx(t, s, func(tx store.Tx) error { return tx.CreateSession(ctx, s1) })

	t.Run("get by token hash round-trips every field", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetSessionByTokenHash(ctx, "hash-s1")
			if err != nil {
				return err
			}
			wantEqual(t, "GetSessionByTokenHash", *got, micro(*s1))
			got, err = tx.GetSession(ctx, "acme", "s1")
			if err != nil {
				return err
			}
			wantEqual(t, "GetSession", *got, micro(*s1))
			_, err = tx.GetSessionByTokenHash(ctx, "hash-unknown")
			wantErr(t, "GetSessionByTokenHash(unknown)", err, store.ErrNotFound)
			_, err = tx.GetSession(ctx, "globex", "s1")
			wantErr(t, "GetSession(other tenant)", err, store.ErrNotFound)
			return nil
		})
	})

	t.Run("token hash is unique", func(t *testing.T) {
		dup := newSession("acme", "bob", "s-dup")
		dup.TokenHash = s1.TokenHash
		err := txErr(t, s, func(tx store.Tx) error { return tx.CreateSession(ctx, dup) })
		wantErr(t, "CreateSession(duplicate token hash)", err, store.ErrConflict)
	})

	t.Run("touch moves activity and idle expiry", func(t *testing.T) {
		seen, idle := t0.Add(10*time.Minute+time.Nanosecond), t0.Add(40*time.Minute)
		mustTx(t, s, func(tx store.Tx) error { return tx.TouchSession(ctx, "s1", seen, idle) })
		got := getSession(t, s, "acme", "s1")
		want := micro(*s1)
		want.LastSeenAt, want.IdleExpiresAt = store.Micro(seen), store.Micro(idle)
		wantEqual(t, "session after touch", *got, want)
		*s1 = want
		err := txErr(t, s, func(tx store.Tx) error { return tx.TouchSession(ctx, "missing", seen, idle) })
		wantErr(t, "TouchSession(missing)", err, store.ErrNotFound)
	})

	t.Run("step-up replaces the assurance fields only", func(t *testing.T) {
		up := *s1
		up.AuthTime, up.AMR, up.ACR, up.Flow, up.Restricted = t0.Add(20*time.Minute), []string{"otp", "hwk", "user"}, "urn:gatehouse:acr:phr", "recovery", true
		up.IP, up.UserAgent = "198.51.100.1", "changed" // not assurance fields: must be ignored
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateSessionAuth(ctx, &up) })
		got := getSession(t, s, "acme", "s1")
		want := *s1
		want.AuthTime, want.AMR, want.ACR, want.Flow, want.Restricted = store.Micro(up.AuthTime), up.AMR, up.ACR, up.Flow, true
		wantEqual(t, "session after step-up", *got, want)
		*s1 = want
	})

	t.Run("revoke once", func(t *testing.T) {
		s2 := newSession("acme", "ann", "s2")
		mustTx(t, s, func(tx store.Tx) error { return tx.CreateSession(ctx, s2) })
		at := t0.Add(time.Hour)
		mustTx(t, s, func(tx store.Tx) error { return tx.RevokeSession(ctx, "acme", "s2", at, "signed out") })
		err := txErr(t, s, func(tx store.Tx) error { return tx.RevokeSession(ctx, "acme", "s2", at.Add(time.Second), "again") })
		wantErr(t, "RevokeSession(second time)", err, store.ErrNotFound)
		err = txErr(t, s, func(tx store.Tx) error { return tx.RevokeSession(ctx, "acme", "missing", at, "x") })
		wantErr(t, "RevokeSession(missing)", err, store.ErrNotFound)

		// A revoked session is still found by its token so callers can tell "revoked" from "unknown".
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetSessionByTokenHash(ctx, "hash-s2")
			if err != nil {
				return err
			}
			if !got.RevokedAt.Equal(store.Micro(at)) || got.RevokeReason != "signed out" {
				t.Errorf("revoked session has RevokedAt %v reason %q, want %v %q (the first revocation)", got.RevokedAt, got.RevokeReason, store.Micro(at), "signed out")
			}
			return nil
		})
		// A revoked session cannot be stepped up into a stronger one.
		up := *s2
		up.ACR = "urn:gatehouse:acr:phr"
		err = txErr(t, s, func(tx store.Tx) error { return tx.UpdateSessionAuth(ctx, &up) })
		wantErr(t, "UpdateSessionAuth(revoked)", err, store.ErrNotFound)
	})

	mustCreateUser(t, s, "acme", "cat")
	mustCreateUser(t, s, "acme", "dan")
	testRevokeAndList(t, s)
}

// testRevokeAndList checks the account page's session list and "sign out everywhere else".
func testRevokeAndList(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := t0.Add(time.Hour)
	live := func(id string, seen time.Duration) *store.Session {
		se := newSession("acme", "cat", id)
		se.LastSeenAt, se.IdleExpiresAt, se.ExpiresAt = t0.Add(seen), now.Add(time.Hour), now.Add(10*time.Hour)
		return se
	}
	current, other1, other2 := live("c-current", 3*time.Minute), live("c-other1", 2*time.Minute), live("c-other2", time.Minute)
	revoked := live("c-revoked", 4*time.Minute)
	revoked.RevokedAt, revoked.RevokeReason = t0, "earlier"
	expired := live("c-expired", 5*time.Minute)
	expired.ExpiresAt = now // absolute expiry reached exactly now
	idle := live("c-idle", 6*time.Minute)
	idle.IdleExpiresAt = now.Add(-time.Microsecond)
	dan := newSession("acme", "dan", "d-1")
	dan.IdleExpiresAt, dan.ExpiresAt = now.Add(time.Hour), now.Add(time.Hour)
	mustTx(t, s, func(tx store.Tx) error {
		for _, se := range []*store.Session{current, other1, other2, revoked, expired, idle, dan} {
			if err := tx.CreateSession(ctx, se); err != nil {
				return err
			}
		}
		return nil
	})

	list := func(user string) []string {
		t.Helper()
		var got []store.Session
		mustView(t, s, func(tx store.Tx) error {
			var err error
			got, err = tx.ListUserSessions(ctx, "acme", user, now)
			return err
		})
		return sessionIDs(got)
	}

	t.Run("list excludes revoked and expired, most recent first", func(t *testing.T) {
		wantEqual(t, "ListUserSessions", list("cat"), []string{"c-current", "c-other1", "c-other2"})
	})

	t.Run("revoke all but the current", func(t *testing.T) {
		var n int
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.RevokeUserSessions(ctx, "acme", "cat", "c-current", now, "recovery")
			return err
		})
		// The expired-but-unrevoked sessions are revoked too; the already revoked one is not counted.
		if n != 4 {
			t.Errorf("RevokeUserSessions revoked %d sessions, want 4 (other1, other2, expired, idle)", n)
		}
		wantEqual(t, "sessions left", list("cat"), []string{"c-current"})
		if got := getSession(t, s, "acme", "c-revoked"); got.RevokeReason != "earlier" || !got.RevokedAt.Equal(store.Micro(t0)) {
			t.Errorf("an already revoked session was revoked again: %v %q", got.RevokedAt, got.RevokeReason)
		}
		if got := getSession(t, s, "acme", "c-other1"); got.RevokeReason != "recovery" || !got.RevokedAt.Equal(store.Micro(now)) {
			t.Errorf("revoked session records %v %q, want %v %q", got.RevokedAt, got.RevokeReason, store.Micro(now), "recovery")
		}
		wantEqual(t, "another user's sessions", list("dan"), []string{"d-1"})
	})

	t.Run("revoke all", func(t *testing.T) {
		var n int
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.RevokeUserSessions(ctx, "acme", "cat", "", now, "locked")
			return err
		})
		if n != 1 {
			t.Errorf("RevokeUserSessions(no exception) revoked %d, want 1", n)
		}
		wantEqual(t, "sessions left", list("cat"), []string{})
	})
}
