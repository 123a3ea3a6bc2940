// Package testcert makes certificates for tests: CAs, leaves, their PEM
// files.
package testcert

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/atomicfile"
	"github.com/gqlguard/gqlguard/internal/x509sign"
)

// Issue signs tmpl for key with parent and parentKey, or self-signs it when
// parent is nil, and returns the certificate and its key. What tmpl leaves
// zero is filled in: a random serial number, a validity from an hour ago to
// a day ahead, and the key (a new P-256 key when key is nil). tmpl is
// changed in place.
func Issue(t testing.TB, tmpl, parent *x509.Certificate, parentKey, key crypto.Signer) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	now := time.Now()
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(24 * time.Hour)
	}
	cert, key, err := x509sign.Sign(tmpl, parent, parentKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// CA makes a self-signed certificate authority named name.
func CA(t testing.TB, name string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	return Issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, nil, nil)
}

// CertBlock is the PEM block of cert.
func CertBlock(cert *x509.Certificate) *pem.Block {
	return &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}
}

// KeyBlock is the PKCS #8 PEM block of key.
func KeyBlock(t testing.TB, key crypto.Signer) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

// WritePEM writes blocks to path, readable by its owner only, atomically:
// a server reloading the file never reads half of it.
func WritePEM(t testing.TB, path string, blocks ...*pem.Block) {
	t.Helper()
	var data []byte
	for _, b := range blocks {
		data = append(data, pem.EncodeToMemory(b)...)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
