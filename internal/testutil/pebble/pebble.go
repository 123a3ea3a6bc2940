// Package pebble runs Pebble, the test ACME CA of Let's Encrypt, for
// integration tests: it builds Pebble and pebble-challtestsrv from the Go
// module proxy once, caches them under the user's cache directory, and
// starts them for one test, with a DNS server that answers 127.0.0.1 for
// every name, so that Pebble validates challenges against the test's own
// listeners.
//
// When the binaries cannot be built (no go command, no module proxy), the
// test is skipped, or failed when GQLGUARD_REQUIRE_SERVICES=1. The package
// is for tests only.
package pebble

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

// DefaultCertLifetime is the lifetime of issued certificates when
// Options.CertLifetime is zero: 90 days, like Let's Encrypt's.
const DefaultCertLifetime = 90 * 24 * time.Hour

// Options configures a Pebble started with Start.
type Options struct {
	// HTTPPort is the port Pebble connects to on 127.0.0.1 for HTTP-01
	// validation.
	HTTPPort int
	// TLSPort is the port Pebble connects to on 127.0.0.1 for TLS-ALPN-01
	// validation.
	TLSPort int
	// CertLifetime is the validity period of issued certificates, in whole
	// seconds; zero means DefaultCertLifetime.
	CertLifetime time.Duration
	// OCSP makes issued certificates name an OCSP responder, run by the
	// package, that answers every request "good" for an hour. Without it
	// they name none.
	OCSP bool
}

// Server is one Pebble. Its HTTPS listeners (the ACME directory and the
// management interface) use a certificate for 127.0.0.1 from a CA of its
// own, in CARootFile; the certificates it issues chain to Roots.
type Server struct {
	// DirectoryURL is the ACME directory URL.
	DirectoryURL string
	// CARootFile holds the PEM certificate of the CA of Pebble's own HTTPS
	// listeners, for an ACME client to trust.
	CARootFile string

	bin     string
	dnsBin  string
	dir     string
	mgmt    string
	tlsCert string
	tlsKey  string
	out     *logbuf.Buffer
	roots   *x509.CertPool
	started bool

	mu     sync.Mutex
	issuer *issuer
}

// Start is New followed by Server.Start.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := New(t)
	s.Start(t, opts)
	return s
}

// New finds or builds the binaries, reserves Pebble's addresses and writes
// the certificate of its HTTPS listeners, but starts nothing: DirectoryURL
// and CARootFile are valid from here, so an ACME client can be configured
// before the ports Pebble is to validate against are known.
func New(t testing.TB) *Server {
	t.Helper()
	bin, dnsBin := binaries(t)
	dir := t.TempDir()
	s := &Server{
		bin:    bin,
		dnsBin: dnsBin,
		dir:    dir,
		out:    &logbuf.Buffer{},
	}
	s.DirectoryURL = "https://" + freeAddr(t) + "/dir"
	s.mgmt = "https://" + freeAddr(t)
	s.CARootFile, s.tlsCert, s.tlsKey = writeListenerCert(t, dir)
	return s
}

// Start runs pebble-challtestsrv and Pebble with opts, waits until Pebble
// serves its directory and fetches its root. Both are stopped when the test
// ends; their output is logged if it failed.
func (s *Server) Start(t testing.TB, opts Options) {
	t.Helper()
	if s.started {
		t.Fatal("pebble: Start called twice")
	}
	s.started = true
	lifetime := opts.CertLifetime
	if lifetime == 0 {
		lifetime = DefaultCertLifetime
	}
	ocspURL := ""
	if opts.OCSP {
		responder := httptest.NewServer(s.ocspResponder())
		t.Cleanup(responder.Close)
		ocspURL = responder.URL
	}
	dns := startDNS(t, s.dnsBin)

	var conf struct {
		Pebble map[string]any `json:"pebble"`
	}
	conf.Pebble = map[string]any{
		"listenAddress":           strings.TrimSuffix(strings.TrimPrefix(s.DirectoryURL, "https://"), "/dir"),
		"managementListenAddress": strings.TrimPrefix(s.mgmt, "https://"),
		"certificate":             s.tlsCert,
		"privateKey":              s.tlsKey,
		"httpPort":                opts.HTTPPort,
		"tlsPort":                 opts.TLSPort,
		"ocspResponderURL":        ocspURL,
		// RSA: Pebble hands out its issuer's key, which the OCSP
		// responder signs with, only for RSA.
		"keyAlgorithm": "rsa",
		"retryAfter":   map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]any{
			"default": map[string]any{"description": "test", "validityPeriod": int64(lifetime / time.Second)},
		},
	}
	data, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(s.dir, "pebble.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "-config", file, "-dnsserver", dns)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	cmd.Stdout, cmd.Stderr = s.out, s.out
	exited := runService(t, cmd, s.out)

	client := s.client()
	waitFor(t, exited, s.out, "Pebble's directory", func() error {
		return get(client, s.DirectoryURL, nil)
	})
	var root bytes.Buffer
	if err := get(client, s.mgmt+"/roots/0", &root); err != nil {
		t.Fatal(err)
	}
	s.roots = x509.NewCertPool()
	if !s.roots.AppendCertsFromPEM(root.Bytes()) {
		t.Fatalf("Pebble's root is not PEM: %q", root.String())
	}
}

// Roots returns the root that the certificates Pebble issues chain to. It
// is nil before Start.
func (s *Server) Roots() *x509.CertPool {
	return s.roots
}

// IssuedCount returns how many certificates Pebble has issued.
func (s *Server) IssuedCount() int {
	return strings.Count(s.out.String(), "Issued certificate serial")
}

// Output returns what Pebble has written to its standard output and error
// so far.
func (s *Server) Output() string {
	return s.out.String()
}
