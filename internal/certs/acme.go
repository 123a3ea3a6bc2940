package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/gqlguard/gqlguard/internal/capool"
	"github.com/gqlguard/gqlguard/internal/config"
)

// maxRenewalRatio caps the share of a certificate's lifetime that
// tls.acme.renew_before may claim. A renew_before at least as long as the
// lifetime (config written for 90-day certificates, a CA that issues 6-day
// ones) would otherwise renew at every check, every ten minutes, until the
// CA's rate limits stop it.
const maxRenewalRatio = 0.5

// ACME obtains and renews certificates for the configured domains with
// certmagic. Challenges are answered by the gateway's own listeners: HTTP-01
// through HTTPHandler on the plain-HTTP listener, TLS-ALPN-01 through
// GetCertificate on the HTTPS listener. Account keys, certificates and OCSP
// staples are kept in a storage directory, so a restart serves the stored
// certificates without asking the CA again.
type ACME struct {
	domains     []string
	email       string
	ca          string
	roots       *x509.CertPool
	storage     string
	http01      bool
	tlsALPN01   bool
	renewBefore time.Duration
	log         *slog.Logger
	zlog        *zap.Logger

	// renewCheck is how often certmagic looks for certificates to renew;
	// zero means its default of ten minutes.
	renewCheck time.Duration

	// OnCertificate, when set before Manage, is called with each
	// certificate obtained or renewed once Manage has loaded the first
	// ones: renewals, and domains obtained later by background retries. It
	// describes the new certificate as stored, which may be a moment before
	// handshakes are served it. It runs on certmagic's goroutine and must
	// not block.
	OnCertificate func(ManagedCert)

	started atomic.Bool
	loaded  atomic.Bool
	run     atomic.Pointer[acmeRun]
}

// NewACME prepares certificate management for cfg. Certificates are kept in
// cfg.Storage, or in defaultStorage when that is empty. It reads
// cfg.CARootFile, if set, and does nothing else: no file is written, no
// socket opened and no goroutine started until Manage.
func NewACME(cfg config.ACME, defaultStorage string, logger *slog.Logger) (*ACME, error) {
	if len(cfg.Domains) == 0 {
		return nil, errors.New("certs: ACME needs at least one domain (tls.acme.domains)")
	}
	storage := cfg.Storage
	if storage == "" {
		storage = defaultStorage
	}
	if storage == "" {
		return nil, errors.New("certs: ACME needs a storage directory (tls.acme.storage)")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &ACME{
		email:       cfg.Email,
		ca:          cfg.CA,
		storage:     storage,
		http01:      slices.Contains(cfg.Challenges, "http-01"),
		tlsALPN01:   slices.Contains(cfg.Challenges, "tls-alpn-01"),
		renewBefore: cfg.RenewBefore,
		log:         logger,
		zlog:        zap.New(newACMELogCore(logger)).Named("certmagic"),
	}
	for _, d := range cfg.Domains {
		a.domains = append(a.domains, strings.ToLower(d))
	}
	if cfg.CARootFile != "" {
		roots, err := capool.Read(cfg.CARootFile)
		if err != nil {
			return nil, fmt.Errorf("tls.acme.ca_root_file: %w", err)
		}
		a.roots = roots
	}
	return a, nil
}

// Manage loads each domain's certificate from storage or obtains it from the
// CA, one domain after the other, and returns when every domain has been
// tried. It fails, leaving nothing running, when no domain has a
// certificate; domains that failed while others succeeded are logged and
// retried in the background with backoff. Renewals and OCSP staple updates
// then run in the background until ctx is done. Manage may be called once.
func (a *ACME) Manage(ctx context.Context) error {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("certs: ACME.Manage was already called")
	}
	r, err := a.start()
	if err != nil {
		return err
	}
	a.run.Store(r)

	var missing []string
	var errs []error
	for _, d := range a.domains {
		if err := r.load(ctx, d); err != nil {
			missing = append(missing, d)
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
		}
	}
	if len(missing) == len(a.domains) {
		a.run.Store(nil)
		r.stop()
		return fmt.Errorf("no certificate could be obtained: %w", errors.Join(errs...))
	}
	// From here on, every certificate obtained is news to OnCertificate;
	// the ones loaded above are the caller's to look at when Manage returns.
	a.loaded.Store(true)
	for _, err := range errs {
		a.log.Error("ACME certificate not obtained; retrying in the background", "error", err)
	}
	if len(missing) > 0 {
		if err := r.base.ManageAsync(ctx, missing); err != nil {
			a.log.Error("ACME background retries not started", "domains", missing, "error", err)
		}
	}
	// Renewal decisions are made per certificate (see configFor); apply them
	// now instead of at the first maintenance tick.
	if err := r.cache.RenewManagedCertificates(ctx); err != nil {
		a.log.Error("ACME renewal check failed", "error", err)
	}
	go func() {
		<-ctx.Done()
		r.stop()
	}()
	return nil
}

// acmeRun is the state of one Manage call: certmagic's cache with its
// maintenance goroutine, and the configurations that share it.
type acmeRun struct {
	a       *ACME
	guard   net.Listener
	storage certmagic.Storage
	done    chan struct{}

	// base is the configuration used to obtain certificates, and issuer its
	// ACME issuer, which answers HTTP-01 challenges.
	base   *certmagic.Config
	issuer *certmagic.ACMEIssuer

	mu      sync.Mutex
	cache   *certmagic.Cache
	configs map[float64]*certmagic.Config
	revoked map[string]bool
}

func (a *ACME) start() (*acmeRun, error) {
	guard, err := listenChallengeGuard()
	if err != nil {
		return nil, err
	}
	r := &acmeRun{
		a:       a,
		guard:   guard,
		storage: &certmagic.FileStorage{Path: a.storage},
		done:    make(chan struct{}),
		configs: make(map[float64]*certmagic.Config),
		revoked: make(map[string]bool),
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   r.configFor,
		RenewCheckInterval: a.renewCheck,
		Logger:             a.zlog,
	})
	r.base, r.issuer = r.newConfig(0)
	r.configs[0] = r.base
	return r, nil
}

// stop ends maintenance and releases the challenge guard.
func (r *acmeRun) stop() {
	r.cache.Stop()
	_ = r.guard.Close()
	close(r.done)
}

// load puts the certificate for domain in the cache: the stored one when it
// has not expired, otherwise a new one from the CA.
func (r *acmeRun) load(ctx context.Context, domain string) error {
	cert, err := r.base.CacheManagedCertificate(ctx, domain)
	if errors.Is(err, fs.ErrNotExist) {
		if err := r.base.ObtainCertSync(ctx, domain); err != nil {
			return err
		}
		_, err = r.base.CacheManagedCertificate(ctx, domain)
		return err
	}
	if err != nil || !cert.Expired() {
		return err
	}
	if err := r.base.RenewCertSync(ctx, domain, false); err != nil {
		return err
	}
	if _, err := r.base.CacheManagedCertificate(ctx, domain); err != nil {
		return err
	}
	r.cache.Remove([]string{cert.Hash()})
	return nil
}

// configFor returns the configuration that manages cert. certmagic states
// when to renew as a share of the lifetime, tls.acme.renew_before as a
// duration; the share differs with the lifetime, so each share gets its own
// configuration (a CA issues few distinct lifetimes).
func (r *acmeRun) configFor(cert certmagic.Certificate) (*certmagic.Config, error) {
	ratio, capped := renewalRatio(r.a.renewBefore, cert.Lifetime())
	r.mu.Lock()
	defer r.mu.Unlock()
	if cfg, ok := r.configs[ratio]; ok {
		return cfg, nil
	}
	if capped {
		r.a.log.Warn("tls.acme.renew_before is longer than half the certificate's lifetime; renewing halfway through it instead",
			"renew_before", r.a.renewBefore.String(), "lifetime", cert.Lifetime().String())
	}
	cfg, _ := r.newConfig(ratio)
	r.configs[ratio] = cfg
	return cfg, nil
}

// renewalRatio converts renewBefore into certmagic's renewal window ratio for
// a certificate of the given lifetime; 0 means certmagic's default, a third.
// capped reports that renewBefore asked for more than maxRenewalRatio.
func renewalRatio(renewBefore, lifetime time.Duration) (ratio float64, capped bool) {
	if renewBefore <= 0 || lifetime <= 0 {
		return 0, false
	}
	ratio = float64(renewBefore) / float64(lifetime)
	if ratio > maxRenewalRatio {
		return maxRenewalRatio, true
	}
	return ratio, false
}

// newConfig makes a certmagic configuration on r's cache. r.mu must be held.
func (r *acmeRun) newConfig(ratio float64) (*certmagic.Config, *certmagic.ACMEIssuer) {
	a := r.a
	cfg := certmagic.New(r.cache, certmagic.Config{
		RenewalWindowRatio: ratio,
		Storage:            r.storage,
		Logger:             a.zlog,
		OnEvent:            r.onEvent,
		// Skips building the data of events nobody reads, such as the
		// one of every handshake.
		ShouldEmitFunc: func(event string) bool { return event == "cert_ocsp_revoked" },
		// Clients that send no server name (health checks by IP address)
		// get the first domain's certificate rather than a failed handshake.
		DefaultServerName: a.domains[0],
	})
	host, port := challengeGuardAddr(r.guard)
	iss := certmagic.NewACMEIssuer(cfg, certmagic.ACMEIssuer{
		CA:                      a.ca,
		Email:                   a.email,
		Agreed:                  true,
		DisableHTTPChallenge:    !a.http01,
		DisableTLSALPNChallenge: !a.tlsALPN01,
		ListenHost:              host,
		AltHTTPPort:             port,
		AltTLSALPNPort:          port,
		TrustedRoots:            a.roots,
		Logger:                  a.zlog,
	})
	var issuer certmagic.Issuer = iss
	if a.email == "" {
		issuer = promptlessIssuer{iss}
	}
	cfg.Issuers = []certmagic.Issuer{issuer}
	return cfg, iss
}

// onEvent remembers certificates that certmagic found revoked (it does not
// staple a revoked response, so Certificates could not tell otherwise) and
// passes obtained and renewed certificates to OnCertificate.
func (r *acmeRun) onEvent(ctx context.Context, event string, data map[string]any) error {
	switch event {
	case "cert_ocsp_revoked":
		if cert, ok := data["certificate"].(certmagic.Certificate); ok {
			r.mu.Lock()
			r.revoked[cert.Hash()] = true
			r.mu.Unlock()
		}
	case "cert_obtained":
		r.obtained(ctx, data)
	}
	return nil
}

// obtained tells OnCertificate about the certificate a cert_obtained event
// names. certmagic emits the event when the certificate is stored, before
// it replaces the old one in its cache, so the certificate is read from
// storage.
func (r *acmeRun) obtained(ctx context.Context, data map[string]any) {
	notify := r.a.OnCertificate
	if notify == nil || !r.a.loaded.Load() {
		return
	}
	name, _ := data["identifier"].(string)
	path, _ := data["certificate_path"].(string)
	leaf, err := r.storedLeaf(ctx, path)
	if err != nil {
		r.a.log.Error("ACME certificate obtained but not readable from storage", "name", name, "error", err)
		return
	}
	notify(ManagedCert{
		Name:       name,
		NotAfter:   leaf.NotAfter,
		KeyType:    KeyType(leaf),
		OCSPStatus: acmeOCSPStatus(certmagic.Certificate{Certificate: tls.Certificate{Leaf: leaf}}, false),
	})
}

// storedLeaf reads the first certificate of the PEM chain stored at key.
func (r *acmeRun) storedLeaf(ctx context.Context, key string) (*x509.Certificate, error) {
	if key == "" {
		return nil, errors.New("the event names no certificate")
	}
	chain, err := r.storage.Load(ctx, key)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(chain)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate", key)
	}
	return x509.ParseCertificate(block.Bytes)
}

func (r *acmeRun) isRevoked(cert certmagic.Certificate) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.revoked[cert.Hash()]
}

// promptlessIssuer is certmagic's ACME issuer with its prompts switched off.
// When no email address is configured and none is in storage, certmagic
// asks for one on standard input during a foreground ("interactive") obtain,
// which would block a server started from a terminal and print into its log
// otherwise. With an address it never prompts, so the plain issuer is kept:
// certmagic recognises only that type when it tells the CA which
// certificate a renewal replaces (ARI).
type promptlessIssuer struct{ *certmagic.ACMEIssuer }

// PreCheck runs certmagic's checks without prompting.
func (p promptlessIssuer) PreCheck(ctx context.Context, names []string, _ bool) error {
	return p.ACMEIssuer.PreCheck(ctx, names, false)
}

// listenChallengeGuard opens the socket that keeps certmagic from serving
// challenges itself. Its solvers bind ListenHost:port for a challenge server
// of their own unless that address is taken, in which case they assume the
// server already there answers (the gateway's listeners do). Pointing them
// at a loopback socket held open here means certmagic never binds port 80
// or 443, even when the process could.
func listenChallengeGuard() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln, err = net.Listen("tcp", "[::1]:0")
	}
	if err != nil {
		return nil, fmt.Errorf("certs: ACME: %w", err)
	}
	// certmagic only checks that a connection can be made.
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return ln, nil
}

func challengeGuardAddr(ln net.Listener) (host string, port int) {
	addr := ln.Addr().(*net.TCPAddr)
	return addr.IP.String(), addr.Port
}
