package telemetry

import (
	"context"
	"crypto/tls"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CertInfo describes one serving certificate for the metrics.
type CertInfo struct {
	// Name identifies the certificate (its first DNS name or domain).
	Name string
	// Source is "file" or "acme".
	Source string
	// KeyType is the algorithm of its key: "ecdsa", "rsa" or "ed25519".
	// An ECDSA and an RSA certificate for the same name differ in it.
	KeyType string
	// File is the certificate file it was read from; empty for ACME.
	File string
	// NotAfter is when it expires.
	NotAfter time.Time
	// OCSP is its staple status: good, revoked, unknown, none or error.
	OCSP string
}

// Metrics holds the gateway's Prometheus metrics.
type Metrics struct {
	handshakes        *prometheus.CounterVec
	handshakeDuration *prometheus.HistogramVec
	requests          *prometheus.CounterVec
	requestDuration   prometheus.Histogram
	upstreamDuration  prometheus.Histogram
}

// durationBuckets suit a gateway's request and upstream times: from a
// quarter of a millisecond to ten seconds.
var durationBuckets = []float64{.00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics registers the gateway's metrics with reg. certs is called at
// every scrape for the certificates being served.
func NewMetrics(reg prometheus.Registerer, certs func() []CertInfo) *Metrics {
	m := &Metrics{
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gqlguard_tls_handshakes_total",
			Help: "TLS handshakes on the HTTPS listener by protocol version, cipher suite and outcome (ok or a failure reason).",
		}, []string{"version", "cipher_suite", "outcome"}),
		handshakeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gqlguard_tls_handshake_duration_seconds",
			Help:    "Time from accepting a connection to the end of its TLS handshake.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"outcome"}),
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gqlguard_requests_total",
		Help: "Requests on the HTTPS listener by outcome (OK, or the error code of the refusal) and status.",
	}, []string{"outcome", "status"})
	m.requestDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "gqlguard_request_duration_seconds",
		Help:    "Time from receiving a request's headers to the end of its answer.",
		Buckets: durationBuckets,
	})
	m.upstreamDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "gqlguard_upstream_duration_seconds",
		Help:    "Time the upstream took to answer a forwarded request's headers.",
		Buckets: durationBuckets,
	})
	reg.MustRegister(m.handshakes, m.handshakeDuration, m.requests, m.requestDuration, m.upstreamDuration, certCollector{certs})
	return m
}

// Request records one request's outcome and timing: upstream is zero when
// the upstream was not contacted.
func (m *Metrics) Request(outcome string, status int, d, upstream time.Duration) {
	m.requests.WithLabelValues(outcome, statusLabel(status)).Inc()
	m.requestDuration.Observe(d.Seconds())
	if upstream > 0 {
		m.upstreamDuration.Observe(upstream.Seconds())
	}
}

// statusLabel formats the statuses a gateway answers without allocating.
func statusLabel(status int) string {
	switch status {
	case 200:
		return "200"
	case 304:
		return "304"
	case 400:
		return "400"
	case 401:
		return "401"
	case 429:
		return "429"
	case 499: // a flood of stream resets is all 499s
		return "499"
	case 502:
		return "502"
	case 503:
		return "503"
	case 504:
		return "504"
	}
	return strconv.Itoa(status)
}

// Handshake records one handshake: state is nil when it failed with err.
func (m *Metrics) Handshake(state *tls.ConnectionState, err error, d time.Duration) {
	if err != nil {
		reason := HandshakeFailure(err)
		m.handshakes.WithLabelValues("", "", reason).Inc()
		m.handshakeDuration.WithLabelValues("error").Observe(d.Seconds())
		return
	}
	m.handshakes.WithLabelValues(TLSVersionName(state.Version), CipherSuiteName(state.CipherSuite), "ok").Inc()
	m.handshakeDuration.WithLabelValues("ok").Observe(d.Seconds())
}

// HandshakeFailure names why a handshake failed, in a few stable words fit
// for a metric label.
func HandshakeFailure(err error) string {
	var alert tls.AlertError
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "deadline exceeded"):
		return "timeout"
	case strings.Contains(msg, "protocol version"), strings.Contains(msg, "unsupported versions"):
		return "protocol_version"
	case strings.Contains(msg, "no cipher suite"):
		return "no_cipher_suite"
	case strings.Contains(msg, "client didn't provide a certificate"), strings.Contains(msg, "client certificate"),
		strings.Contains(msg, "certificate signed by unknown authority"), strings.Contains(msg, "bad certificate"):
		return "client_certificate"
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return "not_tls"
	case errors.As(err, &alert), strings.Contains(msg, "remote error"):
		return "client_alert"
	case strings.Contains(msg, "EOF"), strings.Contains(msg, "connection reset"):
		return "client_closed"
	default:
		return "error"
	}
}

var (
	expiryDesc = prometheus.NewDesc("gqlguard_tls_certificate_expiry_timestamp_seconds",
		"When each serving certificate expires (Unix time).", []string{"name", "source", "key_type", "file"}, nil)
	ocspDesc = prometheus.NewDesc("gqlguard_tls_ocsp_staple_status",
		"1 for the OCSP staple status each serving certificate has.", []string{"name", "key_type", "file", "status"}, nil)
)

// certCollector reads the certificates at scrape time, so the metrics follow
// reloads and renewals without bookkeeping.
type certCollector struct{ certs func() []CertInfo }

func (c certCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- expiryDesc
	ch <- ocspDesc
}

// Collect emits one series per certificate. Certificates are told apart by
// name, key type and file; should two still look alike (the same pair
// configured twice), only the first is emitted, since a duplicate series
// makes the whole scrape fail.
func (c certCollector) Collect(ch chan<- prometheus.Metric) {
	if c.certs == nil {
		return
	}
	type id struct{ name, source, keyType, file string }
	seen := make(map[id]bool)
	for _, ci := range c.certs() {
		k := id{ci.Name, ci.Source, ci.KeyType, ci.File}
		if seen[k] {
			continue
		}
		seen[k] = true
		ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, float64(ci.NotAfter.Unix()), ci.Name, ci.Source, ci.KeyType, ci.File)
		ch <- prometheus.MustNewConstMetric(ocspDesc, prometheus.GaugeValue, 1, ci.Name, ci.KeyType, ci.File, ci.OCSP)
	}
}
