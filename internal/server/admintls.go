package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/gqlguard/gqlguard/internal/capool"
	"github.com/gqlguard/gqlguard/internal/certs"
	"github.com/gqlguard/gqlguard/internal/config"
)

// adminTLS is the admin listener's HTTPS: its certificate, reloaded from
// the files like the main listener's, and the CAs that client certificates
// must chain to.
type adminTLS struct {
	config *tls.Config
	files  *certs.FileSource // watched, and in the metrics, with the main listener's (tlsSetup.admin)
}

// newAdminTLS loads admin.tls, or returns nil when the admin listener is
// plain HTTP. The TLS policy is the main listener's: tls.min_version, AEAD
// cipher suites only.
func newAdminTLS(cfg *config.Config, logger *slog.Logger) (*adminTLS, error) {
	at := cfg.Admin.TLS
	if at.CertFile == "" {
		return nil, nil
	}
	files, err := certs.NewFileSource([]config.CertPair{{CertFile: at.CertFile, KeyFile: at.KeyFile, Key: "admin.tls.cert_file"}}, logger, nil)
	if err != nil {
		return nil, err
	}
	tc := serverTLSPolicy(cfg.TLS.MinVersion)
	tc.GetCertificate = files.GetCertificate
	if at.ClientCAFile != "" {
		pool, err := capool.Read(at.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("admin.tls.client_ca_file: %w", err)
		}
		tc.ClientCAs = pool
		// A certificate, when sent, must verify; but probes and scrapers
		// without one still reach /healthz, /readyz and /metrics. Only
		// document registration looks at the certificate.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return &adminTLS{config: tc, files: files}, nil
}
