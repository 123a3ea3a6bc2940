package server

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/atomicfile"
	"github.com/gqlguard/gqlguard/internal/testutil/testcert"
)

// testCA issues certificates for tests.
type testCA struct {
	cert   *x509.Certificate
	key    crypto.Signer
	caFile string
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	cert, key := testcert.CA(t, name)
	ca := &testCA{cert: cert, key: key, caFile: filepath.Join(t.TempDir(), "ca.pem")}
	testcert.WritePEM(t, ca.caFile, testcert.CertBlock(cert))
	return ca
}

type leafOpts struct {
	cn        string
	rsa       bool
	client    bool
	notBefore time.Time
	notAfter  time.Time
	hosts     []string // a server certificate's names; default localhost, 127.0.0.1, ::1
	uris      []string
	ocsp      string // responder URL; the chain then includes the CA
}

// issue writes a leaf certificate and key and returns their paths and the
// certificate's serial number.
func (ca *testCA) issue(t testing.TB, dir string, o leafOpts) (certFile, keyFile string, serial *big.Int) {
	t.Helper()
	var key crypto.Signer // P-256 unless RSA
	if o.rsa {
		key, _ = rsa.GenerateKey(rand.Reader, 2048)
	}
	if o.cn == "" {
		o.cn = "localhost"
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(time.Hour)
	}
	if o.notBefore.IsZero() {
		o.notBefore = time.Now().Add(-time.Minute)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: o.cn, Organization: []string{"gqlguard tests"}},
		NotBefore:   o.notBefore,
		NotAfter:    o.notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if o.client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames = []string{o.cn}
	} else {
		if o.hosts == nil {
			o.hosts = []string{"localhost", "127.0.0.1", "::1"}
		}
		for _, h := range o.hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	if o.ocsp != "" {
		tmpl.OCSPServer = []string{o.ocsp}
	}
	for _, u := range o.uris {
		pu, _ := url.Parse(u)
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	cert, key := testcert.Issue(t, tmpl, ca.cert, ca.key, key)
	certFile, keyFile = filepath.Join(dir, o.cn+"-cert.pem"), filepath.Join(dir, o.cn+"-key.pem")
	chain := []*pem.Block{testcert.CertBlock(cert)}
	if o.ocsp != "" {
		chain = append(chain, testcert.CertBlock(ca.cert))
	}
	testcert.WritePEM(t, certFile, chain...)
	testcert.WritePEM(t, keyFile, testcert.KeyBlock(t, key))
	return certFile, keyFile, cert.SerialNumber
}

// pair issues a leaf as issue does and loads it back: its TLS certificate,
// its parsed leaf, and its files.
func (ca *testCA) pair(t testing.TB, o leafOpts) (tls.Certificate, *x509.Certificate, string, string) {
	t.Helper()
	certFile, keyFile, _ := ca.issue(t, t.TempDir(), o)
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return c, c.Leaf, certFile, keyFile
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
