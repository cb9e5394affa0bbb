package device

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts device-grant decisions.
type Metrics struct {
	decisions *prometheus.CounterVec
}

// NewMetrics registers the device grant's counters with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_device_approvals_total",
		Help: "Decisions on device authorization requests, by result (approved, denied, refused_proximity, entry_locked).",
	}, []string{"result"})}
	if err := reg.Register(m.decisions); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Metrics) decided(result string) {
	if m != nil {
		m.decisions.WithLabelValues(result).Inc()
	}
}
