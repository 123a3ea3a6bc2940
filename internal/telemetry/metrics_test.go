package telemetry

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCertificateMetricsTellCertificatesApart(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	ecdsa := CertInfo{Name: "api.example.com", Source: "file", KeyType: "ecdsa", File: "/etc/tls/ecdsa.pem", NotAfter: exp, OCSP: "good"}
	rsa := CertInfo{Name: "api.example.com", Source: "file", KeyType: "rsa", File: "/etc/tls/rsa.pem", NotAfter: exp, OCSP: "good"}
	otherECDSA := ecdsa
	otherECDSA.File = "/etc/tls/ecdsa-2.pem"
	tests := []struct {
		name   string
		certs  []CertInfo
		series int
	}{
		{"an ECDSA and an RSA certificate for one name are two series", []CertInfo{ecdsa, rsa}, 2},
		{"two ECDSA certificates for one name from two files are two series", []CertInfo{ecdsa, otherECDSA}, 2},
		{"the same pair configured twice is one series, not a failed scrape", []CertInfo{ecdsa, ecdsa}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			NewMetrics(reg, func() []CertInfo { return tt.certs })
			families, err := reg.Gather()
			if err != nil {
				t.Fatalf("scrape failed: %v", err)
			}
			got := map[string]int{}
			for _, f := range families {
				got[f.GetName()] = len(f.GetMetric())
			}
			for _, name := range []string{"gqlguard_tls_certificate_expiry_timestamp_seconds", "gqlguard_tls_ocsp_staple_status"} {
				if got[name] != tt.series {
					t.Errorf("%s: %d series, want %d", name, got[name], tt.series)
				}
			}
		})
	}
}
