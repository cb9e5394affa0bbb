package app

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// instrumentedStore counts store failures that are not answers (not found, already
// exists), so an operator sees a sick database in /metrics before users report it.
type instrumentedStore struct {
	store.Store
	errors *prometheus.CounterVec
}

func newInstrumentedStore(s store.Store, reg prometheus.Registerer) *instrumentedStore {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_store_errors_total",
		Help: "Database operations that failed for a reason other than not-found or conflict.",
	}, []string{"op"})
	reg.MustRegister(c)
	return &instrumentedStore{Store: s, errors: c}
}

func (s *instrumentedStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.count("write", s.Store.InTx(ctx, fn))
}

func (s *instrumentedStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.count("read", s.Store.View(ctx, fn))
}

func (s *instrumentedStore) Ping(ctx context.Context) error {
	return s.count("ping", s.Store.Ping(ctx))
}

// count records err unless it is an expected outcome. Errors a transaction's own
// code returns on purpose (validation, not found) are wrapped sentinels or plain
// errors; only driver-level failures and context deadlines are counted.
func (s *instrumentedStore) count(op string, err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, store.ErrUnavailable) || sqlstore.IsDatabaseError(err) {
		s.errors.WithLabelValues(op).Inc()
	}
	return err
}
