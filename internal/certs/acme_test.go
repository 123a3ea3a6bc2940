package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"golang.org/x/crypto/ocsp"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/testcert"
)

// acmeTestConfig is a valid ACME section whose CA nobody answers.
func acmeTestConfig(t *testing.T) config.ACME {
	return config.ACME{
		Domains:    []string{"gateway.gqlguard.test"},
		CA:         "https://127.0.0.1:1/dir",
		Storage:    t.TempDir(),
		Challenges: []string{"http-01", "tls-alpn-01"},
	}
}

func TestNewACMERefusesAnUnusableCARootFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "roots.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"a missing file":                   filepath.Join(dir, "missing.pem"),
		"a directory":                      dir,
		"a file without a PEM certificate": notPEM,
	} {
		t.Run(name, func(t *testing.T) {
			cfg := acmeTestConfig(t)
			cfg.CARootFile = path
			a, err := NewACME(cfg, "", nil)
			if err == nil || !strings.Contains(err.Error(), "tls.acme.ca_root_file") {
				t.Fatalf("NewACME = %v, %v; want an error naming tls.acme.ca_root_file", a, err)
			}
		})
	}
}

func TestNewACMETrustsTheCARootFile(t *testing.T) {
	ca := ensure(t, t.TempDir(), DefaultHosts(), time.Now())
	cfg := acmeTestConfig(t)
	cfg.CARootFile = ca.CAFile
	a, err := NewACME(cfg, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf := readCert(t, ca.CertFile)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: a.roots, DNSName: "localhost"}); err != nil {
		t.Errorf("the CA root file is not what the ACME client trusts: %v", err)
	}
}

func TestNewACMEStorage(t *testing.T) {
	cfg := acmeTestConfig(t)
	a, err := NewACME(cfg, "/var/lib/gqlguard/acme", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.storage != cfg.Storage {
		t.Errorf("storage = %q, want tls.acme.storage %q", a.storage, cfg.Storage)
	}

	cfg.Storage = ""
	if a, err = NewACME(cfg, "/var/lib/gqlguard/acme", nil); err != nil {
		t.Fatal(err)
	}
	if a.storage != "/var/lib/gqlguard/acme" {
		t.Errorf("storage = %q, want the default", a.storage)
	}

	if _, err := NewACME(cfg, "", nil); err == nil || !strings.Contains(err.Error(), "tls.acme.storage") {
		t.Errorf("without any storage directory NewACME = %v, want an error naming tls.acme.storage", err)
	}
}

func TestACMENextProtosFollowTheAllowedChallenges(t *testing.T) {
	for _, tc := range []struct {
		challenges []string
		want       []string
	}{
		{[]string{"http-01", "tls-alpn-01"}, []string{"acme-tls/1"}},
		{[]string{"tls-alpn-01"}, []string{"acme-tls/1"}},
		{[]string{"http-01"}, nil},
	} {
		cfg := acmeTestConfig(t)
		cfg.Challenges = tc.challenges
		a, err := NewACME(cfg, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.NextProtos(); !slices.Equal(got, tc.want) {
			t.Errorf("challenges %v: NextProtos() = %q, want %q", tc.challenges, got, tc.want)
		}
	}
}

func TestACMEHTTPHandlerKeepsTheChallengePathToItself(t *testing.T) {
	a, err := NewACME(acmeTestConfig(t), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
	h := a.HTTPHandler(next)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/graphql", http.StatusPermanentRedirect},
		{"/.well-known/other", http.StatusPermanentRedirect},
		{"/.well-known/acme-challenge/unknown-token", http.StatusNotFound},
	} {
		for _, host := range []string{"gateway.gqlguard.test", "gateway.gqlguard.test:8080", "other.gqlguard.test"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://"+host+tc.path, nil))
			if rec.Code != tc.want {
				t.Errorf("GET http://%s%s: %d, want %d", host, tc.path, rec.Code, tc.want)
			}
		}
	}
}

func TestACMEGetCertificate(t *testing.T) {
	cfg := acmeTestConfig(t)
	cfg.Challenges = []string{"http-01"}
	a, err := NewACME(cfg, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	hello := &tls.ClientHelloInfo{ServerName: "gateway.gqlguard.test", SupportedProtos: []string{"h2", "http/1.1"}}
	if _, err := a.GetCertificate(hello); !errors.Is(err, errACMENotManaging) {
		t.Errorf("before Manage: %v, want %v", err, errACMENotManaging)
	}
	hello.SupportedProtos = []string{"acme-tls/1"}
	if _, err := a.GetCertificate(hello); err == nil || !strings.Contains(err.Error(), "tls.acme.challenges") {
		t.Errorf("a tls-alpn-01 validation with only http-01 allowed: %v, want an error naming tls.acme.challenges", err)
	}
	a.tlsALPN01 = true
	hello.ServerName = "other.gqlguard.test"
	if _, err := a.GetCertificate(hello); err == nil || !strings.Contains(err.Error(), "no ACME challenge") {
		t.Errorf("a tls-alpn-01 validation for a name that is not a domain: %v, want an error", err)
	}
	if got := a.Certificates(); got != nil {
		t.Errorf("Certificates() before Manage = %v, want none", got)
	}
}

func TestACMEManageFailsWhenNoCertificateCanBeHadAndLeavesNothingRunning(t *testing.T) {
	// A CA nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := acmeTestConfig(t)
	cfg.CA = "https://" + ln.Addr().String() + "/dir"
	_ = ln.Close()
	a, err := NewACME(cfg, "", nil)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = a.Manage(ctx)
	if err == nil || !strings.Contains(err.Error(), "no certificate could be obtained") || !strings.Contains(err.Error(), "gateway.gqlguard.test") {
		t.Fatalf("Manage = %v, want an error saying no certificate could be obtained for gateway.gqlguard.test", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Manage returned only when its context ran out")
	}
	if a.run.Load() != nil {
		t.Error("a failed Manage left its state behind")
	}
	if _, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: "gateway.gqlguard.test"}); !errors.Is(err, errACMENotManaging) {
		t.Errorf("GetCertificate after a failed Manage: %v, want %v", err, errACMENotManaging)
	}
	if err := a.Manage(ctx); err == nil || !strings.Contains(err.Error(), "already called") {
		t.Errorf("second Manage = %v, want an error", err)
	}
}

func TestACMEChallengeGuardKeepsCertmagicFromListening(t *testing.T) {
	a, err := NewACME(acmeTestConfig(t), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.start()
	if err != nil {
		t.Fatal(err)
	}
	// certmagic's solvers start a challenge server of their own on these
	// addresses unless they are taken and answer.
	for _, port := range []int{r.issuer.AltHTTPPort, r.issuer.AltTLSALPNPort} {
		addr := net.JoinHostPort(r.issuer.ListenHost, strconv.Itoa(port))
		if ln, err := net.Listen("tcp", addr); err == nil {
			_ = ln.Close()
			t.Errorf("%s is free: certmagic would serve challenges there itself", addr)
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Errorf("%s does not answer: certmagic would refuse to solve challenges: %v", addr, err)
			continue
		}
		_ = conn.Close()
	}
	r.stop()
	if conn, err := net.DialTimeout("tcp", r.guard.Addr().String(), time.Second); err == nil {
		_ = conn.Close()
		t.Error("the guard still answers after stop")
	}
}

func TestRenewalRatio(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name                  string
		renewBefore, lifetime time.Duration
		ratio                 float64
		capped                bool
	}{
		{"unset leaves certmagic's third", 0, 90 * day, 0, false},
		{"unknown lifetime leaves certmagic's third", 30 * day, 0, 0, false},
		{"30 of 90 days", 30 * day, 90 * day, 1.0 / 3, false},
		{"half of the lifetime", 45 * day, 90 * day, 0.5, false},
		{"more than half is capped", 60 * day, 90 * day, 0.5, true},
		{"longer than the lifetime is capped", 30 * day, 6 * day, 0.5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ratio, capped := renewalRatio(tc.renewBefore, tc.lifetime)
			if ratio != tc.ratio || capped != tc.capped {
				t.Errorf("renewalRatio(%v, %v) = %v, %v; want %v, %v", tc.renewBefore, tc.lifetime, ratio, capped, tc.ratio, tc.capped)
			}
		})
	}
}

func TestACMEOCSPStatus(t *testing.T) {
	issuer, issuerKey := testcert.CA(t, "gqlguard test issuer")
	withResponder := acmeTestLeaf(t, issuer, issuerKey, []string{"http://ocsp.gqlguard.test"})
	withoutResponder := acmeTestLeaf(t, issuer, issuerKey, nil)
	good := acmeTestStaple(t, issuer, issuerKey, withResponder, ocsp.Good)
	revoked := acmeTestStaple(t, issuer, issuerKey, withResponder, ocsp.Revoked)

	for _, tc := range []struct {
		name    string
		leaf    *x509.Certificate
		staple  []byte
		revoked bool
		want    string
	}{
		{"no responder named", withoutResponder, nil, false, "none"},
		{"responder named, nothing stapled", withResponder, nil, false, "unknown"},
		{"good response stapled", withResponder, good, false, "good"},
		{"revoked response stapled", withResponder, revoked, false, "revoked"},
		{"found revoked after a good staple", withResponder, good, true, "revoked"},
		{"staple that does not parse", withResponder, []byte("junk"), false, "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := certmagic.Certificate{Certificate: tls.Certificate{
				Certificate: [][]byte{tc.leaf.Raw, issuer.Raw},
				Leaf:        tc.leaf,
				OCSPStaple:  tc.staple,
			}}
			if got := acmeOCSPStatus(cert, tc.revoked); got != tc.want {
				t.Errorf("acmeOCSPStatus = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestACMELogCoreWritesCertmagicLogsToSlog(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	z := zap.New(newACMELogCore(logger)).Named("certmagic").With(zap.String("cache", "0x1"))

	z.Named("obtain").Debug("not wanted", zap.String("identifier", "gateway.gqlguard.test"))
	z.Named("obtain").Error("could not get certificate from issuer",
		zap.String("identifier", "gateway.gqlguard.test"),
		zap.Strings("names", []string{"a", "b"}),
		zap.Error(errors.New("connection refused")))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want the error only:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"level":      "ERROR",
		"msg":        "could not get certificate from issuer",
		"logger":     "certmagic.obtain",
		"cache":      "0x1",
		"identifier": "gateway.gqlguard.test",
		"names":      []any{"a", "b"},
		"error":      "connection refused",
	}
	for k, v := range want {
		got, _ := json.Marshal(rec[k])
		exp, _ := json.Marshal(v)
		if !bytes.Equal(got, exp) {
			t.Errorf("%s = %s, want %s", k, got, exp)
		}
	}
}

// acmeTestLeaf is a certificate for the gateway's test name, with the OCSP
// responders given.
func acmeTestLeaf(t *testing.T, issuer *x509.Certificate, issuerKey crypto.Signer, responders []string) *x509.Certificate {
	t.Helper()
	cert, _ := testcert.Issue(t, &x509.Certificate{DNSNames: []string{"gateway.gqlguard.test"}, OCSPServer: responders}, issuer, issuerKey, nil)
	return cert
}

func acmeTestStaple(t *testing.T, issuer *x509.Certificate, issuerKey crypto.Signer, leaf *x509.Certificate, status int) []byte {
	t.Helper()
	resp := ocsp.Response{
		Status:       status,
		SerialNumber: leaf.SerialNumber,
		ThisUpdate:   time.Now().Add(-time.Minute),
		NextUpdate:   time.Now().Add(time.Hour),
	}
	if status == ocsp.Revoked {
		resp.RevokedAt = time.Now().Add(-time.Minute)
	}
	der, err := ocsp.CreateResponse(issuer, issuer, resp, issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestACMEOnCertificateGetsEachCertificateObtainedAfterManageLoaded(t *testing.T) {
	logs := &bytes.Buffer{}
	a, err := NewACME(acmeTestConfig(t), "", slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var got []ManagedCert
	a.OnCertificate = func(m ManagedCert) { got = append(got, m) }
	r, err := a.start()
	if err != nil {
		t.Fatal(err)
	}
	defer r.stop()

	issuer, issuerKey := testcert.CA(t, "gqlguard test issuer")
	leaf := acmeTestLeaf(t, issuer, issuerKey, nil)
	ctx := context.Background()
	const path = "certificates/acme-ca/gateway.gqlguard.test/gateway.gqlguard.test.crt"
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuer.Raw})...)
	if err := r.storage.Store(ctx, path, chain); err != nil {
		t.Fatal(err)
	}
	// The event as certmagic emits it on a renewal, through the
	// configuration it calls.
	obtained := func(path string) {
		t.Helper()
		if err := r.base.OnEvent(ctx, "cert_obtained", map[string]any{
			"renewal": true, "identifier": "gateway.gqlguard.test", "certificate_path": path,
		}); err != nil {
			t.Fatal(err)
		}
	}

	obtained(path)
	if len(got) != 0 {
		t.Fatalf("OnCertificate called with %+v while Manage was still loading; Manage's caller checks those", got)
	}
	a.loaded.Store(true)
	obtained(path)
	want := ManagedCert{Name: "gateway.gqlguard.test", NotAfter: leaf.NotAfter, KeyType: "ecdsa", OCSPStatus: "none"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("OnCertificate got %+v, want the stored certificate %+v", got, want)
	}
	obtained("certificates/acme-ca/missing/missing.crt")
	if len(got) != 1 {
		t.Errorf("OnCertificate called for a certificate that is not in storage: %+v", got[1:])
	}
	if !strings.Contains(logs.String(), "ACME certificate obtained but not readable from storage") {
		t.Errorf("an unreadable stored certificate was not logged:\n%s", logs)
	}
}
