package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func hit(t *testing.T, s store.Store, key string, window time.Time) int {
	t.Helper()
	var n int
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.Hit(t.Context(), key, window, window.Add(time.Minute))
		return err
	})
	return n
}

func counterValue(t *testing.T, s store.Store, key string, window time.Time) int {
	t.Helper()
	var n int
	mustView(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.CounterValue(t.Context(), key, window)
		return err
	})
	return n
}

func testCounters(t *testing.T, h Harness) {
	s := h.Open(t)
	w1 := t0.Truncate(time.Minute)
	w2 := w1.Add(time.Minute)
	key := "signin:ip:203.0.113.7"

	steps := []struct {
		name   string
		do     func() int
		wantN  int
		window time.Time // CounterValue(key, window) must then equal wantV
		wantV  int
	}{
		{"unknown key counts zero", func() int { return 0 }, 0, w1, 0},
		{"first hit", func() int { return hit(t, s, key, w1) }, 1, w1, 1},
		{"second hit", func() int { return hit(t, s, key, w1) }, 2, w1, 2},
		{"third hit", func() int { return hit(t, s, key, w1) }, 3, w1, 3},
		{"another key is separate", func() int { return hit(t, s, "signin:user:ann", w1) }, 1, w1, 3},
		{"a new window starts over", func() int { return hit(t, s, key, w2) }, 1, w2, 1},
		{"the old window is gone", func() int { return hit(t, s, key, w2) }, 2, w1, 0},
		{"reset forgets the key", func() int {
			mustTx(t, s, func(tx store.Tx) error { return tx.ResetCounter(t.Context(), key) })
			return 0
		}, 0, w2, 0},
		{"hits after reset start at one", func() int { return hit(t, s, key, w2) }, 1, w2, 1},
		{"reset of an unknown key is fine", func() int {
			mustTx(t, s, func(tx store.Tx) error { return tx.ResetCounter(t.Context(), "never-seen") })
			return 0
		}, 0, w2, 1},
	}
	for _, st := range steps {
		if n := st.do(); n != st.wantN {
			t.Errorf("%s: returned %d, want %d", st.name, n, st.wantN)
		}
		if v := counterValue(t, s, key, st.window); v != st.wantV {
			t.Errorf("%s: CounterValue = %d, want %d", st.name, v, st.wantV)
		}
	}
	if v := counterValue(t, s, "signin:user:ann", w1); v != 1 {
		t.Errorf("CounterValue(other key) = %d, want 1", v)
	}
}

// testCountersConcurrent hits one counter from two nodes: no hit may be lost, and every
// caller must see a distinct count, or a throttle could let an extra attempt through.
func testCountersConcurrent(t *testing.T, h Harness) {
	a, b := h.OpenPair(t)
	ctx := t.Context()
	const workers, perWorker = 4, 50
	window := t0.Truncate(time.Minute)
	var mu sync.Mutex
	var counts []int
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		node := []store.Store{a, b}[w%2]
		wg.Go(func() {
			for range perWorker {
				var n int
				err := node.InTx(ctx, func(tx store.Tx) error {
					var err error
					n, err = tx.Hit(ctx, "device:user-code:ann", window, window.Add(time.Minute))
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					continue
				}
				mu.Lock()
				counts = append(counts, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if v := counterValue(t, b, "device:user-code:ann", window); v != workers*perWorker {
		t.Errorf("CounterValue = %d after %d hits", v, workers*perWorker)
	}
	slices.Sort(counts)
	for i, n := range counts {
		if n != i+1 {
			t.Fatalf("hits returned counts %v…, want each of 1..%d once", counts[:i+1], workers*perWorker)
		}
	}
}
