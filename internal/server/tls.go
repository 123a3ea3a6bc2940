package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
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

// certificate holds the serving certificate behind an atomic pointer, so it
// can be replaced while handshakes run.
type certificate struct {
	cur atomic.Pointer[tls.Certificate]
}

func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// loadCertificate reads a PEM certificate chain and key and refuses a pair
// that does not match or whose leaf is not valid at now.
func loadCertificate(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls.cert_file/key_file: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("tls.cert_file: %w", err)
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("tls.cert_file: the certificate expired on %s; renew it", leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("tls.cert_file: the certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	cert.Leaf = leaf
	return &cert, nil
}

// serverTLSConfig returns the HTTPS listener's TLS settings: TLS 1.2 or 1.3
// minimum, AEAD suites only, HTTP/2 and HTTP/1.1 by ALPN.
func serverTLSConfig(cfg config.TLS, cert *certificate) (*tls.Config, error) {
	if cfg.CertFile == "" {
		return nil, errors.New("tls.cert_file and tls.key_file are required: GraphQL is served over HTTPS only (try `gqlguard demo` for a development certificate)")
	}
	c, err := loadCertificate(cfg.CertFile, cfg.KeyFile, time.Now())
	if err != nil {
		return nil, err
	}
	cert.cur.Store(c)
	minVersion := uint16(tls.VersionTLS12)
	if cfg.MinVersion == "1.3" {
		minVersion = tls.VersionTLS13
	}
	return &tls.Config{
		MinVersion:     minVersion,
		CipherSuites:   aeadSuites,
		GetCertificate: cert.get,
		NextProtos:     []string{"h2", "http/1.1"},
	}, nil
}
