package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestTwoWorkersDeliverEachMessageOnce(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	const total = 30
	for i := range total {
		MustQueue(t, s, fmt.Sprintf("k%d", i), Email{To: "alice@example.com", Subject: fmt.Sprintf("message %d", i), Text: "hello"}, t0)
	}
	sender := &recordingSender{next: &MailboxSender{Store: s}}
	clk := newClock()
	workers := []*Worker{
		{Store: s, Owner: "node-a", Now: clk.Now, Batch: total, Senders: map[string]Sender{KindEmail: sender}},
		{Store: s, Owner: "node-b", Now: clk.Now, Batch: total, Senders: map[string]Sender{KindEmail: sender}},
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	delivered := make([]int, len(workers))
	for i, w := range workers {
		wg.Go(func() {
			<-start
			for {
				n, err := w.RunOnce(ctx)
				if err != nil {
					t.Errorf("%s: RunOnce: %v", w.Owner, err)
					return
				}
				if n == 0 {
					return
				}
				delivered[i] += n
			}
		})
	}
	close(start)
	wg.Wait()

	if got := delivered[0] + delivered[1]; got != total {
		t.Errorf("workers report %d + %d delivered, want %d in all", delivered[0], delivered[1], total)
	}
	sends := map[string]int{}
	for _, id := range sender.IDs() {
		sends[id]++
	}
	for id, n := range sends {
		if n != 1 {
			t.Errorf("message %s was sent %d times", id, n)
		}
	}
	if len(sends) != total {
		t.Errorf("%d distinct messages sent, want %d", len(sends), total)
	}
	subjects := map[string]int{}
	for _, m := range mustListMail(t, s) {
		subjects[m.Subject]++
	}
	for i := range total {
		if n := subjects[fmt.Sprintf("message %d", i)]; n != 1 {
			t.Errorf("mailbox holds %q %d times, want once", fmt.Sprintf("message %d", i), n)
		}
	}
	if n := mustDepth(t, s); n != 0 {
		t.Errorf("outbox depth after delivery = %d, want 0", n)
	}
}

func TestRunDeliversQueuedMailPromptly(t *testing.T) {
	s := MustOpenStore(t)
	w := &Worker{Store: s, Owner: "node-a", Interval: time.Hour, Senders: map[string]Sender{KindEmail: &MailboxSender{Store: s}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()

	// With an hour between polls only Kick can bring the message out in time.
	time.Sleep(50 * time.Millisecond) // let Run finish its first, empty poll
	MustQueue(t, s, "k", welcome, time.Now())
	w.Kick()
	deadline := time.Now().Add(10 * time.Second)
	for len(mustListMail(t, s)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a kicked worker did not deliver the queued message")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunDrainsMessagesInHandOnCancel(t *testing.T) {
	s := MustOpenStore(t)
	clk := newClock()
	for i := range 3 {
		MustQueue(t, s, fmt.Sprintf("k%d", i), Email{To: "alice@example.com", Subject: fmt.Sprintf("message %d", i), Text: "hi"}, t0)
	}
	mailbox := &MailboxSender{Store: s}
	inHand := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	blocking := senderFunc(func(ctx context.Context, msgID, tenantID string, e Email) error {
		once.Do(func() { close(inHand) })
		<-release
		// The worker was cancelled meanwhile; the delivery must still go through.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("delivery context cancelled during drain: %w", err)
		}
		return mailbox.Send(ctx, msgID, tenantID, e)
	})
	w := &Worker{Store: s, Owner: "node-a", Now: clk.Now, Batch: 1, Interval: time.Hour, Senders: map[string]Sender{KindEmail: blocking}}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-inHand
	cancel()
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}

	if mails := mustListMail(t, s); len(mails) != 1 {
		t.Fatalf("after drain the mailbox holds %d messages, want the 1 in hand", len(mails))
	}
	// Nothing was left leased: another node can take the rest at once, at the same time.
	other := &Worker{Store: s, Owner: "node-b", Now: clk.Now, Senders: map[string]Sender{KindEmail: mailbox}}
	n, err := other.RunOnce(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("second worker RunOnce = %d, %v; want the 2 messages never leased", n, err)
	}
	if n := mustDepth(t, s); n != 0 {
		t.Fatalf("outbox depth = %d, want 0", n)
	}
}

func TestUnknownKindIsGivenUp(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	err := s.InTx(ctx, func(tx store.Tx) error {
		return tx.Enqueue(ctx, &store.OutboxMessage{ID: "m-sms", TenantID: "default", Kind: "sms", IdempotencyKey: "sms:1",
			Payload: []byte(`{"to":"+15550100"}`), CreatedAt: t0, AvailableAt: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &Worker{Store: s, Owner: "node-a", Now: newClock().Now, Senders: map[string]Sender{KindEmail: &MailboxSender{Store: s}}}
	if n, err := w.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("RunOnce = %d, %v; want 0 delivered", n, err)
	}
	m := mustGetOutbox(t, s, "m-sms")
	if !m.Dead || !strings.Contains(m.LastError, `no sender for message kind "sms"`) {
		t.Fatalf("message = dead %v, last error %q; want dead with an explanation", m.Dead, m.LastError)
	}
}

func TestMessageIsGivenUpAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	clk := newClock()
	MustQueue(t, s, "k", welcome, t0)
	failing := &recordingSender{next: senderFunc(func(context.Context, string, string, Email) error {
		return errors.New("connection refused")
	})}
	w := &Worker{Store: s, Owner: "node-a", Now: clk.Now, MaxAttempts: 3, Senders: map[string]Sender{KindEmail: failing}}
	for range 5 {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Hour)
	}
	ids := failing.IDs()
	if len(ids) != 3 {
		t.Fatalf("delivery was tried %d times, want MaxAttempts = 3", len(ids))
	}
	m := mustGetOutbox(t, s, ids[0])
	if !m.Dead || m.Attempts != 3 || m.LastError != "connection refused" {
		t.Fatalf("message = dead %v after %d attempts, last error %q", m.Dead, m.Attempts, m.LastError)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt int
		jitter  float64
		want    time.Duration
	}{
		{1, 0.5, 15 * time.Second},
		{2, 0.5, 30 * time.Second},
		{5, 0.5, 4 * time.Minute},
		{8, 0.5, 32 * time.Minute},
		{9, 0.5, time.Hour}, // 64 min, capped
		{40, 0.5, time.Hour},
		{1, 0, 12 * time.Second},
		{9, 0, 48 * time.Minute},
		{1, 0.999999, 18 * time.Second},
	}
	for _, tt := range tests {
		w := &Worker{Jitter: func() float64 { return tt.jitter }}
		got := w.backoff(tt.attempt).Round(time.Second)
		if got != tt.want {
			t.Errorf("backoff(attempt %d, jitter %v) = %v, want %v", tt.attempt, tt.jitter, got, tt.want)
		}
	}
}
