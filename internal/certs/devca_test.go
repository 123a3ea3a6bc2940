package certs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var testNow = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

func ensure(t *testing.T, dir string, hosts []string, now time.Time) *DevCA {
	t.Helper()
	d, err := EnsureDevCA(dir, hosts, now)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("%s does not hold exactly one PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEnsureDevCAFirstRunCreatesTheCAAndServerCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "gqlguard")
	d := ensure(t, dir, DefaultHosts(), testNow)

	if !d.CACreated || !d.CertIssued {
		t.Errorf("CACreated = %v, CertIssued = %v, want both true", d.CACreated, d.CertIssued)
	}
	for _, path := range []string{d.CAFile, d.CertFile} {
		if !filepath.IsAbs(path) {
			t.Errorf("%s is not absolute", path)
		}
	}
	for path, wantMode := range map[string]os.FileMode{dir: 0o700, d.CAKeyFile: 0o600, d.KeyFile: 0o600} {
		if !filepath.IsAbs(path) {
			t.Errorf("%s is not absolute", path)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != wantMode {
			t.Errorf("%s has mode %v, want %v", path, mode, wantMode)
		}
	}

	ca := readCert(t, d.CAFile)
	if ca.Subject.CommonName != "gqlguard development CA" || !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA certificate: CN %q, IsCA %v, KeyUsage %v", ca.Subject.CommonName, ca.IsCA, ca.KeyUsage)
	}
	if want := testNow.AddDate(10, 0, 0); !ca.NotAfter.Equal(want) {
		t.Errorf("CA expires %v, want %v", ca.NotAfter, want)
	}
	if got := fingerprint(ca.Raw); d.CAFingerprint != got || len(got) != 95 {
		t.Errorf("CAFingerprint = %q, want %q", d.CAFingerprint, got)
	}

	server := readCert(t, d.CertFile)
	if days := server.NotAfter.Sub(server.NotBefore).Hours() / 24; days > 398 || days < 365 {
		t.Errorf("server certificate is valid for %.1f days, want about a year and at most 398", days)
	}
	if !d.NotAfter.Equal(server.NotAfter) {
		t.Errorf("NotAfter = %v, want %v", d.NotAfter, server.NotAfter)
	}
	if !slices.Equal(server.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ExtKeyUsage = %v, want server auth", server.ExtKeyUsage)
	}
	if !slices.Equal(server.DNSNames, []string{"localhost"}) || len(server.IPAddresses) != 2 {
		t.Errorf("SANs = %v %v, want localhost, 127.0.0.1 and ::1", server.DNSNames, server.IPAddresses)
	}
	for _, c := range []*x509.Certificate{ca, server} {
		if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
			t.Errorf("%s: key is %T, want ECDSA P-256", c.Subject.CommonName, c.PublicKey)
		}
		if n := c.SerialNumber; n.Sign() <= 0 || n.BitLen() > 129 || n.BitLen() < 64 {
			t.Errorf("%s: serial %v is not a positive random 128-bit number", c.Subject.CommonName, n)
		}
	}
}

func TestDevCAServerCertificateIsTrustedByClientsOfTheCA(t *testing.T) {
	d := ensure(t, t.TempDir(), DefaultHosts(), time.Now())
	cert, err := tls.LoadX509KeyPair(d.CertFile, d.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()

	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(readFile(t, d.CAFile)) {
		t.Fatal("ca.pem holds no certificate")
	}
	// Every name is dialled at the test server, so the handshake alone
	// decides whether the certificate is accepted for that name.
	var dialer net.Dialer
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, srv.Listener.Addr().String())
		},
	}}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	tests := []struct {
		host    string
		trusted bool
	}{
		{"127.0.0.1", true},
		{"localhost", true},
		{"[::1]", true},
		{"example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			res, err := client.Get("https://" + tt.host + ":" + port + "/")
			if err == nil {
				res.Body.Close()
			}
			if trusted := err == nil; trusted != tt.trusted {
				t.Errorf("trusted = %v (err %v), want %v", trusted, err, tt.trusted)
			}
		})
	}
}

func TestEnsureDevCASecondRunReusesTheFiles(t *testing.T) {
	dir := t.TempDir()
	first := ensure(t, dir, DefaultHosts(), testNow)
	before := snapshot(t, first)

	second := ensure(t, dir, DefaultHosts(), testNow.Add(24*time.Hour))
	if second.CACreated || second.CertIssued {
		t.Errorf("CACreated = %v, CertIssued = %v, want both false", second.CACreated, second.CertIssued)
	}
	if second.CAFingerprint != first.CAFingerprint || !second.NotAfter.Equal(first.NotAfter) {
		t.Errorf("second run reports CA %s until %v, want %s until %v",
			second.CAFingerprint, second.NotAfter, first.CAFingerprint, first.NotAfter)
	}
	if after := snapshot(t, second); !maps.Equal(before, after) {
		t.Error("second run changed the files")
	}
}

// snapshot returns the content and modification time of each file of d.
func snapshot(t *testing.T, d *DevCA) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, path := range []string{d.CAFile, d.CAKeyFile, d.CertFile, d.KeyFile} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		out[path] = string(readFile(t, path)) + info.ModTime().String()
	}
	return out
}
