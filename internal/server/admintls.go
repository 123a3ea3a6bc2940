package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gqlguard/gqlguard/internal/certs"
	"github.com/gqlguard/gqlguard/internal/config"
)

// adminTLS is the admin listener's HTTPS: its certificate, reloaded from
// the files like the main listener's, and the CAs that client certificates
// must chain to.
type adminTLS struct {
	config *tls.Config
	files  *certs.FileSource
	reload time.Duration
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
		pool, err := certs.ReadCAPool(at.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("admin.tls.client_ca_file: %w", err)
		}
		tc.ClientCAs = pool
		// A certificate, when sent, must verify; but probes and scrapers
		// without one still reach /healthz, /readyz and /metrics. Only
		// document registration looks at the certificate.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return &adminTLS{config: tc, files: files, reload: cfg.TLS.ReloadInterval}, nil
}

// run reloads the certificate every tls.reload_interval and on hup, until
// ctx is done.
func (a *adminTLS) run(ctx context.Context, hup <-chan os.Signal) {
	a.files.Watch(ctx, a.reload, hup)
}

// fanOut copies every signal from in to n channels, until ctx is done, so
// that several certificate sources reload on one SIGHUP. A nil in gives nil
// channels.
func fanOut(ctx context.Context, in <-chan os.Signal, n int) []<-chan os.Signal {
	outs := make([]<-chan os.Signal, n)
	if in == nil {
		return outs
	}
	chans := make([]chan os.Signal, n)
	for i := range chans {
		chans[i] = make(chan os.Signal, 1)
		outs[i] = chans[i]
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-in:
				for _, c := range chans {
					select {
					case c <- sig:
					default: // a reload is already pending there
					}
				}
			}
		}
	}()
	return outs
}
