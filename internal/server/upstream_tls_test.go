package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/proxy"
)

// pkiCert is a certificate authority made for one test, with its key.
type pkiCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newPKIRoot(t *testing.T, name string) *pkiCert {
	t.Helper()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	return signPKICert(t, tmpl, nil)
}

// signPKICert signs tmpl with ca's key, or self-signs it when ca is nil.
func signPKICert(t *testing.T, tmpl *x509.Certificate, ca *pkiCert) *pkiCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &pkiCert{cert: cert, key: key}
}

// upstreamLeafTemplate is a server certificate for the loopback upstream, valid now.
func upstreamLeafTemplate() *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: "upstream"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

func (p *pkiCert) tlsCertificate(chain ...*pkiCert) tls.Certificate {
	c := tls.Certificate{Certificate: [][]byte{p.cert.Raw}, PrivateKey: p.key, Leaf: p.cert}
	for _, ca := range chain {
		c.Certificate = append(c.Certificate, ca.cert.Raw)
	}
	return c
}

// writeFiles writes the certificate and its key as PEM and returns their
// paths.
func (p *pkiCert) writeFiles(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(p.key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// startTLSUpstream serves a recording GraphQL upstream over TLS with
// serverTLS.
func startTLSUpstream(t *testing.T, serverTLS *tls.Config) (*recordingUpstream, *httptest.Server) {
	t.Helper()
	up := &recordingUpstream{}
	ts := httptest.NewUnstartedServer(up)
	ts.TLS = serverTLS
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes the gateway refuses
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return up, ts
}

func TestUpstreamTLSVerification(t *testing.T) {
	ca := newPKIRoot(t, "gqlguard test upstream CA")
	caFile, _ := ca.writeFiles(t)
	valid := signPKICert(t, upstreamLeafTemplate(), ca)
	expiredTmpl := upstreamLeafTemplate()
	expiredTmpl.NotBefore, expiredTmpl.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	expired := signPKICert(t, expiredTmpl, ca)
	otherHostTmpl := upstreamLeafTemplate()
	otherHostTmpl.DNSNames, otherHostTmpl.IPAddresses = []string{"other.example"}, nil
	otherHost := signPKICert(t, otherHostTmpl, ca)
	stranger := newPKIRoot(t, "unknown CA")
	unknown := signPKICert(t, upstreamLeafTemplate(), stranger)

	tests := []struct {
		name   string
		leaf   *pkiCert
		pins   []string
		reason string // empty: the upstream answers
	}{
		{"a certificate from the configured CA is accepted", valid, nil, ""},
		{"an expired certificate is refused", expired, nil, "certificate expired or not yet valid"},
		{"a certificate for another host is refused", otherHost, nil, "certificate name mismatch"},
		{"a certificate from an unknown CA is refused", unknown, nil, "unknown certificate authority"},
		{"the leaf's pinned key is accepted", valid, []string{proxy.SPKIPin(stranger.cert), proxy.SPKIPin(valid.cert)}, ""},
		{"the CA's pinned key is accepted", valid, []string{proxy.SPKIPin(ca.cert)}, ""},
		{"a chain without a pinned key is refused", valid, []string{proxy.SPKIPin(stranger.cert)}, "pinned key mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := startTLSUpstream(t, &tls.Config{Certificates: []tls.Certificate{tt.leaf.tlsCertificate()}})
			cfg, gwCA := testConfig(t, ts.URL+"/graphql")
			cfg.Upstream.TLS.CAFile = caFile
			cfg.Upstream.TLS.Pins = tt.pins
			g := startGateway(t, cfg, gwCA)
			res := g.post(t, `{"query":"{ hello }"}`)
			body := readBody(t, res)
			if tt.reason == "" {
				if res.StatusCode != http.StatusOK || !strings.Contains(body, `"echo":"{ hello }"`) {
					t.Fatalf("got %d %s\nlog:\n%s", res.StatusCode, body, g.logs)
				}
				return
			}
			assertUpstreamRefused(t, g, res, body, ts.URL, tt.reason)
			if tt.reason == "pinned key mismatch" && !strings.Contains(g.logs.String(), proxy.SPKIPin(valid.cert)) {
				t.Errorf("log does not list the chain's actual pins:\n%s", g.logs)
			}
		})
	}
}

func TestUpstreamMTLS(t *testing.T) {
	ca := newPKIRoot(t, "gqlguard test upstream CA")
	caFile, _ := ca.writeFiles(t)
	leaf := signPKICert(t, upstreamLeafTemplate(), ca)
	clientCA := newPKIRoot(t, "gqlguard test client CA")
	client := signPKICert(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "gqlguard gateway", Organization: []string{"gqlguard tests"}},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, clientCA)
	certFile, keyFile := client.writeFiles(t)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(clientCA.cert)
	serverTLS := func() *tls.Config {
		return &tls.Config{
			Certificates: []tls.Certificate{leaf.tlsCertificate()},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    clientCAs,
		}
	}

	t.Run("the gateway's client certificate is accepted", func(t *testing.T) {
		up, ts := startTLSUpstream(t, serverTLS())
		cfg, gwCA := testConfig(t, ts.URL+"/graphql")
		cfg.Upstream.TLS = config.UpstreamTLS{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}
		g := startGateway(t, cfg, gwCA)
		res := g.post(t, `{"query":"{ hello }"}`)
		if body := readBody(t, res); res.StatusCode != http.StatusOK || !strings.Contains(body, `"echo":"{ hello }"`) {
			t.Fatalf("got %d %s\nlog:\n%s", res.StatusCode, body, g.logs)
		}
		req, _ := up.last(t)
		if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
			t.Fatal("the upstream saw no client certificate")
		}
		if got, want := req.TLS.PeerCertificates[0].Subject.String(), client.cert.Subject.String(); got != want {
			t.Errorf("the upstream saw client %q, want %q", got, want)
		}
	})
	t.Run("without a client certificate the upstream refuses", func(t *testing.T) {
		up, ts := startTLSUpstream(t, serverTLS())
		cfg, gwCA := testConfig(t, ts.URL+"/graphql")
		cfg.Upstream.TLS = config.UpstreamTLS{CAFile: caFile}
		g := startGateway(t, cfg, gwCA)
		res := g.post(t, `{"query":"{ hello }"}`)
		// Under TLS 1.3 the upstream refuses after the gateway's handshake
		// is done: the gateway reads its alert or finds the connection
		// closed, depending on timing.
		assertUpstreamRefused(t, g, res, readBody(t, res), ts.URL, "tls handshake failed", "connection closed")
		if n := up.count(); n != 0 {
			t.Errorf("the upstream served %d requests to a gateway without a client certificate", n)
		}
	})
}

func TestUpstreamTLSFilesAreCheckedAtStartup(t *testing.T) {
	cfg, _ := testConfig(t, "https://127.0.0.1:1/graphql")
	cfg.Upstream.TLS.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "upstream.tls.ca_file") {
		t.Errorf("missing upstream CA file: %v", err)
	}
}

// assertUpstreamRefused checks a refused upstream request: 502
// UPSTREAM_UNAVAILABLE whose body reveals neither the upstream nor the TLS
// failure, and exactly one log line giving one of reasons for this request
// id.
func assertUpstreamRefused(t *testing.T, g *gateway, res *http.Response, body, upstreamURL string, reasons ...string) {
	t.Helper()
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(body, "UPSTREAM_UNAVAILABLE") {
		t.Fatalf("got %d %s, want 502 UPSTREAM_UNAVAILABLE\nlog:\n%s", res.StatusCode, body, g.logs)
	}
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(upstreamURL, "https://"))
	for _, leak := range []string{host, port, "x509", "certificate", "tls"} {
		if strings.Contains(strings.ToLower(body), leak) {
			t.Errorf("502 body reveals %q: %s", leak, body)
		}
	}
	var lines []map[string]any
	for l := range strings.SplitSeq(g.logs.String(), "\n") {
		if !strings.Contains(l, `"msg":"upstream request failed"`) {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if len(lines) != 1 {
		t.Fatalf("%d upstream failure lines, want 1:\n%s", len(lines), g.logs)
	}
	reason, _ := lines[0]["reason"].(string)
	if !slices.Contains(reasons, reason) || lines[0]["request_id"] != res.Header.Get("X-Request-Id") || lines[0]["error"] == "" {
		t.Errorf("log line %v, want reason %q for request %q", lines[0], reasons, res.Header.Get("X-Request-Id"))
	}
}
