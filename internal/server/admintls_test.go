package server

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/config"
)

const adminToken = "test-admin-token-0123456789abcdef"

// adminTLSGateway runs a strict gateway whose admin listener serves HTTPS
// with a certificate of serverCA and accepts client certificates of
// clientCA; names are admin.client_names.
func adminTLSGateway(t *testing.T, serverCA, clientCA *testCA, names ...string) *gateway {
	t.Helper()
	_, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Documents.Mode = "strict"
	// Registration updates the store's index itself; the folder need not
	// be polled.
	cfg.Documents.PollInterval = time.Hour
	cfg.Admin.Token = adminToken
	certFile, keyFile, _ := serverCA.issue(t, t.TempDir(), leafOpts{})
	cfg.Admin.TLS = config.AdminTLS{CertFile: certFile, KeyFile: keyFile, ClientCAFile: clientCA.caFile}
	cfg.Admin.ClientNames = names
	return startGateway(t, cfg, ca)
}

// adminClient trusts serverCA and presents cert, when given.
func adminClient(t *testing.T, serverCA *testCA, cert *tls.Certificate) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)
	tc := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	transport := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport, Timeout: 10 * time.Second}
}

// manifestOf is an Apollo persisted query manifest holding one query.
func manifestOf(name, text string) string {
	return `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"` + documents.SHA256(text).Hash() +
		`","name":"` + name + `","type":"query","body":"` + text + `"}]}`
}

// putDocuments registers manifest over the admin listener and returns the
// status, or the error when no HTTP exchange took place.
func putDocuments(c *http.Client, g *gateway, authorization, manifest string) (int, error) {
	req, err := http.NewRequest(http.MethodPut, "https://"+g.admin+"/v1/documents", strings.NewReader(manifest))
	if err != nil {
		return 0, err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	return res.StatusCode, nil
}

func TestAdminTLSRegistration(t *testing.T) {
	serverCA, clientCA, otherCA := newTestCA(t, "admin server CA"), newTestCA(t, "admin client CA"), newTestCA(t, "another CA")
	g := adminTLSGateway(t, serverCA, clientCA, "ci-pipeline", "spiffe://example.org/ci")
	ci, _, _, _ := clientCA.pair(t, leafOpts{cn: "ci-pipeline", client: true})
	bySAN, _, _, _ := clientCA.pair(t, leafOpts{cn: "runner-7", client: true, uris: []string{"spiffe://example.org/ci"}})
	intruder, _, _, _ := clientCA.pair(t, leafOpts{cn: "laptop", client: true})
	foreign, _, _, _ := otherCA.pair(t, leafOpts{cn: "ci-pipeline", client: true})
	tests := []struct {
		name          string
		cert          *tls.Certificate
		authorization string
		status        int // 0: the handshake must fail
	}{
		{"an allowed client certificate registers", &ci, "", 200},
		{"a certificate allowed by a subject alternative name registers", &bySAN, "", 200},
		{"a certificate whose name is not allowed is forbidden", &intruder, "", 403},
		{"a certificate of another CA is refused", &foreign, "", 0},
		{"the admin token still works over TLS", nil, "Bearer " + adminToken, 200},
		{"the Bearer scheme is case-insensitive", nil, "bEARER " + adminToken, 200},
		{"the token works beside a certificate that is not allowed", &intruder, "Bearer " + adminToken, 200},
		{"a wrong token is forbidden", nil, "Bearer wrong", 403},
		{"no credential at all is unauthenticated", nil, "", 401},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "query Q" + string(rune('A'+i)) + " { registered }"
			code, err := putDocuments(adminClient(t, serverCA, tt.cert), g, tt.authorization, manifestOf("Q", text))
			if tt.status == 0 {
				if err == nil && (code == 200 || code == 0) {
					t.Fatalf("a certificate of another CA got %d", code)
				}
				return
			}
			if err != nil || code != tt.status {
				t.Fatalf("got %d (%v), want %d", code, err, tt.status)
			}
		})
	}
}

func TestAdminTLSRegisteredDocumentIsServed(t *testing.T) {
	serverCA, clientCA := newTestCA(t, "admin server CA"), newTestCA(t, "admin client CA")
	g := adminTLSGateway(t, serverCA, clientCA)
	// Without admin.client_names, any certificate of the client CA may
	// register.
	anyone, _, _, _ := clientCA.pair(t, leafOpts{cn: "any-runner", client: true})
	text := "query Registered { registered }"
	if code, err := putDocuments(adminClient(t, serverCA, &anyone), g, "", manifestOf("Registered", text)); err != nil || code != 200 {
		t.Fatalf("registration: %d %v", code, err)
	}
	res := g.post(t, `{"documentId":"`+string(documents.SHA256(text))+`"}`)
	if body := readBody(t, res); res.StatusCode != 200 {
		t.Errorf("registered document: %d %s", res.StatusCode, body)
	}
}

func TestAdminTLSProbesNeedNoCertificate(t *testing.T) {
	serverCA, clientCA := newTestCA(t, "admin server CA"), newTestCA(t, "admin client CA")
	g := adminTLSGateway(t, serverCA, clientCA, "ci-pipeline")
	c := adminClient(t, serverCA, nil)
	for _, path := range []string{"/healthz", "/metrics"} {
		res, err := c.Get("https://" + g.admin + path)
		if err != nil {
			t.Fatalf("%s over TLS without a certificate: %v", path, err)
		}
		readBody(t, res)
		if res.StatusCode != 200 || res.TLS == nil || res.TLS.Version < tls.VersionTLS12 {
			t.Errorf("%s: %d over %v", path, res.StatusCode, res.TLS)
		}
	}
	res, err := c.Get("https://" + g.admin + "/readyz")
	if err != nil {
		t.Fatalf("/readyz over TLS without a certificate: %v", err)
	}
	if body := readBody(t, res); !strings.Contains(body, "upstream:") {
		t.Errorf("/readyz: %d %s", res.StatusCode, body)
	}
	// Plain HTTP gets nothing from an HTTPS admin listener.
	if res, err := http.Get("http://" + g.admin + "/healthz"); err == nil {
		readBody(t, res)
		if res.StatusCode == 200 {
			t.Error("/healthz answered over plain HTTP")
		}
	}
}

func TestAdminTLSRefusesOldProtocolsAndWeakCiphers(t *testing.T) {
	serverCA, clientCA := newTestCA(t, "admin server CA"), newTestCA(t, "admin client CA")
	g := adminTLSGateway(t, serverCA, clientCA)
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)
	tests := []struct {
		name string
		tc   *tls.Config
	}{
		{"TLS 1.1", &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}},
		{"CBC suite", &tls.Config{RootCAs: roots, ServerName: "localhost", MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}}},
	}
	for _, tt := range tests {
		conn, err := tls.Dial("tcp", g.admin, tt.tc)
		if err == nil {
			conn.Close()
			t.Errorf("%s: handshake succeeded", tt.name)
		}
	}
}

func TestAdminTLSConfigErrorsNameTheKey(t *testing.T) {
	_, ts := newUpstream(t)
	cfg, _ := testConfig(t, ts.URL)
	cfg.Admin.TLS = config.AdminTLS{CertFile: "/nonexistent/admin.pem", KeyFile: "/nonexistent/admin-key.pem"}
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "admin.tls.cert_file") {
		t.Errorf("missing admin certificate: %v", err)
	}
	serverCA := newTestCA(t, "admin server CA")
	certFile, keyFile, _ := serverCA.issue(t, t.TempDir(), leafOpts{})
	cfg.Admin.TLS = config.AdminTLS{CertFile: certFile, KeyFile: keyFile, ClientCAFile: keyFile}
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "admin.tls.client_ca_file") {
		t.Errorf("client CA file holding no certificate: %v", err)
	}
}

// The admin listener's certificate is in the expiry metric beside the
// main listener's, so its expiry is watched like theirs.
func TestAdminTLSCertificateIsInTheExpiryMetric(t *testing.T) {
	serverCA, clientCA := newTestCA(t, "admin server CA"), newTestCA(t, "admin client CA")
	g := adminTLSGateway(t, serverCA, clientCA)
	res, err := adminClient(t, serverCA, nil).Get("https://" + g.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, res)
	want := `gqlguard_tls_certificate_expiry_timestamp_seconds{file="` + g.srv.cfg.Admin.TLS.CertFile + `"`
	if !strings.Contains(body, want) {
		t.Errorf("no expiry metric for the admin certificate %s:\n%s", g.srv.cfg.Admin.TLS.CertFile, grepLines(body, "expiry"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
