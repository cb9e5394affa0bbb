package notify

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// metricValue returns the value of the named counter or gauge, for the series with
// kind=kind (any series when kind is empty); NaN when there is none.
func metricValue(t *testing.T, g prometheus.Gatherer, name, kind string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := kind == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					match = true
				}
			}
			if !match {
				continue
			}
			if m.Counter != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return math.NaN()
}

func TestMetricsCountDeliveriesAndCacheDepth(t *testing.T) {
	s := MustOpenStore(t)
	reg := prometheus.NewPedanticRegistry()
	metrics, err := NewMetrics(reg, s)
	if err != nil {
		t.Fatal(err)
	}
	metricsClock := newClock()
	metrics.now = metricsClock.Now

	if got := metricValue(t, reg, "gatehouse_outbox_delivered_total", KindEmail); got != 0 {
		t.Errorf("delivered_total before any mail = %v, want 0 (present, not absent)", got)
	}
	for i := range 2 {
		MustQueue(t, s, fmt.Sprintf("k%d", i), welcome, t0)
	}
	metricsClock.Advance(depthTTL) // the scrape above counted an empty outbox
	if got := metricValue(t, reg, "gatehouse_outbox_depth", ""); got != 2 {
		t.Fatalf("depth = %v, want 2", got)
	}

	w := &Worker{Store: s, Owner: "node-a", Now: newClock().Now, Metrics: metrics, Senders: map[string]Sender{KindEmail: &MailboxSender{Store: s}}}
	if n, err := w.RunOnce(context.Background()); err != nil || n != 2 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if got := metricValue(t, reg, "gatehouse_outbox_delivered_total", KindEmail); got != 2 {
		t.Errorf("delivered_total = %v, want 2", got)
	}
	// Scrapes within a few seconds reuse the last count instead of querying again.
	if got := metricValue(t, reg, "gatehouse_outbox_depth", ""); got != 2 {
		t.Errorf("depth within the cache period = %v, want the cached 2", got)
	}
	metricsClock.Advance(depthTTL)
	if got := metricValue(t, reg, "gatehouse_outbox_depth", ""); got != 0 {
		t.Errorf("depth after the cache period = %v, want 0", got)
	}
}

func TestMetricsRegisterTwiceFails(t *testing.T) {
	s := MustOpenStore(t)
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg, s); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg, s); err == nil {
		t.Error("registering the outbox metrics twice succeeded")
	}
}
