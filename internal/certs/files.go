package certs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
)

// Loaded is one serving certificate as the gateway holds it.
type Loaded struct {
	// Cert is what handshakes present (with its OCSP staple, if any).
	Cert *tls.Certificate
	// Name is the certificate's first DNS name, or its subject's common
	// name, used in logs and metrics.
	Name string
	// CertFile is the file it came from.
	CertFile string
	// OCSP is the staple status.
	OCSP OCSPStatus

	digest     [32]byte
	nextStaple time.Time
}

// NotAfter returns when the certificate expires.
func (l *Loaded) NotAfter() time.Time { return l.Cert.Leaf.NotAfter }

// KeyType returns the algorithm of the certificate's key (see KeyType).
func (l *Loaded) KeyType() string { return KeyType(l.Cert.Leaf) }

// KeyType names the algorithm of leaf's public key as logs and metrics show
// it: "ecdsa", "rsa", "ed25519", or "other".
func KeyType(leaf *x509.Certificate) string {
	switch leaf.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return "ecdsa"
	case *rsa.PublicKey:
		return "rsa"
	case ed25519.PublicKey:
		return "ed25519"
	default:
		return "other"
	}
}

// FileSource serves certificates read from PEM files and replaces them when
// the files change, without a restart and without a failed handshake: a
// handshake uses whichever set was current when it began. A changed pair that
// does not load (unreadable, key mismatch, expired) is refused with a log line
// and the previous certificate keeps serving.
type FileSource struct {
	pairs []config.CertPair
	log   *slog.Logger
	now   func() time.Time
	cur   atomic.Pointer[[]*Loaded]

	// Stapler, when set, staples OCSP responses to the certificates that
	// name a responder, refreshed at least every StapleRefresh.
	Stapler       *Stapler
	StapleRefresh time.Duration
}

// NewFileSource loads every pair. It fails when any pair cannot be loaded
// or is not valid now, so the gateway never starts with a broken certificate.
func NewFileSource(pairs []config.CertPair, logger *slog.Logger, now func() time.Time) (*FileSource, error) {
	if len(pairs) == 0 {
		return nil, errors.New("certs: no certificate files configured")
	}
	if now == nil {
		now = time.Now
	}
	s := &FileSource{pairs: pairs, log: logger, now: now}
	set, err := s.load()
	if err != nil {
		return nil, err
	}
	s.cur.Store(&set)
	return s, nil
}

// Certificates returns the certificates being served, ECDSA first.
func (s *FileSource) Certificates() []*Loaded { return *s.cur.Load() }

// GetCertificate picks the first certificate the client supports, so an
// ECDSA certificate is preferred wherever it is configured and supported,
// and falls back to the first otherwise (the handshake then fails on the
// client's side with a clear alert).
func (s *FileSource) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	set := *s.cur.Load()
	if len(set) > 1 {
		for _, l := range set {
			if hello.SupportsCertificate(l.Cert) == nil {
				return l.Cert, nil
			}
		}
	}
	return set[0].Cert, nil
}

func (s *FileSource) load() ([]*Loaded, error) {
	set := make([]*Loaded, 0, len(s.pairs))
	for i, p := range s.pairs {
		l, err := loadPair(p, s.now())
		if err != nil {
			key := "tls.cert_file"
			if i > 0 {
				key = fmt.Sprintf("tls.certificates[%d]", i-1)
			}
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		set = append(set, l)
	}
	// ECDSA (and Ed25519) first: smaller handshakes, faster signatures.
	sort.SliceStable(set, func(i, j int) bool { return rank(set[i]) < rank(set[j]) })
	return set, nil
}

func rank(l *Loaded) int {
	switch l.Cert.PrivateKey.(type) {
	case *ecdsa.PrivateKey:
		return 0
	case ed25519.PrivateKey:
		return 1
	default:
		return 2
	}
}

// loadPair reads one certificate chain and key and refuses a pair that does
// not match or whose leaf is not valid at now.
func loadPair(p config.CertPair, now time.Time) (*Loaded, error) {
	certPEM, err := os.ReadFile(p.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(p.KeyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", p.CertFile, p.KeyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", p.CertFile, err)
		}
		cert.Leaf = leaf
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("%s: the certificate expired on %s; renew it", p.CertFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("%s: the certificate is not valid before %s", p.CertFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	name := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	h := sha256.New()
	h.Write(certPEM)
	h.Write(keyPEM)
	l := &Loaded{Cert: &cert, Name: name, CertFile: p.CertFile, OCSP: OCSPNone}
	copy(l.digest[:], h.Sum(nil))
	return l, nil
}

// Reload re-reads the files now. It returns nil when the files are
// unchanged or were loaded; on failure the old certificates keep serving.
func (s *FileSource) Reload() error {
	set, err := s.load()
	if err != nil {
		s.log.Error("certificate reload refused; the previous certificate keeps serving", "error", err)
		return err
	}
	old := *s.cur.Load()
	if sameDigests(old, set) {
		return nil
	}
	s.cur.Store(&set)
	for _, l := range set {
		s.log.Info("certificate loaded", "name", l.Name, "file", l.CertFile, "not_after", l.NotAfter().UTC().Format(time.RFC3339))
	}
	return nil
}

func sameDigests(a, b []*Loaded) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].digest[:], b[i].digest[:]) {
			return false
		}
	}
	return true
}

// Watch reloads the files every interval and whenever hup delivers (SIGHUP),
// and keeps OCSP staples fresh, until ctx is done. Polling follows every way
// files get replaced (rename, symlink swap by Kubernetes, copy) without
// depending on file-system events.
func (s *FileSource) Watch(ctx context.Context, interval time.Duration, hup <-chan os.Signal) {
	t := time.NewTicker(interval)
	defer t.Stop()
	s.staple(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-hup:
			s.log.Info("SIGHUP: reloading certificates")
		}
		_ = s.Reload()
		s.staple(ctx)
	}
}

// staple refreshes the OCSP staples that are due. It runs only in Watch's
// goroutine, like Reload, so the two never race.
func (s *FileSource) staple(ctx context.Context) {
	if s.Stapler == nil {
		return
	}
	now := s.now()
	old := *s.cur.Load()
	next := make([]*Loaded, len(old))
	changed := false
	for i, l := range old {
		next[i] = l
		if now.Before(l.nextStaple) {
			continue
		}
		cert, status, refresh := s.Stapler.Staple(ctx, l.Cert, s.StapleRefresh)
		c := *l
		c.Cert, c.OCSP, c.nextStaple = cert, status, refresh
		next[i], changed = &c, true
		if status != l.OCSP {
			s.log.Info("OCSP staple status", "name", l.Name, "status", string(status), "next_refresh", refresh.UTC().Format(time.RFC3339))
		}
	}
	if changed {
		s.cur.Store(&next)
	}
}
