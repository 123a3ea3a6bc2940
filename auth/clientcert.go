package auth

import (
	"crypto/x509"
	"net/http"

	"github.com/gqlguard/gqlguard/envelope"
)

// ClientCertificate attaches the principal proved by a verified client
// certificate, when the TLS handshake verified one, and calls next. Only a
// certificate that chained to the configured client CA counts: an
// unverified one (possible with optional client auth) identifies nobody.
func ClientCertificate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
			p := CertificatePrincipal(r.TLS.VerifiedChains[0][0])
			r = envelope.AttachPrincipal(r, p)
		}
		next.ServeHTTP(w, r)
	})
}

// CertificatePrincipal describes the holder of a verified certificate.
func CertificatePrincipal(c *x509.Certificate) *envelope.Principal {
	p := &envelope.Principal{Method: "mtls", Subject: c.Subject.String()}
	for _, n := range c.DNSNames {
		p.Names = append(p.Names, "DNS:"+n)
	}
	for _, u := range c.URIs {
		p.Names = append(p.Names, "URI:"+u.String())
	}
	for _, e := range c.EmailAddresses {
		p.Names = append(p.Names, "email:"+e)
	}
	for _, ip := range c.IPAddresses {
		p.Names = append(p.Names, "IP:"+ip.String())
	}
	return p
}
