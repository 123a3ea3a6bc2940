package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/gqlguard/gqlguard/internal/capool"
	"github.com/gqlguard/gqlguard/internal/certs"
	"github.com/gqlguard/gqlguard/internal/config"
)

// newAdminTLS loads admin.tls: the admin listener's HTTPS config, with its
// certificate reloaded from the files like the main listener's (files, which
// the caller watches and reports with the main listener's), and the CAs that
// client certificates must chain to. Both are nil when the admin listener is
// plain HTTP. The TLS policy is the main listener's: tls.min_version, AEAD
// cipher suites only.
func newAdminTLS(cfg *config.Config, logger *slog.Logger) (_ *tls.Config, files *certs.FileSource, _ error) {
	at := cfg.Admin.TLS
	if at.CertFile == "" {
		return nil, nil, nil
	}
	files, err := certs.NewFileSource([]config.CertPair{{CertFile: at.CertFile, KeyFile: at.KeyFile, Key: "admin.tls.cert_file"}}, logger, nil)
	if err != nil {
		return nil, nil, err
	}
	tc := serverTLSPolicy(cfg.TLS.MinVersion)
	tc.GetCertificate = files.GetCertificate
	if at.ClientCAFile != "" {
		pool, err := capool.Read(at.ClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("admin.tls.client_ca_file: %w", err)
		}
		tc.ClientCAs = pool
		// A certificate, when sent, must verify; but probes and scrapers
		// without one still reach /healthz, /readyz and /metrics. Only
		// document registration looks at the certificate.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, files, nil
}
