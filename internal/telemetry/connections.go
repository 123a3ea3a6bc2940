package telemetry

import "github.com/prometheus/client_golang/prometheus"

// ListenerMetrics are one listener's connection metrics.
type ListenerMetrics struct {
	// Open is the number of connections open now.
	Open prometheus.Gauge
	// Refused counts connections closed at accept because the cap was
	// reached.
	Refused prometheus.Counter
}

// NewConnectionMetrics registers the connection metrics of the capped
// listeners with reg: open connections and refusals per listener, and the
// cap they share. It returns each listener's metrics by name.
func NewConnectionMetrics(reg prometheus.Registerer, maxConns int, listeners ...string) map[string]ListenerMetrics {
	open := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gqlguard_connections_open",
		Help: "Connections open on each public listener, TLS handshakes under way included.",
	}, []string{"listener"})
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gqlguard_connections_refused_total",
		Help: "Connections closed as soon as they were accepted because server.max_connections were open.",
	}, []string{"listener"})
	capacity := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gqlguard_connections_max",
		Help: "The cap on open connections the public listeners share (server.max_connections).",
	})
	capacity.Set(float64(maxConns))
	reg.MustRegister(open, refused, capacity)
	out := make(map[string]ListenerMetrics, len(listeners))
	for _, l := range listeners {
		// Each series exists from the start, at 0, so that a rate over
		// the first refusals is not lost.
		out[l] = ListenerMetrics{Open: open.WithLabelValues(l), Refused: refused.WithLabelValues(l)}
	}
	return out
}
