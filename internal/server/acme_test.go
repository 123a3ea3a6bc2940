package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"

	"github.com/gqlguard/gqlguard/internal/certs"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/pebble"
)

// The ACME tests run the whole gateway against Pebble, the test CA of Let's
// Encrypt (see internal/testutil/pebble). Pebble resolves every test domain
// to 127.0.0.1 and validates challenges on the gateway's own listeners: the
// redirect listener for http-01, the HTTPS listener for tls-alpn-01.

// acmeReadyWithin bounds how long the gateway may take to obtain its first
// certificate from Pebble.
const acmeReadyWithin = 30 * time.Second

func TestGatewayObtainsACMECertificate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Pebble, a test ACME CA; skipped with -short")
	}
	for _, tc := range []struct{ challenge, domain string }{
		{"http-01", "gw-http.gqlguard.test"},
		{"tls-alpn-01", "gw-tlsalpn.gqlguard.test"},
	} {
		t.Run(tc.challenge, func(t *testing.T) {
			ca := pebble.New(t)
			upstream, ts := newUpstream(t)
			cfg := acmeConfig(t, ts.URL, tc.domain, ca.DirectoryURL, tc.challenge)
			cfg.TLS.ACME.CARootFile = ca.CARootFile
			// Longer than the lifetime, so that the first certificate is
			// within it as soon as it is obtained.
			cfg.TLS.ExpiryWarning = pebble.DefaultCertLifetime + 24*time.Hour
			g := startACMEGateway(t, cfg, func(httpsAddr, httpAddr string) {
				ca.Start(t, pebble.Options{HTTPPort: pebble.PortOf(t, httpAddr), TLSPort: pebble.PortOf(t, httpsAddr)})
			})

			g.waitReady(t, acmeReadyWithin)

			conn := g.dialTLS(t, tc.domain, ca.Roots())
			leaf := conn.ConnectionState().PeerCertificates[0]
			if err := leaf.VerifyHostname(tc.domain); err != nil {
				t.Errorf("served leaf: %v", err)
			}
			if !strings.HasPrefix(leaf.Issuer.CommonName, "Pebble") {
				t.Errorf("served leaf issued by %q, want Pebble's intermediate", leaf.Issuer.CommonName)
			}
			if n := ca.IssuedCount(); n != 1 {
				t.Errorf("Pebble issued %d certificates, want 1", n)
			}

			res := postOver(t, conn, tc.domain, `{"query":"{ hello }"}`)
			if body := readBody(t, res); res.StatusCode != http.StatusOK {
				t.Fatalf("GraphQL POST over the ACME certificate: %d %s", res.StatusCode, body)
			}
			if _, body := upstream.last(t); !strings.Contains(body, "hello") {
				t.Errorf("upstream got %s, want the posted query", body)
			}

			assertRedirected(t, g.http, tc.domain, g.https)

			// Warned about as soon as it is there, not a day later.
			wantWarn := `"msg":"certificate expires soon; renew it","name":"` + tc.domain + `","source":"acme","key_type":"ecdsa","not_after":"` +
				leaf.NotAfter.UTC().Format(time.RFC3339) + `"`
			if logs := g.logs.String(); strings.Count(logs, wantWarn) != 1 {
				t.Errorf("log has %d expiry warnings %s, want 1 once the certificate was obtained:\n%s", strings.Count(logs, wantWarn), wantWarn, logs)
			}

			want := `gqlguard_tls_certificate_expiry_timestamp_seconds{file="",key_type="ecdsa",name="` + tc.domain + `",source="acme"} ` +
				formatFloat(float64(leaf.NotAfter.Truncate(time.Second).Unix()))
			if m := g.adminGet(t, "/metrics"); !strings.Contains(m, want) {
				t.Errorf("metrics lack %s\n%s", want, grep(m, "gqlguard_tls_certificate_expiry"))
			}
			if err := g.stop(t); err != nil {
				t.Errorf("Serve after a clean stop: %v", err)
			}
		})
	}
}

// TestGatewayACMEUnreachable points the gateway at an ACME directory on a
// closed port: it never becomes ready, and Serve gives up with an error that
// names tls.acme, so that a supervisor can restart it.
func TestGatewayACMEUnreachable(t *testing.T) {
	_, ts := newUpstream(t)
	cfg := acmeConfig(t, ts.URL, "gw-unreachable.gqlguard.test", "https://"+listenAddrDead(t)+"/dir", "http-01", "tls-alpn-01")
	g := startACMEGateway(t, cfg, nil)

	// Every answer polled before Serve returned was given by the running
	// gateway: shutting down waits for requests in flight.
	var answers []string
	deadline := time.After(acmeReadyWithin)
	for serving := true; serving; {
		if status, body, err := getReadyz(g.admin); err == nil {
			answers = append(answers, fmt.Sprintf("%d %s", status, body))
			if status != http.StatusServiceUnavailable || !strings.Contains(body, "tls: not ready") {
				t.Errorf("/readyz while the CA is unreachable: %d %q; want 503 naming tls", status, body)
			}
		}
		select {
		case <-g.stopped:
			serving = false
			if err := g.serveErr; err == nil || !strings.Contains(err.Error(), "tls.acme: no certificate could be obtained") {
				t.Errorf("Serve returned %v, want an error naming tls.acme", err)
			} else {
				t.Logf("Serve returned after %d /readyz answers: %v", len(answers), err)
			}
		case <-deadline:
			t.Fatalf("Serve still running %s after the ACME CA refused connections; /readyz said %q", acmeReadyWithin, answers)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if len(answers) == 0 {
		t.Error("/readyz was never answered while the gateway ran")
	}
	if _, _, err := getReadyz(g.admin); err == nil {
		t.Error("the admin listener still answers after Serve returned")
	}
}

// acmeConfig is testConfig with ACME for domain from the directory at ca,
// allowing only challenges, instead of certificate files.
func acmeConfig(t *testing.T, upstream, domain, ca string, challenges ...string) *config.Config {
	t.Helper()
	cfg, _ := testConfig(t, upstream)
	cfg.TLS.CertFile, cfg.TLS.KeyFile = "", ""
	// Not t.TempDir: certmagic may still write in it for a moment after
	// Serve returned.
	storage, err := os.MkdirTemp("", "gqlguard-server-acme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(storage) })
	cfg.TLS.ACME = config.ACME{
		Domains:    []string{domain},
		CA:         ca,
		Storage:    storage,
		Challenges: challenges,
	}
	return cfg
}

// acmeGateway is a running Server whose certificates come from ACME.
type acmeGateway struct {
	https, http, admin string
	logs               *logbuf.Buffer
	// stopped is closed when Serve has returned; serveErr is what it
	// returned.
	stopped  chan struct{}
	serveErr error
	cancel   context.CancelFunc
}

// startACMEGateway builds and binds a gateway for cfg, calls beforeServe,
// if set, with the bound HTTPS and plain-HTTP addresses (to start the CA
// that validates against them), then serves until stop or the end of the
// test; the gateway's log is shown if the test failed.
func startACMEGateway(t *testing.T, cfg *config.Config, beforeServe func(httpsAddr, httpAddr string)) *acmeGateway {
	t.Helper()
	logs := &logbuf.Buffer{}
	srv, err := New(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	g := &acmeGateway{stopped: make(chan struct{}), logs: logs}
	g.https, g.http, g.admin = srv.Addrs()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	if beforeServe != nil {
		beforeServe(g.https, g.http)
	}

	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go func() {
		g.serveErr = srv.Serve(ctx)
		close(g.stopped)
	}()
	t.Cleanup(func() { _ = g.stop(t) })
	return g
}

// stop cancels Serve and returns what it returned.
func (g *acmeGateway) stop(t *testing.T) error {
	t.Helper()
	g.cancel()
	select {
	case <-g.stopped:
		return g.serveErr
	case <-time.After(10 * time.Second):
		t.Error("Serve did not return within 10s of being stopped")
		return nil
	}
}

// waitReady polls /readyz until it answers 200, failing the test after
// within.
func (g *acmeGateway) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		status, body, err := getReadyz(g.admin)
		if err == nil && status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within %s: %d %q (error %v)", within, status, body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getReadyz asks the admin listener at admin whether the gateway is ready.
func getReadyz(admin string) (status int, body string, err error) {
	client := &http.Client{Timeout: 2 * time.Second}
	res, err := client.Get("http://" + admin + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

func (g *acmeGateway) adminGet(t *testing.T, path string) string {
	t.Helper()
	res, err := http.Get("http://" + g.admin + path)
	if err != nil {
		t.Fatal(err)
	}
	return readBody(t, res)
}

// dialTLS makes a TLS connection to the HTTPS listener for serverName,
// verified against roots, speaking HTTP/1.1.
func (g *acmeGateway) dialTLS(t *testing.T, serverName string, roots *x509.CertPool) *tls.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", g.https, &tls.Config{
		ServerName: serverName,
		RootCAs:    roots,
		NextProtos: []string{"http/1.1"},
	})
	if err != nil {
		t.Fatalf("handshake for %s: %v", serverName, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// postOver sends a GraphQL POST for host over conn and reads the response.
func postOver(t *testing.T, conn *tls.Conn, host, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "https://"+host+"/graphql", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// assertRedirected checks that an ordinary path on the plain-HTTP listener
// is still redirected to HTTPS for domain.
func assertRedirected(t *testing.T, httpAddr, domain, httpsAddr string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/graphql?query=%7Bhello%7D", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = domain
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, res)
	want := "https://" + domain + ":" + portString(t, httpsAddr) + "/graphql?query=%7Bhello%7D"
	if res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != want {
		t.Errorf("plain HTTP GET: %d Location %q; want 308 to %s", res.StatusCode, res.Header.Get("Location"), want)
	}
}

func portString(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestACMERenewalsAreCheckedForExpiry feeds the gateway's ACME setup the
// certificates ACME reports after startup (renewals, domains obtained late)
// and checks that those within tls.expiry_warning are warned about at once.
func TestACMERenewalsAreCheckedForExpiry(t *testing.T) {
	_, ts := newUpstream(t)
	cfg := acmeConfig(t, ts.URL, "gw-renewed.gqlguard.test", "https://"+listenAddrDead(t)+"/dir", "http-01")
	logs := &logbuf.Buffer{}
	setup, err := newTLSSetup(cfg.TLS, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if setup.acme.OnCertificate == nil {
		t.Fatal("the ACME setup reports new certificates to nobody")
	}
	soon := time.Now().Add(cfg.TLS.ExpiryWarning / 2).Truncate(time.Second)
	later := time.Now().Add(2 * cfg.TLS.ExpiryWarning).Truncate(time.Second)
	setup.acme.OnCertificate(certs.ManagedCert{Name: "gw-renewed.gqlguard.test", NotAfter: later, KeyType: "ecdsa", OCSPStatus: "none"})
	if strings.Contains(logs.String(), "certificate expires soon") {
		t.Errorf("warned about a certificate outside tls.expiry_warning:\n%s", logs)
	}
	setup.acme.OnCertificate(certs.ManagedCert{Name: "gw-renewed.gqlguard.test", NotAfter: soon, KeyType: "ecdsa", OCSPStatus: "none"})
	want := `"msg":"certificate expires soon; renew it","name":"gw-renewed.gqlguard.test","source":"acme","key_type":"ecdsa","not_after":"` + soon.UTC().Format(time.RFC3339) + `"`
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, logs)
	}
}
