package oauth

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts what the provider issues.
type Metrics struct {
	issued *prometheus.CounterVec
}

// NewMetrics registers the provider's counters with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{issued: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_tokens_issued_total",
		Help: "Access tokens issued, by grant type and client.",
	}, []string{"grant", "client"})}
	if err := reg.Register(m.issued); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Metrics) tokenIssued(grant, clientID string) {
	if m != nil {
		m.issued.WithLabelValues(grant, clientID).Inc()
	}
}
