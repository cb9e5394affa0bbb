package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// fakeStore runs transactions on fakeTx: writes are the job names a transaction
// recorded, kept only when it commits. hold, when set, runs at the start of each
// transaction, so a test can hold the first one while others queue up.
type fakeStore struct {
	mu        sync.Mutex
	committed []string
	txs       int
	client    store.Client
	policy    int
	keys      []store.SigningKey
	hold      func(n int)
}

func (f *fakeStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	f.mu.Lock()
	f.txs++
	n := f.txs
	f.mu.Unlock()
	if f.hold != nil {
		f.hold(n)
	}
	tx := &fakeTx{f: f}
	if err := fn(tx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.committed = append(f.committed, tx.writes...)
	return nil
}

func (f *fakeStore) transactions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.txs
}

func (f *fakeStore) View(ctx context.Context, fn func(store.Tx) error) error { return f.InTx(ctx, fn) }
func (f *fakeStore) Ping(context.Context) error                              { return nil }
func (f *fakeStore) Dialect() string                                         { return "fake" }
func (f *fakeStore) Close() error                                            { return nil }

type fakeTx struct {
	store.Tx // the methods a stamp check does not call stay nil
	f        *fakeStore
	writes   []string
}

func (t *fakeTx) GetClient(_ context.Context, tenantID, id string) (*store.Client, error) {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	if t.f.client.ID != id {
		return nil, store.ErrNotFound
	}
	c := t.f.client
	return &c, nil
}

func (t *fakeTx) CurrentPolicy(_ context.Context, tenantID string) (*store.Policy, error) {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return &store.Policy{TenantID: tenantID, Version: t.f.policy}, nil
}

func (t *fakeTx) ListSigningKeys(_ context.Context, tenantID string) ([]store.SigningKey, error) {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return slices.Clone(t.f.keys), nil
}

func newFakeProvider() (*Provider, *fakeStore, stamp) {
	f := &fakeStore{client: store.Client{ID: "svc", TenantID: "t1", SecretHash: "h1"}, policy: 3,
		keys: []store.SigningKey{{TenantID: "t1", KID: "k1", Alg: "ES256", Seq: 1}}}
	c := f.client
	st := stamp{client: &c, state: &tenantState{tenantID: "t1", policy: tenant.Policy{Version: 3}, keys: slices.Clone(f.keys)}}
	return &Provider{Store: f, Now: time.Now}, f, st
}

// queued reports how many jobs wait for the next transaction.
func (p *Provider) queued() int {
	p.commits.mu.Lock()
	defer p.commits.mu.Unlock()
	return len(p.commits.queue)
}

// TestCommitBatchesWaitingRecords holds the first transaction until every other
// request has queued, and checks that they then share one transaction, each record
// committed once and each caller answered only after it.
func TestCommitBatchesWaitingRecords(t *testing.T) {
	p, f, st := newFakeProvider()
	const n = 20
	release := make(chan struct{})
	f.hold = func(tx int) {
		if tx == 1 {
			<-release
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprint("job", i)
			errs[i] = p.commit(t.Context(), st, func(tx store.Tx) error {
				tx.(*fakeTx).writes = append(tx.(*fakeTx).writes, name)
				return nil
			})
			f.mu.Lock()
			defer f.mu.Unlock()
			if !slices.Contains(f.committed, name) {
				errs[i] = fmt.Errorf("%s answered before its record committed", name)
			}
		})
	}
	for p.queued() < n-1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	slices.Sort(f.committed)
	if len(f.committed) != n || len(slices.Compact(slices.Clone(f.committed))) != n {
		t.Errorf("committed %v, want each of %d jobs once", f.committed, n)
	}
	if f.transactions() != 2 {
		t.Errorf("%d transactions for %d records, want 2 (the first alone, the rest together)", f.txs, n)
	}
}

// TestCommitIsolatesFailures checks that a record that fails, and one made with a
// client that changed meanwhile, fail alone: the others of their batch commit.
func TestCommitIsolatesFailures(t *testing.T) {
	p, f, st := newFakeProvider()
	changed := *st.client
	changed.SecretHash = "old secret"
	staleStamp := stamp{client: &changed, state: st.state}
	release := make(chan struct{})
	f.hold = func(tx int) {
		if tx == 1 {
			<-release
		}
	}
	boom := errors.New("constraint failed")
	jobs := []struct {
		name string
		st   stamp
		err  error // what the record returns
		want error // what its caller gets
	}{
		{"first", st, nil, nil},
		{"ok1", st, nil, nil},
		{"fails", st, boom, boom},
		{"stale", staleStamp, nil, errStale},
		{"ok2", st, nil, nil},
	}
	got := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			got[i] = p.commit(t.Context(), j.st, func(tx store.Tx) error {
				tx.(*fakeTx).writes = append(tx.(*fakeTx).writes, j.name)
				return j.err
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
		if !errors.Is(got[i], j.want) || (j.want == nil) != (got[i] == nil) {
			t.Errorf("%s: got %v, want %v", j.name, got[i], j.want)
		}
	}
	slices.Sort(f.committed)
	if want := []string{"first", "ok1", "ok2"}; !slices.Equal(f.committed, want) {
		t.Errorf("committed %v, want %v", f.committed, want)
	}
}
