package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/config"
)

// tlsGateway starts a gateway serving the given certificate pair, trusted by
// clients through ca.
func tlsGateway(t *testing.T, ca *testCA, mut func(*config.Config)) *gateway {
	t.Helper()
	_, ts := newUpstream(t)
	cfg, _ := testConfig(t, ts.URL)
	dir := t.TempDir()
	cfg.TLS.CertFile, cfg.TLS.KeyFile, _ = ca.issue(t, dir, leafOpts{})
	if mut != nil {
		mut(cfg)
	}
	return startGateway(t, cfg, ca.caFile)
}

// handshake dials the gateway with a fresh TLS connection and returns its
// state.
func (g *gateway) handshake(t *testing.T, c *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	if c.RootCAs == nil {
		c.RootCAs = g.roots
	}
	c.ServerName = "localhost"
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", g.https, c)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	// TLS 1.3 reports a refused client certificate only on the first read.
	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := conn.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
		return tls.ConnectionState{}, err
	}
	return conn.ConnectionState(), nil
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func servedSerial(t *testing.T, g *gateway) string {
	t.Helper()
	st, err := g.handshake(t, &tls.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return st.PeerCertificates[0].SerialNumber.String()
}

func TestCertificateReloadUnderLoad(t *testing.T) {
	ca := newTestCA(t, "reload CA")
	var certFile, keyFile string
	g := tlsGateway(t, ca, func(c *config.Config) {
		c.TLS.ReloadInterval = 50 * time.Millisecond
		certFile, keyFile = c.TLS.CertFile, c.TLS.KeyFile
	})
	before := servedSerial(t, g)

	// A load loop on fresh connections, so that every request is a new
	// handshake racing the file swap.
	ctx, stop := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
				TLSClientConfig: &tls.Config{RootCAs: g.roots, ServerName: "localhost"}}}
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodPost, g.url("/graphql"), strings.NewReader(`{"query":"{ a }"}`))
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					t.Errorf("request during reload: %v", err)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				ok.Add(1)
			}
		})
	}
	// Each step waits for requests to succeed under the one before.
	moreRequests := func(what string) {
		t.Helper()
		n := ok.Load()
		waitUntil(t, "10 more requests "+what, func() bool { return ok.Load() >= n+10 || failed.Load() > 0 })
	}
	moreRequests("before the swap")
	newCert, newKey, serial := ca.issue(t, t.TempDir(), leafOpts{})
	// Key first, then certificate: for a moment the pair does not match,
	// which the reload must refuse without disturbing anything.
	copyFile(t, newKey, keyFile)
	waitLogged(t, g, "certificate reload refused")
	moreRequests("with the pair refused")
	copyFile(t, newCert, certFile)
	deadline := time.Now().Add(5 * time.Second)
	for servedSerial(t, g) != serial.String() {
		if time.Now().After(deadline) {
			t.Fatal("the new certificate was never served")
		}
		time.Sleep(20 * time.Millisecond)
	}
	moreRequests("with the new certificate")
	stop()
	wg.Wait()
	if failed.Load() != 0 || ok.Load() < 10 {
		t.Fatalf("%d requests failed, %d succeeded during the reload", failed.Load(), ok.Load())
	}
	if before == serial.String() {
		t.Fatal("test bug: same serial")
	}
	t.Logf("%d requests, none failed, across the certificate swap", ok.Load())
}

func TestBadReloadKeepsOldCertificate(t *testing.T) {
	ca := newTestCA(t, "reload CA")
	var certFile, keyFile string
	hup := make(chan os.Signal, 1)
	_, ts := newUpstream(t)
	cfg, _ := testConfig(t, ts.URL)
	cfg.TLS.CertFile, cfg.TLS.KeyFile, _ = ca.issue(t, t.TempDir(), leafOpts{})
	cfg.TLS.ReloadInterval = time.Hour // only SIGHUP reloads here
	certFile, keyFile = cfg.TLS.CertFile, cfg.TLS.KeyFile
	g := startGatewayWith(t, cfg, ca.caFile, WithReloadSignal(hup))
	before := servedSerial(t, g)

	dir := t.TempDir()
	expiredCert, expiredKey, _ := ca.issue(t, dir, leafOpts{cn: "expired", notAfter: time.Now().Add(-time.Minute)})
	otherCert, _, _ := ca.issue(t, dir, leafOpts{cn: "other"})
	tests := []struct {
		name      string
		cert, key string
		logged    string
	}{
		{"key that does not match", otherCert, keyFile, "private key does not match"},
		{"expired certificate", expiredCert, expiredKey, "expired"},
		{"unreadable certificate", filepath.Join(dir, "missing.pem"), keyFile, "no such file"},
	}
	origCert, _ := os.ReadFile(certFile)
	origKey, _ := os.ReadFile(keyFile)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.cert); err == nil {
				copyFile(t, tt.cert, certFile)
			} else {
				os.Remove(certFile)
			}
			copyFile(t, tt.key, keyFile)
			hup <- os.Interrupt
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(g.logs.String(), tt.logged) {
				if time.Now().After(deadline) {
					t.Fatalf("no refusal logged:\n%s", g.logs)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got := servedSerial(t, g); got != before {
				t.Errorf("serving %s after a bad reload, want the old %s", got, before)
			}
			res := g.post(t, `{"query":"{ a }"}`)
			if readBody(t, res); res.StatusCode != 200 {
				t.Errorf("status %d after a bad reload", res.StatusCode)
			}
			_ = os.WriteFile(certFile, origCert, 0o600)
			_ = os.WriteFile(keyFile, origKey, 0o600)
		})
	}
	if !strings.Contains(g.logs.String(), "certificate reload refused") {
		t.Errorf("log lacks the refusal message:\n%s", g.logs)
	}
}

func TestClientCertificates(t *testing.T) {
	ca := newTestCA(t, "server CA")
	clientCA := newTestCA(t, "client CA")
	otherCA := newTestCA(t, "other CA")
	dir := t.TempDir()
	goodCert, goodKey, _ := clientCA.issue(t, dir, leafOpts{cn: "billing-worker", client: true, uris: []string{"spiffe://example.org/billing"}})
	badCert, badKey, _ := otherCA.issue(t, dir, leafOpts{cn: "intruder", client: true})
	good, _ := tls.LoadX509KeyPair(goodCert, goodKey)
	bad, _ := tls.LoadX509KeyPair(badCert, badKey)

	for _, mode := range []string{"require", "optional"} {
		g := tlsGateway(t, ca, func(c *config.Config) {
			c.TLS.ClientAuth = config.ClientAuth{Mode: mode, CAFile: clientCA.caFile}
		})
		tests := []struct {
			name string
			cert []tls.Certificate
			ok   bool
		}{
			{"valid client certificate", []tls.Certificate{good}, true},
			{"certificate from another CA", []tls.Certificate{bad}, false},
			{"no certificate", nil, mode == "optional"},
		}
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				// Send the certificate whatever CAs the server names, as a
				// hostile client would.
				c := &tls.Config{GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					if len(tt.cert) == 0 {
						return &tls.Certificate{}, nil
					}
					return &tt.cert[0], nil
				}}
				_, err := g.handshake(t, c)
				if (err == nil) != tt.ok {
					t.Errorf("handshake error %v, want ok=%v", err, tt.ok)
				}
			})
		}
	}
}

func TestSessionResumptionSurvivesKeyRotation(t *testing.T) {
	ca := newTestCA(t, "CA")
	// Tickets stay valid for three rotations; the last connection comes
	// after one, which it waits for: two more (2 s) would have to pass
	// before its handshake for its ticket to be refused.
	g := tlsGateway(t, ca, func(c *config.Config) { c.TLS.TicketKeyRotation = time.Second })
	cache := tls.NewLRUClientSessionCache(8)
	for i := range 3 {
		if i == 2 {
			made := g.srv.tls.tickets.made.Load() // the ticket cached is under the newest key
			waitUntil(t, "a ticket key rotation", func() bool { return g.srv.tls.tickets.made.Load() > made })
		}
		st, err := g.handshake(t, &tls.Config{ClientSessionCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		if want := i > 0; st.DidResume != want {
			t.Errorf("connection %d: resumed=%v, want %v", i, st.DidResume, want)
		}
	}
	off := tlsGateway(t, ca, func(c *config.Config) { c.TLS.SessionTickets = false })
	cache = tls.NewLRUClientSessionCache(8)
	for range 2 {
		st, err := off.handshake(t, &tls.Config{ClientSessionCache: cache})
		if err != nil || st.DidResume {
			t.Fatalf("resumed=%v err=%v with session tickets off", st.DidResume, err)
		}
	}
}

func TestECDSAPreferred(t *testing.T) {
	ca := newTestCA(t, "CA")
	var ecdsaCert, rsaCert string
	g := tlsGateway(t, ca, func(c *config.Config) {
		dir := t.TempDir()
		var rsaKey string
		rsaCert, rsaKey, _ = ca.issue(t, dir, leafOpts{cn: "rsa", rsa: true})
		// RSA is listed first; ECDSA must still win where supported.
		ecdsaCert = c.TLS.CertFile
		c.TLS.Certificates = []config.CertPair{{CertFile: c.TLS.CertFile, KeyFile: c.TLS.KeyFile}}
		c.TLS.CertFile, c.TLS.KeyFile = rsaCert, rsaKey
		// Both certificates (valid for an hour) are within the window.
		c.TLS.ExpiryWarning = 2 * time.Hour
	})
	st, err := g.handshake(t, &tls.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.PeerCertificates[0].PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("modern client got %T, want ECDSA", st.PeerCertificates[0].PublicKey)
	}
	st, err = g.handshake(t, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.PeerCertificates[0].PublicKey.(*rsa.PublicKey); !ok {
		t.Errorf("RSA-only client got %T, want RSA", st.PeerCertificates[0].PublicKey)
	}

	// Both certificates are for localhost: the metrics and the expiry
	// warnings tell them apart by key type and file.
	metrics := g.scrape(t)
	for _, want := range []string{
		`gqlguard_tls_certificate_expiry_timestamp_seconds{file="` + ecdsaCert + `",key_type="ecdsa",name="localhost",source="file"} `,
		`gqlguard_tls_certificate_expiry_timestamp_seconds{file="` + rsaCert + `",key_type="rsa",name="localhost",source="file"} `,
		`gqlguard_tls_ocsp_staple_status{file="` + ecdsaCert + `",key_type="ecdsa",name="localhost",status="none"} 1`,
		`gqlguard_tls_ocsp_staple_status{file="` + rsaCert + `",key_type="rsa",name="localhost",status="none"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s\n%s", want, grep(metrics, "gqlguard_tls_"))
		}
	}
	for _, want := range []string{
		`"msg":"certificate expires soon; renew it","name":"localhost","source":"file","key_type":"ecdsa","file":"` + ecdsaCert + `"`,
		`"msg":"certificate expires soon; renew it","name":"localhost","source":"file","key_type":"rsa","file":"` + rsaCert + `"`,
	} {
		waitLogged(t, g, want)
	}
}

// scrape fetches /metrics from the admin listener and fails unless it
// answers 200.
func (g *gateway) scrape(t *testing.T) string {
	t.Helper()
	res, err := http.Get("http://" + g.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics answered %d:\n%s", res.StatusCode, body)
	}
	return body
}

// waitLogged waits up to 5 s for the gateway to log want.
func waitLogged(t *testing.T, g *gateway, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(g.logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %s:\n%s", want, g.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTLSMetricsAndExpiry(t *testing.T) {
	ca := newTestCA(t, "CA")
	_, ts := newUpstream(t)
	cfg, _ := testConfig(t, ts.URL)
	notAfter := time.Now().Add(1500 * time.Millisecond)
	cfg.TLS.CertFile, cfg.TLS.KeyFile, _ = ca.issue(t, t.TempDir(), leafOpts{notAfter: notAfter})
	cfg.TLS.ExpiryWarning = time.Hour
	cfg.TLS.ReloadInterval = 50 * time.Millisecond
	hup := make(chan os.Signal) // unbuffered: a send returns once the reload loop took it
	g := startGatewayWith(t, cfg, ca.caFile, withExpiryCheck(100*time.Millisecond), WithReloadSignal(hup))

	if _, err := g.handshake(t, &tls.Config{}); err != nil {
		t.Fatal(err)
	}
	_, _ = g.handshake(t, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	wants := []string{
		`gqlguard_tls_certificate_expiry_timestamp_seconds{file="` + cfg.TLS.CertFile + `",key_type="ecdsa",name="localhost",source="file"} ` + formatFloat(float64(notAfter.Truncate(time.Second).Unix())),
		`gqlguard_tls_handshakes_total{cipher_suite="TLS_AES_128_GCM_SHA256",outcome="ok",version="TLS 1.3"} 1`,
		`gqlguard_tls_handshakes_total{cipher_suite="",outcome="protocol_version",version=""} 1`,
		`gqlguard_tls_handshake_duration_seconds_count{outcome="ok"} 1`,
		`gqlguard_tls_ocsp_staple_status{file="` + cfg.TLS.CertFile + `",key_type="ecdsa",name="localhost",status="none"} 1`,
	}
	// The gateway counts a refused handshake after the client has read
	// its alert, so the scrape may come first.
	g.waitMetrics(t, wants, nil)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(g.logs.String(), "certificate expires soon") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("expiry warning not repeated:\n%s", g.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Once the certificate has expired, the gateway is not ready.
	const expired = "tls: not ready: certificate localhost expired"
	deadline = notAfter.Add(5 * time.Second)
	body := g.adminGet(t, "/readyz")
	for !strings.Contains(body, expired) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		body = g.adminGet(t, "/readyz")
	}
	if !strings.Contains(body, expired) {
		t.Errorf("readyz after expiry: %s", body)
	}
	// The files did not change: the expiry is logged once, not at every
	// reload, and the periodic warning says it has expired.
	waitLogged(t, g, `"msg":"certificate has expired and is still served; renew it","name":"localhost"`)
	for range 10 + 1 { // 10 reloads done once the 11th is taken
		hup <- os.Interrupt
	}
	logs := g.logs.String()
	if n := strings.Count(logs, "a served certificate has expired"); n != 1 {
		t.Errorf("the expiry was logged %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, "certificate reload refused"); n != 0 {
		t.Errorf("%d reloads of unchanged files refused:\n%s", n, logs)
	}
}

func (g *gateway) adminGet(t *testing.T, path string) string {
	t.Helper()
	res, err := http.Get("http://" + g.admin + path)
	if err != nil {
		t.Fatal(err)
	}
	return readBody(t, res)
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func formatFloat(f float64) string {
	b, _ := (&big.Float{}).SetFloat64(f).MarshalText()
	return string(b)
}

func TestOCSPStapleServed(t *testing.T) {
	ca := newTestCA(t, "OCSP CA")
	var requests atomic.Int64
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		resp, err := ocsp.CreateResponse(ca.cert, ca.cert, ocsp.Response{
			Status: ocsp.Good, SerialNumber: req.SerialNumber,
			ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		}, ca.key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(resp)
	}))
	t.Cleanup(responder.Close)
	var certFile string
	g := tlsGateway(t, ca, func(c *config.Config) {
		c.TLS.CertFile, c.TLS.KeyFile, _ = ca.issue(t, t.TempDir(), leafOpts{ocsp: responder.URL})
		certFile = c.TLS.CertFile
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := g.handshake(t, &tls.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.OCSPResponse) > 0 {
			resp, err := ocsp.ParseResponseForCert(st.OCSPResponse, st.PeerCertificates[0], ca.cert)
			if err != nil || resp.Status != ocsp.Good {
				t.Fatalf("staple %v status %v", err, resp)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no staple after 5 s (%d OCSP requests)", requests.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := g.scrape(t); !strings.Contains(m, `gqlguard_tls_ocsp_staple_status{file="`+certFile+`",key_type="ecdsa",name="localhost",status="good"} 1`) {
		t.Errorf("metrics lack the good staple:\n%s", grep(m, "ocsp"))
	}
	if !strings.Contains(g.logs.String(), `"msg":"OCSP staple status","name":"localhost","status":"good"`) {
		t.Errorf("log lacks the staple status:\n%s", g.logs)
	}
}

// clientCertGateway starts a gateway that verifies optional client
// certificates from a client CA (configured further by mut), and returns it,
// its upstream and a client certificate for billing-worker with a SPIFFE URI.
func clientCertGateway(t *testing.T, mut func(*config.Config)) (*gateway, *recordingUpstream, tls.Certificate) {
	t.Helper()
	ca := newTestCA(t, "server CA")
	clientCA := newTestCA(t, "client CA")
	cert, key, _ := clientCA.issue(t, t.TempDir(), leafOpts{cn: "billing-worker", client: true, uris: []string{"spiffe://example.org/billing"}})
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	up, ts := newUpstream(t)
	cfg, _ := testConfig(t, ts.URL)
	cfg.TLS.CertFile, cfg.TLS.KeyFile, _ = ca.issue(t, t.TempDir(), leafOpts{})
	cfg.TLS.ClientAuth = config.ClientAuth{Mode: "optional", CAFile: clientCA.caFile}
	if mut != nil {
		mut(cfg)
	}
	return startGateway(t, cfg, ca.caFile), up, pair
}

func TestClientCertificateIdentityReachesUpstream(t *testing.T) {
	g, up, pair := clientCertGateway(t, nil)

	send := func(certs []tls.Certificate) *http.Request {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.roots, ServerName: "localhost", Certificates: certs}}}
		req, _ := http.NewRequest(http.MethodPost, g.url("/graphql"), strings.NewReader(`{"query":"{ me }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Client-Cert-Subject", "CN=admin")
		req.Header.Set("X-Client-Cert-Names", "DNS:admin.internal")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, res)
		got, _ := up.last(t)
		return got
	}
	got := send([]tls.Certificate{pair})
	if s := got.Header.Values("X-Client-Cert-Subject"); len(s) != 1 || s[0] != "CN=billing-worker,O=gqlguard tests" {
		t.Errorf("subject %q", s)
	}
	if n := got.Header.Values("X-Client-Cert-Names"); strings.Join(n, " ") != "DNS:billing-worker URI:spiffe://example.org/billing" {
		t.Errorf("names %q", n)
	}
	got = send(nil)
	if s, n := got.Header.Values("X-Client-Cert-Subject"), got.Header.Values("X-Client-Cert-Names"); len(s)+len(n) != 0 {
		t.Errorf("forged identity reached the upstream: %q %q", s, n)
	}
}

// TestClientCertificatesAuthenticateCallers runs a gateway that accepts
// verified client certificates in place of bearer tokens
// (auth.client_certificates): service-to-service callers.
func TestClientCertificatesAuthenticateCallers(t *testing.T) {
	g, up, pair := clientCertGateway(t, func(cfg *config.Config) {
		cfg.Auth.ClientCertificates = true
		cfg.Documents.Mode = "strict"
		writeDoc(t, cfg.Documents.Dir, invoiceDoc)
	})
	body := `{"documentId":"` + string(documents.SHA256(invoiceDoc)) + `"}`

	post := func(certs []tls.Certificate) (*http.Response, string) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.roots, ServerName: "localhost", Certificates: certs}}}
		req, _ := http.NewRequest(http.MethodPost, g.url("/graphql"), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/graphql-response+json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res, readBody(t, res)
	}
	if res, body := post(nil); res.StatusCode != http.StatusUnauthorized || errorCode(t, body) != "UNAUTHENTICATED" {
		t.Fatalf("without a certificate: %d %s, want 401 UNAUTHENTICATED", res.StatusCode, body)
	}
	if up.count() != 0 {
		t.Fatal("an unauthenticated request reached the upstream")
	}
	if res, body := post([]tls.Certificate{pair}); res.StatusCode != http.StatusOK {
		t.Fatalf("with a verified certificate: %d %s, want 200", res.StatusCode, body)
	}
	got, _ := up.last(t)
	if s := got.Header.Get("X-Client-Cert-Subject"); !strings.Contains(s, "CN=billing-worker") {
		t.Errorf("the upstream got subject %q, want the verified certificate's", s)
	}
}
