// Package x509sign signs certificates: the one place where the project
// makes a certificate's key and serial number and calls
// x509.CreateCertificate, for the development CA (internal/certs), tests
// (internal/testutil/testcert) and tools. It imports nothing of the project,
// so every package can use it.
package x509sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"math/big"
)

// Sign signs tmpl for key with parent and parentKey, or self-signs it when
// parent is nil, and returns the certificate and its key. What tmpl leaves
// zero is filled in, and tmpl changed in place: the key (a new P-256 key when
// key is nil) and a random positive 128-bit serial number, which keeps
// certificates of one CA apart without a record of the serials used.
func Sign(tmpl, parent *x509.Certificate, parentKey, key crypto.Signer) (*x509.Certificate, crypto.Signer, error) {
	var err error
	if key == nil {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, nil, fmt.Errorf("generate key: %w", err)
		}
	}
	if tmpl.SerialNumber == nil {
		if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128)); err != nil {
			return nil, nil, fmt.Errorf("generate serial number: %w", err)
		}
		tmpl.SerialNumber.Add(tmpl.SerialNumber, big.NewInt(1)) // serials must be positive
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse new certificate: %w", err)
	}
	return cert, key, nil
}
