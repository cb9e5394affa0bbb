package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func newMessage(id, key string, available time.Time) *store.OutboxMessage {
	return &store.OutboxMessage{ID: id, TenantID: "acme", Kind: "email", IdempotencyKey: key,
		Payload: []byte(`{"to":"ann@example.com","template":"code"}`), CreatedAt: t0, AvailableAt: available}
}

func enqueue(t *testing.T, s store.Store, msgs ...*store.OutboxMessage) {
	t.Helper()
	mustTx(t, s, func(tx store.Tx) error {
		for _, m := range msgs {
			if err := tx.Enqueue(t.Context(), m); err != nil {
				return err
			}
		}
		return nil
	})
}

func lease(t *testing.T, s store.Store, owner string, n int, now time.Time) []store.OutboxMessage {
	t.Helper()
	var got []store.OutboxMessage
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.LeaseOutbox(t.Context(), owner, n, now, now.Add(time.Minute))
		return err
	})
	return got
}

func msgIDs(ms []store.OutboxMessage) []string {
	return ids(ms, func(m store.OutboxMessage) string { return m.ID })
}

func depth(t *testing.T, s store.Store) int {
	t.Helper()
	var n int
	mustView(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.OutboxDepth(t.Context())
		return err
	})
	return n
}

func getMessage(t *testing.T, s store.Store, id string) (*store.OutboxMessage, error) {
	t.Helper()
	var m *store.OutboxMessage
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		m, err = tx.GetOutbox(t.Context(), id)
		return err
	})
	return m, err
}

func testOutbox(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()

	t.Run("idempotency key keeps the first", func(t *testing.T) {
		first := newMessage("m-first", "code:ann:1", t0)
		second := newMessage("m-second", "code:ann:1", t0)
		second.Payload = []byte(`{"to":"mallory@example.com"}`)
		enqueue(t, s, first, second)
		// A retried transaction enqueues again, in a transaction of its own.
		enqueue(t, s, newMessage("m-third", "code:ann:1", t0))
		got, err := getMessage(t, s, "m-first")
		if err != nil {
			t.Fatalf("GetOutbox(first): %v", err)
		}
		if string(got.Payload) != string(first.Payload) || got.IdempotencyKey != "code:ann:1" || got.Attempts != 0 || got.Dead {
			t.Errorf("first message stored as %+v", got)
		}
		for _, id := range []string{"m-second", "m-third"} {
			_, err := getMessage(t, s, id)
			wantErr(t, "GetOutbox("+id+")", err, store.ErrNotFound)
		}
		if n := depth(t, s); n != 1 {
			t.Errorf("OutboxDepth = %d, want 1", n)
		}
	})

	t.Run("messages without a key are all kept", func(t *testing.T) {
		enqueue(t, s, newMessage("m-nokey1", "", t0), newMessage("m-nokey2", "", t0))
		for _, id := range []string{"m-nokey1", "m-nokey2"} {
			_, err := getMessage(t, s, id)
			wantErr(t, "GetOutbox("+id+")", err, nil)
		}
	})

	t.Run("lease lifecycle", func(t *testing.T) {
		s := h.Open(t) // empty, so leases see only these messages
		enqueue(t, s, newMessage("m1", "k1", t0), newMessage("m2", "k2", t0.Add(time.Second)),
			newMessage("m3", "k3", t0.Add(2*time.Second)), newMessage("later", "k4", t0.Add(time.Hour)))
		now := t0.Add(time.Minute)

		got := lease(t, s, "node-a", 10, now)
		wantEqual(t, "first lease", msgIDs(got), []string{"m1", "m2", "m3"})
		for _, m := range got {
			if m.LeaseOwner != "node-a" || !m.LeaseUntil.Equal(store.Micro(now.Add(time.Minute))) || m.Attempts != 1 {
				t.Errorf("leased %s: owner %q until %v attempts %d", m.ID, m.LeaseOwner, m.LeaseUntil, m.Attempts)
			}
		}
		wantEqual(t, "lease while held", msgIDs(lease(t, s, "node-b", 10, now.Add(30*time.Second))), []string{})

		// node-a stalls; once its lease runs out the messages go to node-b.
		now = now.Add(2 * time.Minute)
		got = lease(t, s, "node-b", 2, now)
		wantEqual(t, "lease after expiry, limited to 2", msgIDs(got), []string{"m1", "m2"})
		if got[0].Attempts != 2 {
			t.Errorf("re-leased message has %d attempts, want 2", got[0].Attempts)
		}

		err := txErr(t, s, func(tx store.Tx) error { return tx.CompleteOutbox(ctx, "m1", "node-a", now) })
		wantErr(t, "CompleteOutbox(former owner)", err, store.ErrNotFound)
		mustTx(t, s, func(tx store.Tx) error { return tx.CompleteOutbox(ctx, "m1", "node-b", now) })
		mustTx(t, s, func(tx store.Tx) error {
			m, err := tx.GetOutbox(ctx, "m1")
			if err == nil && string(m.Payload) != "{}" {
				t.Errorf("delivered message kept its body: %s", m.Payload)
			}
			return err
		})
		err = txErr(t, s, func(tx store.Tx) error { return tx.CompleteOutbox(ctx, "m1", "node-b", now) })
		wantErr(t, "CompleteOutbox(twice)", err, store.ErrNotFound)
		if m, err := getMessage(t, s, "m1"); err != nil || !m.DeliveredAt.Equal(store.Micro(now)) {
			t.Errorf("delivered message: %+v, %v", m, err)
		}
		if n := depth(t, s); n != 3 {
			t.Errorf("OutboxDepth after one delivery = %d, want 3", n)
		}

		retryAt := now.Add(10 * time.Minute)
		err = txErr(t, s, func(tx store.Tx) error { return tx.RetryOutbox(ctx, "m2", "node-a", retryAt, "x", false) })
		wantErr(t, "RetryOutbox(not the owner)", err, store.ErrNotFound)
		mustTx(t, s, func(tx store.Tx) error {
			return tx.RetryOutbox(ctx, "m2", "node-b", retryAt, "smtp: 451 try later", false)
		})
		wantEqual(t, "lease before retry time", msgIDs(lease(t, s, "node-c", 10, now.Add(time.Second))), []string{"m3"})
		if m, err := getMessage(t, s, "m2"); err != nil || m.LastError != "smtp: 451 try later" || !m.AvailableAt.Equal(store.Micro(retryAt)) {
			t.Errorf("retried message: %+v, %v", m, err)
		}

		// node-c gives up on m3: a dead message leaves the depth and is never leased again.
		mustTx(t, s, func(tx store.Tx) error { return tx.RetryOutbox(ctx, "m3", "node-c", now, "bounced", true) })
		if n := depth(t, s); n != 2 {
			t.Errorf("OutboxDepth with one dead = %d, want 2 (m2, later)", n)
		}
		wantEqual(t, "lease at retry time", msgIDs(lease(t, s, "node-d", 10, retryAt)), []string{"m2"})
		wantEqual(t, "lease much later", msgIDs(lease(t, s, "node-e", 10, t0.Add(48*time.Hour))), []string{"m2", "later"})
		if m, err := getMessage(t, s, "m3"); err != nil || !m.Dead || m.LastError != "bounced" {
			t.Errorf("dead message: %+v, %v", m, err)
		}
	})
}

// testOutboxConcurrentLease has four workers on two nodes drain one queue; no message
// may be handed to two of them.
func testOutboxConcurrentLease(t *testing.T, h Harness) {
	a, b := h.OpenPair(t)
	ctx := t.Context()
	const total = 200
	msgs := make([]*store.OutboxMessage, total)
	for i := range msgs {
		msgs[i] = newMessage(seqName("m", i), seqName("k", i), t0)
	}
	enqueue(t, a, msgs...)

	now := t0.Add(time.Minute)
	var mu sync.Mutex
	leasedBy := map[string][]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		node := []store.Store{a, b}[w%2]
		owner := fmt.Sprintf("worker-%d", w)
		wg.Go(func() {
			for {
				var got []store.OutboxMessage
				err := node.InTx(ctx, func(tx store.Tx) error {
					var err error
					got, err = tx.LeaseOutbox(ctx, owner, 7, now, now.Add(time.Hour))
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", owner, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					leasedBy[m.ID] = append(leasedBy[m.ID], owner)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for id, owners := range leasedBy {
		if len(owners) > 1 {
			t.Errorf("message %s leased by %v", id, owners)
		}
	}
	// Anything a worker missed because of lost races must still be there to lease.
	rest := lease(t, b, "sweeper", total, now)
	if len(leasedBy)+len(rest) != total {
		t.Errorf("%d messages leased by workers and %d left, want %d in all", len(leasedBy), len(rest), total)
	}
	for _, m := range rest {
		if len(leasedBy[m.ID]) > 0 {
			t.Errorf("message %s leased again while %v holds it", m.ID, leasedBy[m.ID])
		}
	}
}

func testMail(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustTx(t, s, func(tx store.Tx) error {
		for i := range 3 {
			m := &store.Mail{ID: seqName("mail", i), TenantID: "acme", To: "ann@example.com",
				Subject: fmt.Sprintf("Code %d", i), Body: "Your code is …", CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
			if err := tx.PutMail(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	list := func(limit int) []store.Mail {
		var got []store.Mail
		mustView(t, s, func(tx store.Tx) error {
			var err error
			got, err = tx.ListMail(ctx, limit)
			return err
		})
		return got
	}
	got := list(10)
	wantEqual(t, "ListMail(10)", ids(got, func(m store.Mail) string { return m.ID }), []string{"mail002", "mail001", "mail000"})
	if len(got) > 0 {
		want := store.Mail{ID: "mail002", TenantID: "acme", To: "ann@example.com", Subject: "Code 2", Body: "Your code is …", CreatedAt: store.Micro(t0.Add(2 * time.Minute))}
		wantEqual(t, "newest mail", got[0], want)
	}
	wantEqual(t, "ListMail(2)", ids(list(2), func(m store.Mail) string { return m.ID }), []string{"mail002", "mail001"})
	wantEqual(t, "ListMail(0) lists some", len(list(0)), 3)
}
