package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"golang.org/x/crypto/ocsp"
)

const (
	// acmeChallengePath is where HTTP-01 challenges are fetched (RFC 8555
	// §8.3).
	acmeChallengePath = "/.well-known/acme-challenge/"
	// acmeTLS1 is the ALPN protocol of TLS-ALPN-01 validation handshakes
	// (RFC 8737).
	acmeTLS1 = "acme-tls/1"
)

// errACMENotManaging is returned by GetCertificate before Manage succeeded.
var errACMENotManaging = errors.New("certs: ACME certificates are not loaded yet")

// ManagedCert describes one certificate obtained by ACME, for metrics and
// logs.
type ManagedCert struct {
	// Name is the domain the certificate is for.
	Name string
	// NotAfter is when it expires.
	NotAfter time.Time
	// KeyType is the algorithm of its key (see KeyType).
	KeyType string
	// OCSPStatus is "good" (a good response is stapled), "revoked" (the
	// responder says so; certmagic replaces the certificate), "unknown"
	// (the certificate names a responder but no good answer was had) or
	// "none" (it names no responder, so there is nothing to staple).
	OCSPStatus string
}

// GetCertificate returns the certificate for the server name of hello, for
// tls.Config.GetCertificate. When tls-alpn-01 is allowed it also answers the
// CA's validation handshakes (ALPN "acme-tls/1") with the challenge
// certificate.
func (a *ACME) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmeTLS1 {
		if !a.tlsALPN01 {
			return nil, errors.New("certs: tls-alpn-01 is not allowed (tls.acme.challenges)")
		}
		// certmagic looks for challenges it did not start in storage; only
		// the configured domains may make it read there.
		if !a.IsDomain(hello.ServerName) {
			return nil, fmt.Errorf("certs: no ACME challenge for %q", hello.ServerName)
		}
	}
	r := a.run.Load()
	if r == nil {
		return nil, errACMENotManaging
	}
	cert, err := r.base.GetCertificate(hello)
	if err != nil {
		return nil, err
	}
	return cert, nil
}

// NextProtos returns the ALPN protocols the HTTPS listener must offer beside
// its own for ACME: "acme-tls/1" when tls-alpn-01 is allowed, else none.
func (a *ACME) NextProtos() []string {
	if !a.tlsALPN01 {
		return nil
	}
	return []string{acmeTLS1}
}

// HTTPHandler answers HTTP-01 challenges under /.well-known/acme-challenge/
// and passes every other request to next. A challenge path the gateway has
// no challenge for, or asked for under a host that is not one of the
// domains, is answered 404 rather than passed on, so it is never
// redirected.
func (a *ACME) HTTPHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasPrefix(req.URL.Path, acmeChallengePath) {
			next.ServeHTTP(w, req)
			return
		}
		// certmagic looks for challenges it did not start in storage; only
		// the configured domains may make it read there.
		if r := a.run.Load(); r != nil && a.IsDomain(requestHost(req)) && r.issuer.HandleHTTPChallenge(w, req) {
			return
		}
		http.NotFound(w, req)
	})
}

// IsDomain reports whether name is one of the configured domains (any case).
func (a *ACME) IsDomain(name string) bool {
	return slices.Contains(a.domains, strings.ToLower(name))
}

// requestHost returns the host of req without its port.
func requestHost(req *http.Request) string {
	if host, _, err := net.SplitHostPort(req.Host); err == nil {
		return host
	}
	return req.Host
}

// Certificates describes the certificate served for each domain; domains
// without one yet are left out.
func (a *ACME) Certificates() []ManagedCert {
	r := a.run.Load()
	if r == nil {
		return nil
	}
	out := make([]ManagedCert, 0, len(a.domains))
	for _, d := range a.domains {
		cert, ok := newestCertificate(r.cache.AllMatchingCertificates(d))
		if !ok {
			continue
		}
		out = append(out, ManagedCert{
			Name:       d,
			NotAfter:   cert.Leaf.NotAfter,
			KeyType:    KeyType(cert.Leaf),
			OCSPStatus: acmeOCSPStatus(cert, r.isRevoked(cert)),
		})
	}
	return out
}

// newestCertificate returns the certificate of certs that expires last.
func newestCertificate(certs []certmagic.Certificate) (certmagic.Certificate, bool) {
	var newest certmagic.Certificate
	found := false
	for _, c := range certs {
		if c.Leaf == nil {
			continue
		}
		if !found || c.Leaf.NotAfter.After(newest.Leaf.NotAfter) {
			newest, found = c, true
		}
	}
	return newest, found
}

// acmeOCSPStatus reports the staple state of cert. certmagic staples only
// good responses, after checking them, and keeps the last good staple when a
// later response says revoked; revoked is known from its event.
func acmeOCSPStatus(cert certmagic.Certificate, revoked bool) string {
	if revoked {
		return "revoked"
	}
	if len(cert.OCSPStaple) > 0 {
		resp, err := ocsp.ParseResponse(cert.OCSPStaple, nil)
		switch {
		case err != nil:
			return "unknown"
		case resp.Status == ocsp.Good:
			return "good"
		case resp.Status == ocsp.Revoked:
			return "revoked"
		}
		return "unknown"
	}
	if cert.Leaf != nil && len(cert.Leaf.OCSPServer) > 0 {
		return "unknown"
	}
	return "none"
}
