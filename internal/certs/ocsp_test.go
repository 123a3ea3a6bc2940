package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/gqlguard/gqlguard/internal/testutil/testcert"
)

// ocspFixture is a test CA, a server certificate it issued and an OCSP
// responder that answers as the test tells it to.
type ocspFixture struct {
	now     time.Time
	ca      *x509.Certificate
	caKey   crypto.Signer
	leaf    *x509.Certificate
	cert    *tls.Certificate // chain [leaf, ca]
	server  *httptest.Server
	logs    bytes.Buffer
	stapler *Stapler

	requests atomic.Int32

	mu          sync.Mutex
	answer      func(*ocsp.Request) (int, []byte)
	lastRequest *http.Request
	lastOCSP    *ocsp.Request
}

// newOCSPFixture builds the fixture. edit, when not nil, changes the leaf
// template after its OCSPServer has been pointed at the test responder.
func newOCSPFixture(t *testing.T, edit func(leaf *x509.Certificate)) *ocspFixture {
	t.Helper()
	f := &ocspFixture{now: time.Now().UTC().Truncate(time.Second)}
	f.server = httptest.NewServer(http.HandlerFunc(f.serveOCSP))
	t.Cleanup(f.server.Close)

	f.ca, f.caKey = ocspIssue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "OCSP test CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}, nil, nil, f.now)

	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		OCSPServer:  []string{f.server.URL},
	}
	if edit != nil {
		edit(tmpl)
	}
	leaf, leafKey := ocspIssue(t, tmpl, f.ca, f.caKey, f.now)
	f.leaf = leaf
	f.cert = &tls.Certificate{
		Certificate: [][]byte{leaf.Raw, f.ca.Raw},
		PrivateKey:  leafKey,
		Leaf:        leaf,
	}
	f.stapler = &Stapler{
		Client: f.server.Client(),
		Now:    func() time.Time { return f.now },
		Logger: slog.New(slog.NewTextHandler(&f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	f.respondWith(func(*ocsp.Request) (int, []byte) {
		return http.StatusOK, f.response(t, ocsp.Response{Status: ocsp.Good})
	})
	return f
}

// ocspIssue signs tmpl with parent's key, or self-signs it when parent is
// nil, and returns the certificate with its new key.
func ocspIssue(t *testing.T, tmpl, parent *x509.Certificate, parentKey crypto.Signer, now time.Time) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(24 * time.Hour)
	return testcert.Issue(t, tmpl, parent, parentKey, nil)
}

func (f *ocspFixture) serveOCSP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	body, _ := io.ReadAll(r.Body)
	req, _ := ocsp.ParseRequest(body)
	f.mu.Lock()
	answer := f.answer
	f.lastRequest, f.lastOCSP = r, req
	f.mu.Unlock()
	status, resp := answer(req)
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}

// respondWith sets how the responder answers from now on.
func (f *ocspFixture) respondWith(answer func(*ocsp.Request) (int, []byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = answer
}

// response signs tmpl with the CA. Zero fields default to the leaf's serial,
// ThisUpdate an hour ago and NextUpdate in seven hours.
func (f *ocspFixture) response(t *testing.T, tmpl ocsp.Response) []byte {
	t.Helper()
	return f.responseSignedBy(t, tmpl, f.ca, f.caKey)
}

func (f *ocspFixture) responseSignedBy(t *testing.T, tmpl ocsp.Response, responder *x509.Certificate, key crypto.Signer) []byte {
	t.Helper()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = f.leaf.SerialNumber
	}
	if tmpl.ThisUpdate.IsZero() {
		tmpl.ThisUpdate = f.now.Add(-time.Hour)
	}
	if tmpl.NextUpdate.IsZero() {
		tmpl.NextUpdate = f.now.Add(7 * time.Hour)
	}
	der, err := ocsp.CreateResponse(f.ca, responder, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// staple runs the stapler on the fixture's certificate and checks that the
// input was left alone.
func (f *ocspFixture) staple(t *testing.T, cert *tls.Certificate, maxRefresh time.Duration) (*tls.Certificate, OCSPStatus, time.Time) {
	t.Helper()
	before := *cert
	out, status, refresh := f.stapler.Staple(context.Background(), cert, maxRefresh)
	if out == nil {
		t.Fatal("Staple returned a nil certificate")
	}
	if out == cert || !bytes.Equal(cert.OCSPStaple, before.OCSPStaple) || cert.Leaf != before.Leaf {
		t.Error("Staple changed the certificate it was given instead of returning a copy")
	}
	if out.Leaf != cert.Leaf || len(out.Certificate) != len(cert.Certificate) || out.PrivateKey != cert.PrivateKey {
		t.Error("the stapled copy does not carry the same chain and key")
	}
	return out, status, refresh
}

func assertRetrySoon(t *testing.T, f *ocspFixture, refresh time.Time) {
	t.Helper()
	if d := refresh.Sub(f.now); d < time.Minute || d > 5*time.Minute {
		t.Errorf("refresh in %v after a failure, want a retry within 1–5 minutes", d)
	}
}

func TestOCSPStapleGoodIsStapledAndServedInTheHandshake(t *testing.T) {
	f := newOCSPFixture(t, nil)
	stapled, status, _ := f.staple(t, f.cert, 24*time.Hour)
	if status != OCSPGood {
		t.Fatalf("status = %q, want %q; logs:\n%s", status, OCSPGood, f.logs.String())
	}
	resp, err := ocsp.ParseResponseForCert(stapled.OCSPStaple, f.leaf, f.ca)
	if err != nil {
		t.Fatalf("the staple does not parse for the leaf: %v", err)
	}
	if resp.Status != ocsp.Good {
		t.Errorf("stapled status = %d, want good", resp.Status)
	}

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*stapled}}
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(f.ca)
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().OCSPResponse; !bytes.Equal(got, stapled.OCSPStaple) {
		t.Errorf("the handshake carried %d bytes of OCSP response, want the %d-byte staple", len(got), len(stapled.OCSPStaple))
	}
}

func TestOCSPRequestIsAPostForTheLeafWithASHA1CertID(t *testing.T) {
	f := newOCSPFixture(t, nil)
	f.staple(t, f.cert, time.Hour)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lastRequest == nil || f.lastOCSP == nil {
		t.Fatal("the responder received no parsable OCSP request")
	}
	if f.lastRequest.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", f.lastRequest.Method)
	}
	if ct := f.lastRequest.Header.Get("Content-Type"); ct != "application/ocsp-request" {
		t.Errorf("Content-Type = %q, want application/ocsp-request", ct)
	}
	if f.lastOCSP.SerialNumber.Cmp(f.leaf.SerialNumber) != 0 {
		t.Errorf("request serial = %v, want the leaf's %v", f.lastOCSP.SerialNumber, f.leaf.SerialNumber)
	}
	if f.lastOCSP.HashAlgorithm != crypto.SHA1 {
		t.Errorf("CertID hash = %v, want SHA-1", f.lastOCSP.HashAlgorithm)
	}
}

func TestOCSPStapleRefusesBadResponses(t *testing.T) {
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		answer func(t *testing.T, f *ocspFixture) (int, []byte)
		reason string // in the logged error
	}{
		{"responder answering 500 gives error", func(*testing.T, *ocspFixture) (int, []byte) {
			return http.StatusInternalServerError, []byte("down")
		}, "500 Internal Server Error"},
		{"OCSP error status (tryLater) gives error", func(*testing.T, *ocspFixture) (int, []byte) {
			return http.StatusOK, ocsp.TryLaterErrorResponse
		}, "try later"},
		{"garbage body gives error", func(*testing.T, *ocspFixture) (int, []byte) {
			return http.StatusOK, []byte("not DER")
		}, "asn1"},
		{"body over 1 MiB gives error", func(*testing.T, *ocspFixture) (int, []byte) {
			return http.StatusOK, make([]byte, 1<<20+1)
		}, "more than 1048576 bytes"},
		{"response signed by another key gives error", func(t *testing.T, f *ocspFixture) (int, []byte) {
			return http.StatusOK, f.responseSignedBy(t, ocsp.Response{Status: ocsp.Good}, f.ca, otherKey)
		}, "bad OCSP signature"},
		{"response for a different serial gives error", func(t *testing.T, f *ocspFixture) (int, []byte) {
			return http.StatusOK, f.response(t, ocsp.Response{Status: ocsp.Good, SerialNumber: big.NewInt(42)})
		}, "no response matching"},
		{"expired response (NextUpdate passed) gives error", func(t *testing.T, f *ocspFixture) (int, []byte) {
			return http.StatusOK, f.response(t, ocsp.Response{Status: ocsp.Good,
				ThisUpdate: f.now.Add(-48 * time.Hour), NextUpdate: f.now.Add(-time.Second)})
		}, "expired"},
		{"response from the future (ThisUpdate beyond the skew) gives error", func(t *testing.T, f *ocspFixture) (int, []byte) {
			return http.StatusOK, f.response(t, ocsp.Response{Status: ocsp.Good,
				ThisUpdate: f.now.Add(time.Hour), NextUpdate: f.now.Add(8 * time.Hour)})
		}, "in the future"},
		{"delegated responder without OCSP signing usage gives error", func(t *testing.T, f *ocspFixture) (int, []byte) {
			// Any certificate the CA issued, here another server certificate.
			other, key := ocspIssue(t, &x509.Certificate{
				Subject:     pkix.Name{CommonName: "other.example"},
				KeyUsage:    x509.KeyUsageDigitalSignature,
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			}, f.ca, f.caKey, f.now)
			return http.StatusOK, f.responseSignedBy(t, ocsp.Response{Status: ocsp.Good, Certificate: other}, other, key)
		}, "not authorized for OCSP signing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newOCSPFixture(t, nil)
			status, body := tt.answer(t, f)
			f.respondWith(func(*ocsp.Request) (int, []byte) { return status, body })
			out, got, refresh := f.staple(t, f.cert, 24*time.Hour)
			if got != OCSPError {
				t.Errorf("status = %q, want %q", got, OCSPError)
			}
			if out.OCSPStaple != nil {
				t.Error("a refused response was stapled")
			}
			assertRetrySoon(t, f, refresh)
			if logs := f.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, tt.reason) {
				t.Errorf("the failure was not logged with %q:\n%s", tt.reason, logs)
			}
		})
	}
}

func TestOCSPStapleAcceptsADelegatedResponder(t *testing.T) {
	f := newOCSPFixture(t, nil)
	delegate, key := ocspIssue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "OCSP responder"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
	}, f.ca, f.caKey, f.now)
	body := f.responseSignedBy(t, ocsp.Response{Status: ocsp.Good, Certificate: delegate}, delegate, key)
	f.respondWith(func(*ocsp.Request) (int, []byte) { return http.StatusOK, body })
	out, status, _ := f.staple(t, f.cert, time.Hour)
	if status != OCSPGood || !bytes.Equal(out.OCSPStaple, body) {
		t.Errorf("status = %q, stapled = %t; want good and stapled; logs:\n%s", status, out.OCSPStaple != nil, f.logs.String())
	}
}

func TestOCSPStapleRevokedIsStapledAndLoggedAsError(t *testing.T) {
	f := newOCSPFixture(t, nil)
	body := f.response(t, ocsp.Response{Status: ocsp.Revoked, RevokedAt: f.now.Add(-2 * time.Hour), RevocationReason: ocsp.KeyCompromise})
	f.respondWith(func(*ocsp.Request) (int, []byte) { return http.StatusOK, body })
	out, status, _ := f.staple(t, f.cert, time.Hour)
	if status != OCSPRevoked {
		t.Fatalf("status = %q, want %q; logs:\n%s", status, OCSPRevoked, f.logs.String())
	}
	if !bytes.Equal(out.OCSPStaple, body) {
		t.Error("the revoked response was not stapled; clients must see it")
	}
	if !strings.Contains(f.logs.String(), "level=ERROR") {
		t.Errorf("the revocation was not logged at ERROR level:\n%s", f.logs.String())
	}
}

func TestOCSPStapleUnknownIsNotStapled(t *testing.T) {
	f := newOCSPFixture(t, nil)
	f.respondWith(func(*ocsp.Request) (int, []byte) {
		return http.StatusOK, f.response(t, ocsp.Response{Status: ocsp.Unknown})
	})
	out, status, refresh := f.staple(t, f.cert, time.Hour)
	if status != OCSPUnknown {
		t.Errorf("status = %q, want %q", status, OCSPUnknown)
	}
	if out.OCSPStaple != nil {
		t.Error("an unknown response was stapled")
	}
	assertRetrySoon(t, f, refresh)
}

func TestOCSPStapleFailureKeepsOnlyAStillValidPreviousStaple(t *testing.T) {
	tests := []struct {
		name       string
		nextUpdate time.Duration // of the previous staple, from now
		kept       bool
	}{
		{"previous staple still valid is kept", time.Hour, true},
		{"previous staple past its NextUpdate is dropped", -time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newOCSPFixture(t, nil)
			old := f.response(t, ocsp.Response{Status: ocsp.Good,
				ThisUpdate: f.now.Add(-24 * time.Hour), NextUpdate: f.now.Add(tt.nextUpdate)})
			cert := *f.cert
			cert.OCSPStaple = old
			f.respondWith(func(*ocsp.Request) (int, []byte) { return http.StatusInternalServerError, nil })
			out, status, refresh := f.staple(t, &cert, time.Hour)
			if status != OCSPError {
				t.Errorf("status = %q, want %q", status, OCSPError)
			}
			if kept := bytes.Equal(out.OCSPStaple, old); kept != tt.kept {
				t.Errorf("previous staple kept = %t, want %t", kept, tt.kept)
			}
			if !tt.kept && out.OCSPStaple != nil {
				t.Error("an expired staple was left in place")
			}
			assertRetrySoon(t, f, refresh)
		})
	}
}

func TestOCSPStapleNoneWithoutAnyRequest(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*x509.Certificate)
		chain func(f *ocspFixture) *tls.Certificate
	}{
		{"leaf naming no OCSP responder", func(c *x509.Certificate) { c.OCSPServer = nil }, nil},
		{"leaf naming only a non-HTTP responder", func(c *x509.Certificate) { c.OCSPServer = []string{"ldap://ocsp.example/"} }, nil},
		{"chain holding only the leaf", nil, func(f *ocspFixture) *tls.Certificate {
			c := *f.cert
			c.Certificate = c.Certificate[:1]
			return &c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newOCSPFixture(t, tt.edit)
			cert := f.cert
			if tt.chain != nil {
				cert = tt.chain(f)
			}
			out, status, refresh := f.staple(t, cert, time.Hour)
			if status != OCSPNone {
				t.Errorf("status = %q, want %q; logs:\n%s", status, OCSPNone, f.logs.String())
			}
			if out.OCSPStaple != nil {
				t.Error("a staple was set with nothing to staple")
			}
			if n := f.requests.Load(); n != 0 {
				t.Errorf("the responder received %d requests, want none", n)
			}
			if !refresh.After(f.now) {
				t.Errorf("refresh %v is not in the future", refresh)
			}
			if strings.Contains(f.logs.String(), "level=WARN") || strings.Contains(f.logs.String(), "level=ERROR") {
				t.Errorf("status none was logged as a problem:\n%s", f.logs.String())
			}
		})
	}
}

func TestOCSPStapleRefreshIsHalfwayCappedByMaxRefresh(t *testing.T) {
	tests := []struct {
		name       string
		thisUpdate time.Duration // from now
		nextUpdate time.Duration // from now
		maxRefresh time.Duration
		want       time.Duration // from now
	}{
		{"halfway point before the cap", -time.Hour, 7 * time.Hour, 24 * time.Hour, 3 * time.Hour},
		{"cap before the halfway point", -time.Hour, 7 * time.Hour, time.Hour, time.Hour},
		{"non-positive cap means an hour", -time.Hour, 7 * time.Hour, 0, time.Hour},
		{"week-long response fetched fresh", 0, 7 * 24 * time.Hour, 7 * 24 * time.Hour, 84 * time.Hour},
		{"cached response past its halfway point: halfway through what is left", -6 * 24 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 12 * time.Hour},
		{"response about to expire: no sooner than a minute", -24 * time.Hour, 90 * time.Second, time.Hour, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newOCSPFixture(t, nil)
			body := f.response(t, ocsp.Response{Status: ocsp.Good,
				ThisUpdate: f.now.Add(tt.thisUpdate), NextUpdate: f.now.Add(tt.nextUpdate)})
			f.respondWith(func(*ocsp.Request) (int, []byte) { return http.StatusOK, body })
			_, status, refresh := f.staple(t, f.cert, tt.maxRefresh)
			if status != OCSPGood {
				t.Fatalf("status = %q, want %q; logs:\n%s", status, OCSPGood, f.logs.String())
			}
			if got := refresh.Sub(f.now); got != tt.want {
				t.Errorf("refresh in %v, want %v", got, tt.want)
			}
		})
	}
}
