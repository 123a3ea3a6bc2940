package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"

	"golang.org/x/crypto/ocsp"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/pebble"
)

// The end-to-end test runs gqlguard's ACME client against Pebble, the test
// CA of Let's Encrypt, built from the module proxy. Pebble validates
// challenges against the test's own HTTP and HTTPS listeners, resolving the
// test domains through pebble-challtestsrv, whose DNS answers 127.0.0.1.

const (
	// pebbleShortValidity is the lifetime of the certificates of the CA
	// that the renewal tests use.
	pebbleShortValidity = 16 * time.Second
	// acmeTestEmail is the account contact of the renewal tests.
	acmeTestEmail = "ops@gqlguard.test"
)

func TestACMEAgainstPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Pebble, a test ACME CA; skipped with -short")
	}
	env := startPebbleEnv(t)

	// First, so that no account email is known in the process yet and the
	// prompt-free issuer is exercised.
	t.Run("a restart serves the stored certificate without a new order", env.testRestart)
	t.Run("http-01 obtains a certificate and renews it", func(t *testing.T) {
		env.testObtainAndRenew(t, "http-01", "http01.gqlguard.test")
	})
	t.Run("tls-alpn-01 obtains a certificate and renews it", func(t *testing.T) {
		env.testObtainAndRenew(t, "tls-alpn-01", "tlsalpn01.gqlguard.test")
	})
}

// testRestart obtains a certificate, stops, and starts again on the same
// storage: the stored certificate is served, with its OCSP staple, and
// neither the CA nor the challenge handlers are asked for anything.
func (e *pebbleEnv) testRestart(t *testing.T) {
	const domain = "restart.gqlguard.test"
	cfg := config.ACME{
		Domains:    []string{domain},
		CA:         e.long.DirectoryURL,
		CARootFile: e.long.CARootFile,
		Storage:    e.storageDir(t),
		Challenges: []string{"http-01", "tls-alpn-01"},
	}

	first := e.newACME(t, cfg)
	stopFirst := e.manage(t, first)
	leaf, staple := e.served(t, domain, e.long.Roots())
	assertPebbleStaple(t, staple, leaf, e.long)
	assertACMEManaged(t, first, domain, leaf.NotAfter, "good")
	issued := e.long.IssuedCount()
	stopFirst()

	second := e.newACME(t, cfg)
	httpBefore, alpnBefore := e.front.counts()
	e.manage(t, second)
	again, staple := e.served(t, domain, e.long.Roots())
	if again.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("after the restart serial %x is served, want the stored %x", again.SerialNumber, leaf.SerialNumber)
	}
	assertPebbleStaple(t, staple, again, e.long)
	assertACMEManaged(t, second, domain, leaf.NotAfter, "good")
	if n := e.long.IssuedCount(); n != issued {
		t.Errorf("Pebble issued %d certificates during the restart, want none", n-issued)
	}
	if h, a := e.front.counts(); h != httpBefore || a != alpnBefore {
		t.Errorf("challenges answered during the restart: %d http-01, %d tls-alpn-01; want none", h-httpBefore, a-alpnBefore)
	}
}

// testObtainAndRenew allows only challenge, obtains a certificate for domain
// from the short-lived CA and waits until a renewed one is served.
func (e *pebbleEnv) testObtainAndRenew(t *testing.T, challenge, domain string) {
	a := e.newACME(t, config.ACME{
		Domains:    []string{domain},
		Email:      acmeTestEmail,
		CA:         e.short.DirectoryURL,
		CARootFile: e.short.CARootFile,
		Storage:    e.storageDir(t),
		Challenges: []string{challenge},
		// Longer than the lifetime: capped to half of it.
		RenewBefore: time.Hour,
	})
	a.renewCheck = 250 * time.Millisecond
	renewed := make(chan ManagedCert, 16)
	a.OnCertificate = func(m ManagedCert) { renewed <- m }
	httpBefore, alpnBefore := e.front.counts()
	e.manage(t, a)
	select {
	case m := <-renewed:
		t.Errorf("OnCertificate called with %+v for a certificate Manage loaded itself", m)
	default:
	}

	first, staple := e.served(t, domain, e.short.Roots())
	if len(staple) != 0 {
		t.Errorf("a staple is served for a certificate that names no OCSP responder")
	}
	certs := a.Certificates()
	if len(certs) != 1 || certs[0].Name != domain || certs[0].OCSPStatus != "none" {
		t.Errorf("Certificates() = %+v, want one for %s with OCSP status none", certs, domain)
	}

	deadline := time.Now().Add(30 * time.Second)
	next := first
	for next.SerialNumber.Cmp(first.SerialNumber) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no renewed certificate served within 30s of %x (valid %s to %s)",
				first.SerialNumber, first.NotBefore.Format(time.TimeOnly), first.NotAfter.Format(time.TimeOnly))
		}
		time.Sleep(200 * time.Millisecond)
		next, _ = e.served(t, domain, e.short.Roots())
	}
	if next.NotBefore.Before(first.NotBefore) || next.NotAfter.Before(first.NotAfter) {
		t.Errorf("renewed certificate valid %s to %s, before the first one (%s to %s)",
			next.NotBefore, next.NotAfter, first.NotBefore, first.NotAfter)
	}
	// certmagic stores the renewed certificate before it serves it.
	select {
	case m := <-renewed:
		if m.Name != domain || !m.NotAfter.Equal(next.NotAfter) || m.KeyType != "ecdsa" {
			t.Errorf("OnCertificate got %+v, want the renewed certificate for %s, valid until %s", m, domain, next.NotAfter)
		}
	default:
		t.Errorf("OnCertificate was not called for the renewal")
	}
	if !strings.Contains(e.short.Output(), "is a replacement of") {
		t.Errorf("the renewal order did not name the certificate it replaces (ARI)")
	}

	h, alpn := e.front.counts()
	h, alpn = h-httpBefore, alpn-alpnBefore
	switch challenge {
	case "http-01":
		if h < 2 || alpn != 0 {
			t.Errorf("answered %d http-01 and %d tls-alpn-01 challenges; want one http-01 per order (2 or more) and no tls-alpn-01", h, alpn)
		}
	case "tls-alpn-01":
		if alpn < 2 || h != 0 {
			t.Errorf("answered %d tls-alpn-01 and %d http-01 challenges; want one tls-alpn-01 per order (2 or more) and no http-01", alpn, h)
		}
	}
}

func assertACMEManaged(t *testing.T, a *ACME, domain string, notAfter time.Time, ocspStatus string) {
	t.Helper()
	want := []ManagedCert{{Name: domain, NotAfter: notAfter, OCSPStatus: ocspStatus}}
	got := a.Certificates()
	if len(got) != 1 || got[0].Name != domain || !got[0].NotAfter.Equal(notAfter) || got[0].OCSPStatus != ocspStatus {
		t.Errorf("Certificates() = %+v, want %+v", got, want)
	}
}

func assertPebbleStaple(t *testing.T, staple []byte, leaf *x509.Certificate, p *pebble.Server) {
	t.Helper()
	if len(staple) == 0 {
		t.Fatal("no OCSP staple served")
	}
	issuer, _, err := p.Intermediate()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ocsp.ParseResponseForCert(staple, leaf, issuer)
	if err != nil {
		t.Fatalf("served staple: %v", err)
	}
	if resp.Status != ocsp.Good {
		t.Errorf("served staple has status %d, want good", resp.Status)
	}
}

// pebbleEnv is what the subtests share: the gateway-side listeners that
// Pebble validates against and two CAs, one with 16-second certificates for
// renewals and one with 90-day certificates and an OCSP responder.
type pebbleEnv struct {
	front     *acmeFrontend
	httpsAddr string
	storage   string
	short     *pebble.Server
	long      *pebble.Server
}

func startPebbleEnv(t *testing.T) *pebbleEnv {
	// Made first, so that the test is skipped before anything starts when
	// Pebble cannot be had.
	long, short := pebble.New(t), pebble.New(t)
	// Storage outlives the subtests' temporary directories: certmagic may
	// still be writing in it for a moment after maintenance stopped.
	storage, err := os.MkdirTemp("", "gqlguard-acme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(storage) })

	front := &acmeFrontend{}
	httpAddr, httpsAddr := front.start(t)
	ports := pebble.Options{HTTPPort: pebble.PortOf(t, httpAddr), TLSPort: pebble.PortOf(t, httpsAddr)}

	withOCSP := ports
	withOCSP.OCSP = true
	long.Start(t, withOCSP)

	shortLived := ports
	shortLived.CertLifetime = pebbleShortValidity
	short.Start(t, shortLived)
	return &pebbleEnv{front: front, httpsAddr: httpsAddr, storage: storage, short: short, long: long}
}

func (e *pebbleEnv) storageDir(t *testing.T) string {
	dir, err := os.MkdirTemp(e.storage, "storage-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// newACME makes the ACME the frontend serves. Its log is shown if the test
// fails; it is kept in a buffer because certmagic may still log for a moment
// after the test ended.
func (e *pebbleEnv) newACME(t *testing.T, cfg config.ACME) *ACME {
	t.Helper()
	logs := &logbuf.Buffer{}
	a, err := NewACME(cfg, "", slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gqlguard ACME log:\n%s", logs.String())
		}
	})
	e.front.acme.Store(a)
	return a
}

// manage runs a.Manage with a bound, and returns a function that stops the
// background maintenance and waits for it; it also runs at cleanup.
func (e *pebbleEnv) manage(t *testing.T, a *ACME) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Manage(ctx) }()
	select {
	case err := <-errc:
		if err != nil {
			cancel()
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("Manage did not return within 30s")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-a.run.Load().done:
			case <-time.After(10 * time.Second):
				t.Error("certificate maintenance did not stop within 10s")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// served makes a TLS handshake with the HTTPS listener for domain, verified
// against roots, and returns the leaf and the OCSP staple.
func (e *pebbleEnv) served(t *testing.T, domain string, roots *x509.CertPool) (*x509.Certificate, []byte) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", e.httpsAddr, &tls.Config{
		ServerName: domain,
		RootCAs:    roots,
		NextProtos: []string{"http/1.1"},
	})
	if err != nil {
		t.Fatalf("handshake for %s: %v", domain, err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	leaf := st.PeerCertificates[0]
	if err := leaf.VerifyHostname(domain); err != nil {
		t.Fatal(err)
	}
	return leaf, st.OCSPResponse
}
