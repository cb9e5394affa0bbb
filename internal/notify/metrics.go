package notify

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// depthTTL is how long a counted outbox depth is reused, so that frequent scrapes
// (or several scrapers) cost at most one COUNT query per interval.
const depthTTL = 5 * time.Second

// Metrics counts outbox deliveries for Prometheus. A nil *Metrics counts nothing.
type Metrics struct {
	delivered *prometheus.CounterVec
	failed    *prometheus.CounterVec
	dead      *prometheus.CounterVec

	store store.Store
	now   func() time.Time

	mu        sync.Mutex
	depth     float64
	depthAt   time.Time
	depthSeen bool
}

// NewMetrics creates the outbox metrics and registers them with reg (unless reg is nil):
//
//	gatehouse_outbox_delivered_total{kind}  messages delivered
//	gatehouse_outbox_failed_total{kind}     delivery attempts that failed (retried or not)
//	gatehouse_outbox_dead_total{kind}       messages given up on
//	gatehouse_outbox_depth                  messages neither delivered nor given up
//
// The depth is read from s and cached for a few seconds.
func NewMetrics(reg prometheus.Registerer, s store.Store) (*Metrics, error) {
	m := &Metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_outbox_delivered_total",
			Help: "Outbox messages delivered, by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_outbox_failed_total",
			Help: "Outbox delivery attempts that failed, by kind; most are retried.",
		}, []string{"kind"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_outbox_dead_total",
			Help: "Outbox messages given up on (permanent failure or too many attempts), by kind.",
		}, []string{"kind"}),
		store: s,
		now:   time.Now,
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gatehouse_outbox_depth",
		Help: "Outbox messages waiting to be delivered (neither delivered nor given up).",
	}, m.outboxDepth)
	if reg != nil {
		for _, c := range []prometheus.Collector{m.delivered, m.failed, m.dead, depth} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	// Show the kind Gatehouse always sends at zero rather than absent, so alerts on
	// rate() work before the first message.
	m.delivered.WithLabelValues(KindEmail)
	m.failed.WithLabelValues(KindEmail)
	m.dead.WithLabelValues(KindEmail)
	return m, nil
}

func (m *Metrics) observe(kind string, delivered, failed, dead bool) {
	if m == nil {
		return
	}
	if delivered {
		m.delivered.WithLabelValues(kind).Inc()
	}
	if failed {
		m.failed.WithLabelValues(kind).Inc()
	}
	if dead {
		m.dead.WithLabelValues(kind).Inc()
	}
}

// outboxDepth returns the cached depth, counting again once it is older than depthTTL.
// A failed count reports NaN (and is cached too, so a down database is not hammered).
func (m *Metrics) outboxDepth() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.depthSeen && now.Sub(m.depthAt) < depthTTL {
		return m.depth
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int
	err := m.store.View(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.OutboxDepth(ctx)
		return err
	})
	m.depth, m.depthAt, m.depthSeen = float64(n), now, true
	if err != nil {
		m.depth = math.NaN()
	}
	return m.depth
}
