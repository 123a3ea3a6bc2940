package proxy

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/gqlguard/gqlguard/internal/capool"
	"github.com/gqlguard/gqlguard/internal/config"
)

// ClientTLSConfig returns the TLS configuration the gateway uses as a client
// of an https upstream: TLS 1.2 or later; the upstream verified against the
// roots in cfg.CAFile, or the system roots when it is empty; the name checked
// being cfg.ServerName, or the upstream URL's host when it is empty; the
// client certificate in cfg.CertFile and cfg.KeyFile, if set, offered for
// mTLS; and, when cfg.Pins is set, a verified chain required to hold one of
// the pinned public keys. Certificate verification cannot be turned off:
// pinning is checked in addition to it, never instead of it.
func ClientTLSConfig(cfg config.UpstreamTLS) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if cfg.CAFile != "" {
		roots, err := capool.Read(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("upstream.tls.ca_file: %w", err)
		}
		c.RootCAs = roots
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("upstream.tls.cert_file/key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	if len(cfg.Pins) > 0 {
		pins := make(pinSet, 0, len(cfg.Pins))
		for i, p := range cfg.Pins {
			h, err := config.ParsePin(p)
			if err != nil {
				return nil, fmt.Errorf("upstream.tls.pins[%d]: %w", i, err)
			}
			pins = append(pins, [sha256.Size]byte(h))
		}
		c.VerifyConnection = pins.verify
	}
	return c, nil
}

// PinError reports that the upstream's verified certificate chain holds none
// of the public keys in upstream.tls.pins.
type PinError struct {
	// Chain holds the pins of the keys the upstream's verified chains do
	// hold, leaf first, in the form upstream.tls.pins takes.
	Chain []string
}

func (e *PinError) Error() string {
	if len(e.Chain) == 0 {
		return "upstream certificate: no pinned key matched (no verified chain)"
	}
	return "upstream certificate: no pinned key matched; the chain's pins are " + strings.Join(e.Chain, ", ")
}

// SPKIPin returns the pin of cert's public key in the form upstream.tls.pins
// takes: "sha256/" and the standard base64 of the SHA-256 of its DER
// SubjectPublicKeyInfo.
func SPKIPin(cert *x509.Certificate) string {
	h := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(h[:])
}

// pinSet holds the SHA-256 hashes of the accepted SubjectPublicKeyInfos.
type pinSet [][sha256.Size]byte

// verify runs after crypto/tls has verified the chain and the name (and on
// resumed sessions, whose chains were verified when they were made). Pinning
// guards against a certificate that a trusted but compromised or careless CA
// issued for the upstream's name: only chains through a pinned key pass.
func (pins pinSet) verify(cs tls.ConnectionState) error {
	for _, chain := range cs.VerifiedChains {
		for _, cert := range chain {
			if slices.Contains(pins, sha256.Sum256(cert.RawSubjectPublicKeyInfo)) {
				return nil
			}
		}
	}
	e := &PinError{}
	for _, chain := range cs.VerifiedChains {
		for _, cert := range chain {
			if pin := SPKIPin(cert); !slices.Contains(e.Chain, pin) {
				e.Chain = append(e.Chain, pin)
			}
		}
	}
	return e
}
