// Package housekeeping deletes records some time after they ended — expired one-time
// artifacts and counters, delivered mail, ended sessions and token families — so the
// database holds what is live plus a bounded tail of recent history. The audit log is
// never touched: it is the record, and its hash chain must stay whole.
package housekeeping

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Retention is how long each kind of record is kept after it ended. An ended session
// or token family stays a while so "signed out 3 days ago" and a replayed refresh
// token can still be explained; expired codes and counters are of no further use.
func Retention(what store.Purgeable) time.Duration {
	switch what {
	case store.PurgeArtifacts, store.PurgeCounters, store.PurgeDeviceRequests:
		return time.Hour
	case store.PurgeOutbox, store.PurgeMail:
		return 7 * 24 * time.Hour
	default:
		return 30 * 24 * time.Hour
	}
}

// batch bounds each delete so no write transaction holds SQLite's single writer long.
const batch = 500

// Janitor runs the purges. Every node may run one: the deletes are idempotent.
type Janitor struct {
	Store    store.Store
	Now      func() time.Time
	Logger   *slog.Logger
	Interval time.Duration // between rounds; default 10 minutes
	// Deleted counts deleted records by kind; nil: not counted.
	Deleted *prometheus.CounterVec
}

// NewMetrics registers the janitor's counter.
func NewMetrics(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_housekeeping_deleted_total",
		Help: "Records deleted by housekeeping some time after they ended, by kind.",
	}, []string{"kind"})
	return c, reg.Register(c)
}

// Run purges once shortly after start, then every Interval, until ctx ends.
func (j *Janitor) Run(ctx context.Context) {
	interval := j.Interval
	if interval <= 0 {
		interval = 10 * time.Minute
	}
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if _, err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
			j.Logger.WarnContext(ctx, "housekeeping round failed", "error", err)
		}
		timer.Reset(interval)
	}
}

// RunOnce purges every kind of record past its retention and returns how many of
// each it deleted. It stops at the first error, keeping what it already deleted.
func (j *Janitor) RunOnce(ctx context.Context) (map[store.Purgeable]int, error) {
	now := j.Now()
	out := make(map[store.Purgeable]int)
	for _, what := range store.Purgeables {
		cutoff := now.Add(-Retention(what))
		for {
			var n int
			err := j.Store.InTx(ctx, func(tx store.Tx) error {
				var err error
				n, err = tx.PurgeEnded(ctx, what, cutoff, batch)
				return err
			})
			if err != nil {
				return out, err
			}
			out[what] += n
			if j.Deleted != nil && n > 0 {
				j.Deleted.WithLabelValues(string(what)).Add(float64(n))
			}
			if n < batch || ctx.Err() != nil {
				break
			}
		}
		if out[what] > 0 {
			j.Logger.InfoContext(ctx, "housekeeping deleted ended records", "kind", string(what), "count", out[what])
		}
	}
	return out, nil
}
