package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/gqlguard/gqlguard/internal/capool"
	"github.com/gqlguard/gqlguard/internal/certs"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/telemetry"
)

// aeadSuites are the TLS 1.2 cipher suites allowed: forward-secret ECDHE with
// AEAD ciphers only. TLS 1.3 suites are all AEAD and not configurable.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tlsSetup is the HTTPS listener's TLS: its configuration and the source of
// its certificates.
type tlsSetup struct {
	config *tls.Config
	files  *certs.FileSource // certificates from files, or
	acme   *certs.ACME       // certificates from ACME
	admin  *certs.FileSource // the admin listener's, if it serves HTTPS
	// tickets holds the session ticket keys; nil with tickets off.
	tickets *ticketKeys
	cfg     config.TLS
	log     *slog.Logger

	acmeReady atomic.Pointer[error]
}

// serverTLSPolicy is the TLS policy of every listener: minVersion ("1.2"
// or "1.3") at least, AEAD suites only, HTTP/2 and HTTP/1.1 by ALPN.
func serverTLSPolicy(minVersion string) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: aeadSuites, NextProtos: []string{"h2", "http/1.1"}}
	if minVersion == "1.3" {
		c.MinVersion = tls.VersionTLS13
	}
	return c
}

// newTLSSetup loads the certificates and builds the server TLS config: TLS
// 1.2 or 1.3 minimum, AEAD suites only, HTTP/2 and HTTP/1.1 by ALPN, client
// certificates as configured, session tickets with rotating keys.
func newTLSSetup(cfg config.TLS, logger *slog.Logger) (*tlsSetup, error) {
	t := &tlsSetup{cfg: cfg, log: logger}
	t.config = serverTLSPolicy(cfg.MinVersion)
	t.config.SessionTicketsDisabled = !cfg.SessionTickets
	if cfg.SessionTickets {
		// The first key is set before anything is served: a ticket issued
		// under crypto/tls's own key would not resume once rotation
		// replaced it.
		t.tickets = &ticketKeys{tc: t.config, log: logger}
		t.tickets.rotate()
	}
	switch {
	case len(cfg.ACME.Domains) > 0:
		storage, err := certs.DefaultStateDir()
		if err != nil && cfg.ACME.Storage == "" {
			return nil, fmt.Errorf("tls.acme.storage: %w", err)
		}
		if t.acme, err = certs.NewACME(cfg.ACME, filepath.Join(storage, "acme"), logger); err != nil {
			return nil, err
		}
		// Renewals and domains obtained late are checked when they arrive;
		// the certificates Manage loads, when it returns (see manage).
		t.acme.OnCertificate = func(m certs.ManagedCert) { t.warnCert(time.Now(), acmeCertInfo(m)) }
		t.config.GetCertificate = t.acme.GetCertificate
		t.config.NextProtos = append(t.config.NextProtos, t.acme.NextProtos()...)
		notYet := errors.New("no ACME certificate obtained yet")
		t.acmeReady.Store(&notYet)
	case cfg.CertFile != "":
		pairs := append([]config.CertPair{{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}}, cfg.Certificates...)
		files, err := certs.NewFileSource(pairs, logger, nil)
		if err != nil {
			return nil, err
		}
		if cfg.OCSP.Staple {
			files.Stapler = &certs.Stapler{Logger: logger}
			files.StapleRefresh = cfg.OCSP.RefreshInterval
		}
		t.files, t.config.GetCertificate = files, files.GetCertificate
	default:
		return nil, errors.New("tls: no certificate configured: set tls.cert_file and tls.key_file, or tls.acme.domains; GraphQL is served over HTTPS only (try `gqlguard demo` for a development certificate)")
	}
	if err := clientAuth(t.config, cfg.ClientAuth); err != nil {
		return nil, err
	}
	return t, nil
}

func clientAuth(tc *tls.Config, ca config.ClientAuth) error {
	switch ca.Mode {
	case "optional":
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	case "require":
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil
	}
	pool, err := capool.Read(ca.CAFile)
	if err != nil {
		return fmt.Errorf("tls.client_auth.ca_file: %w", err)
	}
	tc.ClientCAs = pool
	return nil
}

// certInfo lists every certificate, the admin listener's too, for metrics
// and expiry warnings.
func (t *tlsSetup) certInfo() []telemetry.CertInfo {
	out := t.servedCertInfo()
	if t.admin != nil {
		out = appendFileCertInfo(out, t.admin)
	}
	return out
}

// servedCertInfo lists the certificates the GraphQL listener serves, for
// readiness.
func (t *tlsSetup) servedCertInfo() []telemetry.CertInfo {
	if t.acme != nil {
		managed := t.acme.Certificates()
		out := make([]telemetry.CertInfo, len(managed))
		for i, m := range managed {
			out[i] = acmeCertInfo(m)
		}
		return out
	}
	return appendFileCertInfo(nil, t.files)
}

func appendFileCertInfo(out []telemetry.CertInfo, files *certs.FileSource) []telemetry.CertInfo {
	for _, l := range files.Certificates() {
		out = append(out, telemetry.CertInfo{Name: l.Name, Source: "file", KeyType: l.KeyType(), File: l.CertFile,
			NotAfter: l.NotAfter(), OCSP: string(l.OCSP)})
	}
	return out
}

func acmeCertInfo(m certs.ManagedCert) telemetry.CertInfo {
	return telemetry.CertInfo{Name: m.Name, Source: "acme", KeyType: m.KeyType, NotAfter: m.NotAfter, OCSP: m.OCSPStatus}
}

// ready fails until ACME has a certificate, and when a served certificate
// has expired.
func (t *tlsSetup) ready(now time.Time) error {
	if t.acme != nil {
		if err := *t.acmeReady.Load(); err != nil {
			return err
		}
	}
	for _, c := range t.servedCertInfo() {
		if now.After(c.NotAfter) {
			return fmt.Errorf("certificate %s expired on %s", c.Name, c.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// run keeps the certificates fresh until ctx is done: file reloads (every
// reload_interval and on hup), ticket key rotation, and expiry warnings every
// warnEvery.
func (t *tlsSetup) run(ctx context.Context, hup <-chan os.Signal, warnEvery time.Duration) {
	var files []*certs.FileSource
	for _, f := range []*certs.FileSource{t.files, t.admin} {
		if f != nil {
			files = append(files, f)
		}
	}
	go certs.Watch(ctx, t.cfg.ReloadInterval, hup, files...)
	if t.tickets != nil {
		go t.tickets.rotateEvery(ctx, t.cfg.TicketKeyRotation)
	}
	t.warnExpiry(time.Now())
	tick := time.NewTicker(warnEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			t.warnExpiry(now)
		}
	}
}

// manage obtains or loads the ACME certificates; renewals then run until ctx
// is done. It needs the listeners serving, since they answer the challenges.
// The expiry warning due at startup is given here, once there are
// certificates to check: run's own check found none yet.
func (t *tlsSetup) manage(ctx context.Context) error {
	err := t.acme.Manage(ctx)
	if err != nil {
		err = fmt.Errorf("tls.acme: %w", err)
	}
	t.acmeReady.Store(&err)
	if err == nil {
		t.warnExpiry(time.Now())
	}
	return err
}

// warnExpiry logs a warning for each certificate that expires within the
// configured window.
func (t *tlsSetup) warnExpiry(now time.Time) {
	for _, c := range t.certInfo() {
		t.warnCert(now, c)
	}
}

// warnCert logs a warning when c expires within the configured window. The
// line names the key type and the file, since an ECDSA and an RSA
// certificate may share a name.
func (t *tlsSetup) warnCert(now time.Time, c telemetry.CertInfo) {
	left := c.NotAfter.Sub(now)
	if left > t.cfg.ExpiryWarning {
		return
	}
	attrs := []any{"name", c.Name, "source", c.Source, "key_type", c.KeyType}
	if c.File != "" {
		attrs = append(attrs, "file", c.File)
	}
	attrs = append(attrs, "not_after", c.NotAfter.UTC().Format(time.RFC3339), "days_left", int(left.Hours()/24))
	msg := "certificate expires soon; renew it"
	if left <= 0 {
		msg = "certificate has expired and is still served; renew it"
	}
	t.log.Warn(msg, attrs...)
}

// ticketKeys are the session ticket keys of a TLS config: a fresh one each
// rotation, and the two previous ones, which still decrypt, so resumption
// survives a rotation. A stolen key exposes at most three periods of resumed
// sessions. After the first rotate, one goroutine rotates.
type ticketKeys struct {
	tc   *tls.Config
	keys [][32]byte
	log  *slog.Logger
	// made counts the keys made, so that tests can wait for a rotation.
	made atomic.Int64
}

func (k *ticketKeys) rotate() {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		k.log.Error("session ticket key rotation failed", "error", err)
		return
	}
	k.keys = append([][32]byte{key}, k.keys...)
	if len(k.keys) > 3 {
		k.keys = k.keys[:3]
	}
	k.tc.SetSessionTicketKeys(k.keys)
	k.made.Add(1)
}

// rotateEvery rotates the keys every period until ctx is done.
func (k *ticketKeys) rotateEvery(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			k.rotate()
		}
	}
}
