package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
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

	pair       int // index of its pair in the configuration
	nextStaple time.Time
}

// NotAfter returns when the certificate expires.
func (l *Loaded) NotAfter() time.Time { return l.Cert.Leaf.NotAfter }

// KeyType returns the algorithm of the certificate's key (see KeyType).
func (l *Loaded) KeyType() string { return KeyType(l.Cert.Leaf) }

// Serial returns leaf's serial number in upper-case hex, as openssl x509
// -serial prints it.
func Serial(leaf *x509.Certificate) string {
	return strings.ToUpper(leaf.SerialNumber.Text(16))
}

// Fingerprint returns the SHA-256 of leaf's DER encoding as colon-separated
// upper-case hex pairs, as openssl x509 -fingerprint -sha256 prints it.
func Fingerprint(leaf *x509.Certificate) string {
	sum := sha256.Sum256(leaf.Raw)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

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
// handshake uses whichever set was current when it began. Each pair is
// reloaded on its own: a changed pair that does not load (unreadable, key
// mismatch, expired) is refused with one log line, its previous certificate
// keeps serving, and the other pairs still reload.
type FileSource struct {
	pairs []config.CertPair
	log   *slog.Logger
	now   func() time.Time
	cur   atomic.Pointer[[]*Loaded]

	// seen holds, per pair, the fingerprint of its files as last read,
	// whether they loaded or were refused, so that files that did not
	// change are neither parsed nor reported again; retryAt, when they were
	// refused as not yet valid, when to try them again all the same.
	// expiredLogged records, per pair, that the expiry of its served
	// certificate was logged. Only Reload uses them; it runs in Watch's
	// goroutine.
	seen          [][32]byte
	retryAt       []time.Time
	expiredLogged []bool

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
	s := &FileSource{pairs: pairs, log: logger, now: now,
		seen: make([][32]byte, len(pairs)), retryAt: make([]time.Time, len(pairs)), expiredLogged: make([]bool, len(pairs))}
	set := make([]*Loaded, 0, len(pairs))
	for i := range pairs {
		l, err := s.loadPair(i, now(), true)
		if err != nil {
			return nil, err
		}
		set = append(set, l)
		s.logLoaded(l)
	}
	sortByPreference(set)
	s.cur.Store(&set)
	return s, nil
}

// logLoaded logs a certificate that starts serving. Subject, serial and
// fingerprint tell one load from the next even when a renewal keeps the
// name and the key type.
func (s *FileSource) logLoaded(l *Loaded) {
	leaf := l.Cert.Leaf
	s.log.Info("certificate loaded", "name", l.Name, "key_type", l.KeyType(), "file", l.CertFile,
		"subject", leaf.Subject.String(), "serial", Serial(leaf), "not_after", l.NotAfter().UTC().Format(time.RFC3339),
		"sha256", Fingerprint(leaf))
}

// pairKey is the config key of the i-th pair.
func (s *FileSource) pairKey(i int) string {
	if k := s.pairs[i].Key; k != "" {
		return k
	}
	if i == 0 {
		return "tls.cert_file"
	}
	return fmt.Sprintf("tls.certificates[%d]", i-1)
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

// sortByPreference puts ECDSA (and Ed25519) first: smaller handshakes,
// faster signatures. Otherwise the configured order is kept.
func sortByPreference(set []*Loaded) {
	sort.SliceStable(set, func(i, j int) bool {
		if ri, rj := rank(set[i]), rank(set[j]); ri != rj {
			return ri < rj
		}
		return set[i].pair < set[j].pair
	})
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

// readPair reads a pair's certificate chain and key.
func readPair(p config.CertPair) (certPEM, keyPEM []byte, err error) {
	if certPEM, err = os.ReadFile(p.CertFile); err != nil {
		return nil, nil, err
	}
	if keyPEM, err = os.ReadFile(p.KeyFile); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// filesFingerprint identifies what reading a pair gave: the two files' contents,
// or the error that kept them from being read.
func filesFingerprint(certPEM, keyPEM []byte, readErr error) [32]byte {
	h := sha256.New()
	if readErr != nil {
		h.Write([]byte("error\x00" + readErr.Error()))
	} else {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(certPEM)))
		h.Write(n[:])
		h.Write(certPEM)
		h.Write(keyPEM)
	}
	var fp [32]byte
	copy(fp[:], h.Sum(nil))
	return fp
}

// parsePair parses one certificate chain and key and refuses a pair that
// does not match or whose leaf is not valid at now.
func parsePair(p config.CertPair, certPEM, keyPEM []byte, now time.Time) (*Loaded, error) {
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
		return nil, &notYetValidError{file: p.CertFile, notBefore: leaf.NotBefore}
	}
	name := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	return &Loaded{Cert: &cert, Name: name, CertFile: p.CertFile, OCSP: OCSPNone}, nil
}

// notYetValidError refuses a certificate whose validity has not begun; its
// files are tried again once it has.
type notYetValidError struct {
	file      string
	notBefore time.Time
}

func (e *notYetValidError) Error() string {
	return fmt.Sprintf("%s: the certificate is not valid before %s", e.file, e.notBefore.UTC().Format(time.RFC3339))
}

// Reload re-reads the files now and replaces each certificate whose files
// changed since they were last read. Files that did not change are not
// parsed again, so a problem is reported once per change, not at every
// reload. It returns the refusals of this call, joined; the refused pairs'
// previous certificates keep serving.
func (s *FileSource) Reload() error {
	now := s.now()
	set := slices.Clone(*s.cur.Load())
	changed := false
	var errs []error
	for i := range s.pairs {
		l, err := s.reloadPair(i, now)
		if err != nil {
			errs = append(errs, err)
		}
		if l == nil {
			continue
		}
		for j := range set {
			if set[j].pair == i {
				set[j], changed = l, true
			}
		}
		s.expiredLogged[i] = false
		s.logLoaded(l)
	}
	if changed {
		sortByPreference(set)
		s.cur.Store(&set)
	}
	s.logExpired(set, now)
	return errors.Join(errs...)
}

// reloadPair loads pair i if its files changed since they were last read:
// nil, nil when they did not.
func (s *FileSource) reloadPair(i int, now time.Time) (*Loaded, error) {
	// Unchanged files are parsed again only when they were not valid yet
	// and now may be.
	retry := s.retryAt[i]
	l, err := s.loadPair(i, now, !retry.IsZero() && !now.Before(retry))
	if l == nil && err == nil { // unchanged
		return nil, nil
	}
	if outOfFiles(err) {
		// Nothing was read, so a pending retry stands.
		s.log.Error("certificate reload refused: the process is out of file descriptors, so the files could not be read (raise the open-file limit or lower server.max_connections); the previous certificate keeps serving", "error", err)
		return nil, err
	}
	s.retryAt[i] = time.Time{}
	if nyv := (*notYetValidError)(nil); errors.As(err, &nyv) {
		s.retryAt[i] = nyv.notBefore
	}
	if err != nil {
		s.log.Error("certificate reload refused; the previous certificate keeps serving", "error", err)
		return nil, err
	}
	return l, nil
}

// outOfFiles reports whether err is the process (EMFILE) or the system
// (ENFILE) running out of file descriptors: nothing is wrong with the
// files, and reading them again later may succeed.
func outOfFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// loadPair reads and parses pair i and records the fingerprint of its
// files. Unless force, files whose fingerprint is the one recorded last are
// not parsed: nil, nil. Errors name the pair's config key.
func (s *FileSource) loadPair(i int, now time.Time, force bool) (*Loaded, error) {
	p := s.pairs[i]
	certPEM, keyPEM, err := readPair(p)
	if outOfFiles(err) {
		// The files were not read, so nothing is known about them: the
		// fingerprint of the last read stands, and the next reload reads
		// them again.
		return nil, fmt.Errorf("%s: %w", s.pairKey(i), err)
	}
	fp := filesFingerprint(certPEM, keyPEM, err)
	if !force && fp == s.seen[i] {
		return nil, nil
	}
	s.seen[i] = fp
	var l *Loaded
	if err == nil {
		l, err = parsePair(p, certPEM, keyPEM, now)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.pairKey(i), err)
	}
	l.pair = i
	return l, nil
}

// logExpired logs, once per certificate, that a served certificate has
// expired where it was: its files did not change in time. The daily expiry
// warning and /readyz keep reporting it.
func (s *FileSource) logExpired(set []*Loaded, now time.Time) {
	for _, l := range set {
		if s.expiredLogged[l.pair] || !now.After(l.NotAfter()) {
			continue
		}
		s.expiredLogged[l.pair] = true
		s.log.Error("a served certificate has expired; replace its files", "name", l.Name, "key_type", l.KeyType(),
			"file", l.CertFile, "not_after", l.NotAfter().UTC().Format(time.RFC3339))
	}
}

// Watch reloads the sources' files every interval and whenever hup delivers
// (SIGHUP), and keeps their OCSP staples fresh, until ctx is done. Polling
// follows every way files get replaced (rename, symlink swap by Kubernetes,
// copy) without depending on file-system events. One goroutine serves every
// source (a gateway's listeners), so that one SIGHUP reloads them all.
func Watch(ctx context.Context, interval time.Duration, hup <-chan os.Signal, sources ...*FileSource) {
	if len(sources) == 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for _, s := range sources {
		s.staple(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-hup:
			sources[0].log.Info("SIGHUP: reloading certificates")
		}
		// Every reload first: a slow OCSP responder must not hold up
		// another listener's new certificate.
		for _, s := range sources {
			_ = s.Reload()
		}
		for _, s := range sources {
			s.staple(ctx)
		}
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
