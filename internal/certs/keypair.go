package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gqlguard/gqlguard/internal/atomicfile"
)

// errUnusable marks files that exist but cannot serve and may be replaced.
var errUnusable = errors.New("unusable")

// keyPair is a certificate and its private key.
type keyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// loadCA reads a CA and checks that it can still sign a server certificate
// for its full lifetime.
func loadCA(certPath, keyPath string, now time.Time) (*keyPair, error) {
	ca, err := loadKeyPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	c := ca.cert
	switch {
	case !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, fmt.Errorf("certs: %s: %w: not a CA certificate", certPath, errUnusable)
	case now.Before(c.NotBefore) || now.Add(serverValidity).After(c.NotAfter):
		return nil, fmt.Errorf("certs: %s: %w: valid only from %v to %v", certPath, errUnusable, c.NotBefore, c.NotAfter)
	}
	return ca, nil
}

// loadServerCert reads a server certificate and checks that it chains to
// ca, covers every host and stays valid for minRemaining after now.
func loadServerCert(certPath, keyPath string, ca *keyPair, hosts []string, now time.Time) (*keyPair, error) {
	server, err := loadKeyPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	opts := x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if _, err := server.cert.Verify(opts); err != nil {
		return nil, fmt.Errorf("certs: %s: %w: %w", certPath, errUnusable, err)
	}
	for _, h := range hosts {
		if err := server.cert.VerifyHostname(h); err != nil {
			return nil, fmt.Errorf("certs: %s: %w: %w", certPath, errUnusable, err)
		}
	}
	if now.Add(minRemaining).After(server.cert.NotAfter) {
		return nil, fmt.Errorf("certs: %s: %w: expires %v", certPath, errUnusable, server.cert.NotAfter)
	}
	return server, nil
}

// loadKeyPair reads a PEM certificate (the first block of certPath) and a
// PEM PKCS #8 private key, and checks that they belong together.
func loadKeyPair(certPath, keyPath string) (*keyPair, error) {
	certDER, err := readPEM(certPath, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	keyDER, err := readPEM(keyPath, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w: %w", certPath, errUnusable, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w: %w", keyPath, errUnusable, err)
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("certs: %s: %w: %T cannot sign", keyPath, errUnusable, parsed)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("certs: %s: %w: the key does not match %s", keyPath, errUnusable, certPath)
	}
	return &keyPair{cert: cert, key: key}, nil
}

// readPEM returns the bytes of the first PEM block in path, which must be of
// type blockType.
func readPEM(path, blockType string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != blockType {
		return nil, fmt.Errorf("certs: %s: %w: no PEM %s block", path, errUnusable, blockType)
	}
	return block.Bytes, nil
}

// save writes the key (mode 0600: whoever reads it can impersonate the
// server, or for a CA, any server that trusts it) and then the certificate.
func (kp *keyPair) save(certPath, keyPath string) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(kp.key)
	if err != nil {
		return fmt.Errorf("certs: encode key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.cert.Raw})
	if err := atomicfile.Write(certPath, certPEM, 0o644); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}
