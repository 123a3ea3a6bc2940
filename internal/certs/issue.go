package certs

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gqlguard/gqlguard/internal/x509sign"
)

const (
	caValidityYears = 10
	// serverValidity stays under the 398 days that browsers and Apple's
	// TLS stack accept for a server certificate, counting the hour of
	// backdating below.
	serverValidity = 397 * 24 * time.Hour
	// backdate covers clocks that run slightly behind the one that issued.
	backdate = time.Hour
)

// subjectAltNames are the hosts a server certificate covers.
type subjectAltNames struct {
	dnsNames []string
	ips      []net.IP
}

// parseHosts sorts hosts into DNS names and IP addresses.
func parseHosts(hosts []string) (subjectAltNames, error) {
	var sans subjectAltNames
	if len(hosts) == 0 {
		return sans, fmt.Errorf("certs: no hosts to issue a server certificate for")
	}
	for _, h := range hosts {
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			sans.ips = append(sans.ips, ip)
			continue
		}
		if !isDNSName(h) {
			return sans, fmt.Errorf("certs: host %q is neither an IP address nor a DNS name", h)
		}
		sans.dnsNames = append(sans.dnsNames, strings.ToLower(h))
	}
	return sans, nil
}

// isDNSName reports whether h is a host name made of letters, digits and
// hyphens.
func isDNSName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// newCA generates a self-signed CA that may sign server certificates only
// (path length zero).
func newCA(now time.Time) (*keyPair, error) {
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			CommonName:   "gqlguard development CA",
			Organization: []string{"gqlguard development"},
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(caValidityYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return create(tmpl, nil)
}

// issueServerCert signs a server certificate for sans with ca, which must
// be valid for at least serverValidity after now.
func issueServerCert(ca *keyPair, sans subjectAltNames, now time.Time) (*keyPair, error) {
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			CommonName:   "gqlguard development server",
			Organization: []string{"gqlguard development"},
		},
		NotBefore:   now.Add(-backdate),
		NotAfter:    now.Add(serverValidity), // within the CA's validity, see loadCA
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    sans.dnsNames,
		IPAddresses: sans.ips,
	}
	return create(tmpl, ca)
}

// create generates a P-256 key and a certificate for it from tmpl, signed by
// parent, or self-signed when parent is nil.
func create(tmpl *x509.Certificate, parent *keyPair) (*keyPair, error) {
	var signer *x509.Certificate
	var signerKey crypto.Signer
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	cert, key, err := x509sign.Sign(tmpl, signer, signerKey, nil)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	return &keyPair{cert: cert, key: key}, nil
}
