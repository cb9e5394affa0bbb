package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Worker defaults, used when the corresponding field is zero.
const (
	DefaultInterval    = time.Second
	DefaultBatch       = 10
	DefaultLease       = 2 * time.Minute
	DefaultMaxAttempts = 12
)

// Retry schedule: 15 s after the first failure, doubling up to an hour, each delay
// spread by ±20% so messages that failed together do not retry together.
const (
	retryBase   = 15 * time.Second
	retryCap    = time.Hour
	retryJitter = 0.2
)

// maxLastError bounds the error text kept with a message.
const maxLastError = 1000

// Worker delivers outbox messages. Several Workers, on one node or many, may share a
// store: each message is leased to one Owner at a time. Set the fields, then call Run
// (or RunOnce); do not copy a Worker after first use.
type Worker struct {
	Store store.Store
	// Senders delivers messages by kind; a message of another kind is given up on.
	// Every payload is decoded as an Email before it is handed over.
	Senders map[string]Sender
	// Owner names this worker in leases; it must be unique among running workers
	// (e.g. the node id).
	Owner string
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Interval is the pause between polls when the outbox is empty (default 1 s,
	// so queued mail leaves within a second or two). Kick ends a pause early.
	Interval time.Duration
	// Batch is how many messages one poll leases (default 10); they are delivered
	// concurrently.
	Batch int
	// Lease is how long a leased message stays reserved (default 2 min). A delivery is
	// cut off when its lease runs out, so no two workers send one message at once.
	Lease time.Duration
	// MaxAttempts is how many deliveries are tried before a message is given up
	// (default 12, about four hours of retries).
	MaxAttempts int
	Metrics     *Metrics
	// Jitter returns a number in [0, 1) that spreads retry delays; nil means math/rand.
	Jitter func() float64

	kickOnce sync.Once
	kick     chan struct{}
}

// Kick asks a running Run to poll now instead of at the end of its pause, e.g. right
// after a transaction that queued mail has committed. It never blocks.
func (w *Worker) Kick() {
	select {
	case w.kickCh() <- struct{}{}:
	default:
	}
}

func (w *Worker) kickCh() chan struct{} {
	w.kickOnce.Do(func() { w.kick = make(chan struct{}, 1) })
	return w.kick
}

// Run delivers messages until ctx is done. On cancellation it stops leasing, finishes
// the messages it already holds (each bounded by its lease and the sender's timeout),
// and returns nil. It returns an error only when the Worker is misconfigured.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.check(); err != nil {
		return err
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	errDelay := w.interval()
	for {
		if ctx.Err() != nil {
			return nil
		}
		wait := w.interval()
		msgs, err := w.lease(ctx)
		switch {
		case err != nil:
			w.logger().ErrorContext(ctx, "outbox lease failed", "owner", w.Owner, "err", err)
			// A database that is down is not polled every second.
			wait, errDelay = errDelay, min(errDelay*2, 30*time.Second)
		case len(msgs) > 0:
			errDelay = w.interval()
			// Messages in hand are finished even if ctx is cancelled meanwhile.
			w.deliverAll(context.WithoutCancel(ctx), msgs)
			if len(msgs) == w.batch() {
				continue // a full batch: more may be due
			}
		default:
			errDelay = w.interval()
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-w.kickCh():
		case <-timer.C:
		}
	}
}

// RunOnce leases one batch of due messages, delivers them and records each outcome.
// It returns how many were delivered; err reports a failure to lease or to record an
// outcome, not a failed delivery (which is recorded for retry).
func (w *Worker) RunOnce(ctx context.Context) (delivered int, err error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	msgs, err := w.lease(ctx)
	if err != nil {
		return 0, err
	}
	return w.deliverAll(ctx, msgs)
}

func (w *Worker) check() error {
	switch {
	case w.Store == nil:
		return errors.New("notify: worker has no store")
	case w.Owner == "":
		return errors.New("notify: worker has no owner name")
	}
	return nil
}

// lease claims due messages. Once begun it is not cancelled with ctx: a lease that
// commits while the caller gives up would leave messages reserved but unsent.
func (w *Worker) lease(ctx context.Context) ([]store.OutboxMessage, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	now := w.now()
	var msgs []store.OutboxMessage
	err := w.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		msgs, err = tx.LeaseOutbox(ctx, w.Owner, w.batch(), now, now.Add(w.leaseTime()))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("notify: lease outbox: %w", err)
	}
	return msgs, nil
}

func (w *Worker) deliverAll(ctx context.Context, msgs []store.OutboxMessage) (int, error) {
	var (
		wg        sync.WaitGroup
		delivered atomic.Int64
		mu        sync.Mutex
		errs      []error
	)
	for i := range msgs {
		wg.Go(func() {
			ok, err := w.deliver(ctx, &msgs[i])
			if ok {
				delivered.Add(1)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return int(delivered.Load()), errors.Join(errs...)
}

// deliver sends one leased message and records the outcome. ok reports a delivery;
// err a failure to record the outcome.
func (w *Worker) deliver(ctx context.Context, m *store.OutboxMessage) (ok bool, err error) {
	// The clock is injected, so the lease's remaining time is computed with it rather
	// than compared with the wall clock by a context deadline.
	remaining := m.LeaseUntil.Sub(w.now())
	if remaining <= 0 {
		// Another worker may already hold it; it will be retried, not lost.
		w.logger().WarnContext(ctx, "outbox lease ran out before delivery",
			"msg_id", m.ID, "tenant", m.TenantID, "kind", m.Kind, "attempt", m.Attempts)
		return false, nil
	}
	sender := w.Senders[m.Kind]
	if sender == nil {
		return false, w.fail(ctx, m, "", Permanent(fmt.Errorf("no sender for message kind %q", m.Kind)))
	}
	var e Email
	if err := json.Unmarshal(m.Payload, &e); err != nil {
		return false, w.fail(ctx, m, "", Permanent(fmt.Errorf("payload is not an email: %w", err)))
	}
	sendCtx, cancel := context.WithTimeout(ctx, remaining)
	err = sender.Send(sendCtx, m.ID, m.TenantID, e)
	cancel()
	if err != nil {
		return false, w.fail(ctx, m, e.To, err)
	}
	w.Metrics.observe(m.Kind, true, false, false)
	err = w.Store.InTx(ctx, func(tx store.Tx) error { return tx.CompleteOutbox(ctx, m.ID, w.Owner, w.now()) })
	if errors.Is(err, store.ErrNotFound) {
		// Our lease ran out while sending and another worker took the message over.
		// The recipient may get it twice, with the same Message-ID.
		w.logger().WarnContext(ctx, "outbox message delivered after its lease ran out",
			"msg_id", m.ID, "tenant", m.TenantID, "kind", m.Kind, "attempt", m.Attempts)
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("notify: complete message %s: %w", m.ID, err)
	}
	w.logger().InfoContext(ctx, "outbox message delivered",
		"msg_id", m.ID, "tenant", m.TenantID, "kind", m.Kind, "attempt", m.Attempts, "to", MaskAddress(e.To))
	return true, nil
}

// fail records a failed delivery: a retry after a backoff, or, after a permanent error
// or the last attempt, the end of the message. to (may be empty) is masked wherever the
// error text quotes it, because the text is both logged and stored.
func (w *Worker) fail(ctx context.Context, m *store.OutboxMessage, to string, sendErr error) error {
	var perm *PermanentError
	dead := errors.As(sendErr, &perm) || m.Attempts >= w.maxAttempts()
	now := w.now()
	retryAt := now
	if !dead {
		retryAt = now.Add(w.backoff(m.Attempts))
	}
	msg := truncate(redact(sendErr.Error(), to), maxLastError)
	w.Metrics.observe(m.Kind, false, true, dead)
	attrs := []any{"msg_id", m.ID, "tenant", m.TenantID, "kind", m.Kind, "attempt", m.Attempts, "err", msg}
	if to != "" {
		attrs = append(attrs, "to", MaskAddress(to))
	}
	if dead {
		w.logger().ErrorContext(ctx, "outbox message given up", attrs...)
	} else {
		w.logger().WarnContext(ctx, "outbox delivery failed; will retry", append(attrs, "retry_at", retryAt)...)
	}
	err := w.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.RetryOutbox(ctx, m.ID, w.Owner, retryAt, msg, dead)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // the lease ran out and another worker took over; it records its own outcome
	}
	if err != nil {
		return fmt.Errorf("notify: record failure of message %s: %w", m.ID, err)
	}
	return nil
}

// backoff is the delay before the retry that follows attempt (1-based).
func (w *Worker) backoff(attempt int) time.Duration {
	d := retryBase
	for i := 1; i < attempt && d < retryCap; i++ {
		d *= 2
	}
	d = min(d, retryCap)
	j := rand.Float64
	if w.Jitter != nil {
		j = w.Jitter
	}
	factor := 1 - retryJitter + 2*retryJitter*j()
	return time.Duration(float64(d) * factor)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (w *Worker) interval() time.Duration {
	if w.Interval > 0 {
		return w.Interval
	}
	return DefaultInterval
}

func (w *Worker) batch() int {
	if w.Batch > 0 {
		return w.Batch
	}
	return DefaultBatch
}

func (w *Worker) leaseTime() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return DefaultLease
}

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return DefaultMaxAttempts
}
