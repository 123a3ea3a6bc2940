package pebble

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"path/filepath"
	"testing"

	"github.com/gqlguard/gqlguard/internal/testutil/testcert"
)

// writeListenerCert makes a CA and, signed by it, a certificate for
// 127.0.0.1 and localhost for Pebble's HTTPS listeners, and writes them to
// dir: the CA, the certificate with its chain, and its key.
func writeListenerCert(t testing.TB, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	ca, caKey := testcert.CA(t, "gqlguard test Pebble listener CA")
	leaf, key := testcert.Issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}, ca, caKey, nil)

	caFile = filepath.Join(dir, "listener-ca.pem")
	certFile = filepath.Join(dir, "listener-cert.pem")
	keyFile = filepath.Join(dir, "listener-key.pem")
	testcert.WritePEM(t, caFile, testcert.CertBlock(ca))
	testcert.WritePEM(t, certFile, testcert.CertBlock(leaf), testcert.CertBlock(ca))
	testcert.WritePEM(t, keyFile, testcert.KeyBlock(t, key))
	return caFile, certFile, keyFile
}
