package server

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/proxy"
)

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
	ca := newTestCA(t, "gqlguard test upstream CA")
	valid, validLeaf, _, _ := ca.pair(t, leafOpts{cn: "upstream"})
	expired, _, _, _ := ca.pair(t, leafOpts{cn: "expired", notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	otherHost, _, _, _ := ca.pair(t, leafOpts{cn: "other", hosts: []string{"other.example"}})
	stranger := newTestCA(t, "unknown CA")
	unknown, _, _, _ := stranger.pair(t, leafOpts{cn: "unknown"})

	tests := []struct {
		name   string
		leaf   tls.Certificate
		pins   []string
		reason string // empty: the upstream answers
	}{
		{"a certificate from the configured CA is accepted", valid, nil, ""},
		{"an expired certificate is refused", expired, nil, "certificate expired or not yet valid"},
		{"a certificate for another host is refused", otherHost, nil, "certificate name mismatch"},
		{"a certificate from an unknown CA is refused", unknown, nil, "unknown certificate authority"},
		{"the leaf's pinned key is accepted", valid, []string{proxy.SPKIPin(stranger.cert), proxy.SPKIPin(validLeaf)}, ""},
		{"the CA's pinned key is accepted", valid, []string{proxy.SPKIPin(ca.cert)}, ""},
		{"a chain without a pinned key is refused", valid, []string{proxy.SPKIPin(stranger.cert)}, "pinned key mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := startTLSUpstream(t, &tls.Config{Certificates: []tls.Certificate{tt.leaf}})
			cfg, gwCA := testConfig(t, ts.URL+"/graphql")
			cfg.Upstream.TLS.CAFile = ca.caFile
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
			if tt.reason == "pinned key mismatch" && !strings.Contains(g.logs.String(), proxy.SPKIPin(validLeaf)) {
				t.Errorf("log does not list the chain's actual pins:\n%s", g.logs)
			}
		})
	}
}

func TestUpstreamMTLS(t *testing.T) {
	ca := newTestCA(t, "gqlguard test upstream CA")
	leaf, _, _, _ := ca.pair(t, leafOpts{cn: "upstream"})
	clientCA := newTestCA(t, "gqlguard test client CA")
	_, client, certFile, keyFile := clientCA.pair(t, leafOpts{cn: "gqlguard gateway", client: true})
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(clientCA.cert)
	serverTLS := func() *tls.Config {
		return &tls.Config{
			Certificates: []tls.Certificate{leaf},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    clientCAs,
		}
	}

	t.Run("the gateway's client certificate is accepted", func(t *testing.T) {
		up, ts := startTLSUpstream(t, serverTLS())
		cfg, gwCA := testConfig(t, ts.URL+"/graphql")
		cfg.Upstream.TLS = config.UpstreamTLS{CAFile: ca.caFile, CertFile: certFile, KeyFile: keyFile}
		g := startGateway(t, cfg, gwCA)
		res := g.post(t, `{"query":"{ hello }"}`)
		if body := readBody(t, res); res.StatusCode != http.StatusOK || !strings.Contains(body, `"echo":"{ hello }"`) {
			t.Fatalf("got %d %s\nlog:\n%s", res.StatusCode, body, g.logs)
		}
		req, _ := up.last(t)
		if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
			t.Fatal("the upstream saw no client certificate")
		}
		if got, want := req.TLS.PeerCertificates[0].Subject.String(), client.Subject.String(); got != want {
			t.Errorf("the upstream saw client %q, want %q", got, want)
		}
	})
	t.Run("without a client certificate the upstream refuses", func(t *testing.T) {
		up, ts := startTLSUpstream(t, serverTLS())
		cfg, gwCA := testConfig(t, ts.URL+"/graphql")
		cfg.Upstream.TLS = config.UpstreamTLS{CAFile: ca.caFile}
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
