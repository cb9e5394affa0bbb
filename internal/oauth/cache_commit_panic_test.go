package oauth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestCommitIsolatesPanics checks that a record that panics fails its own request
// only: the others batched with it still commit and succeed, and the committer
// serves the next request.
func TestCommitIsolatesPanics(t *testing.T) {
	p, f, st := newFakeProvider()
	release := make(chan struct{})
	f.hold = func(tx int) {
		if tx == 1 {
			<-release
		}
	}
	jobs := []struct {
		name   string
		panics bool
	}{{"first", false}, {"ok1", false}, {"panics", true}, {"ok2", false}}
	got := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			got[i] = p.commit(t.Context(), st, func(tx store.Tx) error {
				if j.panics {
					panic("boom")
				}
				tx.(*fakeTx).writes = append(tx.(*fakeTx).writes, j.name)
				return nil
			})
		})
		if i == 0 {
			for f.transactions() == 0 || p.queued() > 0 {
				time.Sleep(time.Millisecond) // the first job leads and is held
			}
		}
	}
	for p.queued() < len(jobs)-1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i, j := range jobs {
		if (got[i] != nil) != j.panics {
			t.Errorf("%s: got %v", j.name, got[i])
		}
	}
	slices.Sort(f.committed)
	if want := []string{"first", "ok1", "ok2"}; !slices.Equal(f.committed, want) {
		t.Errorf("committed %v, want %v", f.committed, want)
	}
	if err := p.commit(t.Context(), st, func(tx store.Tx) error { return nil }); err != nil {
		t.Errorf("the next record after a panic: %v", err)
	}
}

// TestCommitSurvivesCancelledRequests cancels the leading request and one queued
// behind it while the first transaction runs, as when clients disconnect: each
// record runs under its own request's context (a statement there fails once that
// is cancelled), the others still commit, nobody waits for ever, and the
// committer serves the next request.
func TestCommitSurvivesCancelledRequests(t *testing.T) {
	p, f, st := newFakeProvider()
	release := make(chan struct{})
	f.hold = func(tx int) {
		if tx == 1 {
			<-release
		}
	}
	leadCtx, cancelLead := context.WithCancel(t.Context())
	midCtx, cancelMid := context.WithCancel(t.Context())
	jobs := []struct {
		name string
		ctx  context.Context
		ok   bool
	}{{"lead", leadCtx, false}, {"a", t.Context(), true}, {"gone", midCtx, false}, {"b", t.Context(), true}}
	got := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			got[i] = p.commit(j.ctx, st, func(tx store.Tx) error {
				if err := j.ctx.Err(); err != nil {
					return err
				}
				tx.(*fakeTx).writes = append(tx.(*fakeTx).writes, j.name)
				return nil
			})
		})
		if i == 0 {
			for f.transactions() == 0 || p.queued() > 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for p.queued() < len(jobs)-1 {
		time.Sleep(time.Millisecond)
	}
	cancelLead()
	cancelMid()
	close(release)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("requests still waiting after their batch")
	}
	for i, j := range jobs {
		if (got[i] == nil) != j.ok {
			t.Errorf("%s: got %v", j.name, got[i])
		}
	}
	slices.Sort(f.committed)
	if want := []string{"a", "b"}; !slices.Equal(f.committed, want) {
		t.Errorf("committed %v, want %v", f.committed, want)
	}
	if err := p.commit(t.Context(), st, func(tx store.Tx) error { return nil }); err != nil {
		t.Errorf("the next record: %v", err)
	}
}

// commitFailStore is fakeStore whose batch transactions (those of more than one
// record) fail at commit, after their records ran, as when the connection drops
// while committing.
type commitFailStore struct{ *fakeStore }

func (c commitFailStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	var tx *fakeTx
	err := c.fakeStore.InTx(ctx, func(t store.Tx) error {
		tx = t.(*fakeTx)
		if err := fn(t); err != nil {
			return err
		}
		if len(tx.writes) > 1 {
			tx.writes = nil // the commit did not happen, as far as anyone can tell
			return errors.New("connection lost during commit")
		}
		return nil
	})
	return err
}

// TestCommitDoesNotRerunAfterAFailedCommit checks that when a batch's commit fails
// after its records ran, the records are not run again one by one: the outcome of
// that commit is unknown, and running a refresh token's rotation twice would read
// as its reuse. Each request of the batch gets the error.
func TestCommitDoesNotRerunAfterAFailedCommit(t *testing.T) {
	p, f, st := newFakeProvider()
	p.Store = commitFailStore{f}
	release := make(chan struct{})
	f.hold = func(tx int) {
		if tx == 1 {
			<-release
		}
	}
	var mu sync.Mutex
	runs := map[string]int{}
	names := []string{"first", "a", "b"}
	got := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			got[i] = p.commit(t.Context(), st, func(tx store.Tx) error {
				mu.Lock()
				runs[name]++
				mu.Unlock()
				tx.(*fakeTx).writes = append(tx.(*fakeTx).writes, name)
				return nil
			})
		})
		if i == 0 {
			for f.transactions() == 0 || p.queued() > 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for p.queued() < len(names)-1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if got[0] != nil {
		t.Errorf("first (alone): %v", got[0])
	}
	for i, name := range names[1:] {
		if got[i+1] == nil {
			t.Errorf("%s: succeeded although its commit failed", name)
		}
		if runs[name] != 1 {
			t.Errorf("%s: record ran %d times", name, runs[name])
		}
	}
}
