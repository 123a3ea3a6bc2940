// Package server assembles gqlguard: it builds every stage from the config,
// chains them in the order DESIGN.md gives, binds the HTTPS, redirect and
// admin listeners, and shuts them down gracefully.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gqlguard/gqlguard/auth"
	"github.com/gqlguard/gqlguard/cors"
	"github.com/gqlguard/gqlguard/csrf"
	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/admin"
	"github.com/gqlguard/gqlguard/internal/clientip"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/headers"
	"github.com/gqlguard/gqlguard/internal/proxy"
	"github.com/gqlguard/gqlguard/internal/telemetry"
)

// upstreamInternals are upstream response headers that only tell an attacker
// what runs behind the gateway (or that the gateway sets itself).
var upstreamInternals = []string{"X-Request-Id", "Server", "X-Powered-By", "X-Aspnet-Version", "X-Aspnetmvc-Version"}

// Server is a configured gateway. Build it with New, bind it with Listen,
// serve with Serve.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	health  *proxy.Health
	tls     *tlsSetup
	admTLS  *tls.Config // nil: the admin listener is plain HTTP
	docs    *documentStages
	authn   *authentication
	metrics *telemetry.Metrics
	opts    options

	https, redirect, admin *http.Server
	lnHTTPS, lnHTTP, lnAdm net.Listener
	// conns is the connection budget of the HTTPS and plain-HTTP
	// listeners, connMetrics their metrics by listener name.
	conns       *connBudget
	connMetrics map[string]telemetry.ListenerMetrics
	draining    atomic.Bool // set when shutdown begins
}

// New builds every stage from cfg. It opens no listener, but reads the
// certificate files, so a bad certificate stops it here. A nil logger
// discards.
func New(cfg *config.Config, logger *slog.Logger, opts ...Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	trusted := make(clientip.Trusted, 0, len(cfg.Server.TrustedProxies))
	for _, p := range cfg.Server.TrustedProxies {
		prefix, _ := config.ParsePrefix(p) // validated above
		trusted = append(trusted, prefix)
	}
	tlsSet, err := newTLSSetup(cfg.TLS, logger)
	if err != nil {
		return nil, err
	}
	if o.registry == nil {
		o.registry = prometheus.NewRegistry()
	}
	if err := registerRuntimeMetrics(o.registry); err != nil {
		return nil, err
	}
	if o.expiryCheck == 0 {
		o.expiryCheck = 24 * time.Hour
	}
	fwd, err := proxy.New(cfg.Upstream, proxy.Options{
		Transport: o.upstreamTransport, Trusted: trusted, Logger: logger,
		DropResponseHeaders: slices.Concat(upstreamInternals, headers.Owned, cors.ResponseHeaders),
		Identity:            identityOptions(cfg),
	})
	if err != nil {
		return nil, err
	}
	admTLS, admFiles, err := newAdminTLS(cfg, logger)
	if err != nil {
		return nil, err
	}
	tlsSet.admin = admFiles
	s := &Server{cfg: cfg, log: logger, health: fwd.Health(cfg.Upstream.HealthInterval), tls: tlsSet, admTLS: admTLS, opts: o}
	s.metrics = telemetry.NewMetrics(o.registry, tlsSet.certInfo)
	s.conns = &connBudget{max: int64(maxConnections(cfg.Server, logger)), log: logger}
	public := []string{"https"}
	if cfg.Listen.HTTP != "" {
		public = append(public, "http")
	}
	s.connMetrics = telemetry.NewConnectionMetrics(o.registry, int(s.conns.max), public...)

	maxBatch := 0
	if cfg.GraphQL.Batching.Enabled {
		maxBatch = cfg.GraphQL.Batching.MaxSize
	}
	authn, err := newAuthentication(cfg, logger)
	if err != nil {
		return nil, err
	}
	s.authn = authn
	var authorize func(*http.Request, documents.Resolved) error
	if authn != nil {
		authorize = auth.PublicOnly
	}
	docs, err := newDocumentStages(cfg, logger, authorize, proxy.GETCache(cfg.Documents.CacheControl, fwd))
	if err != nil {
		return nil, err
	}
	s.docs = docs
	limits := envelope.Limits{MaxBodyBytes: cfg.GraphQL.MaxBodyBytes, MaxBatch: maxBatch}
	if u := cfg.GraphQL.Uploads; u.Enabled {
		limits.MaxUploadFiles, limits.MaxUploadBytes = u.MaxFiles, u.MaxBytes
	}
	envelopeStage := &envelope.Handler{
		Limits:      limits,
		CachePrefix: strings.TrimSuffix(cfg.GraphQL.Path, "/") + "/",
		Next:        docs.resolver,
	}
	// Stages that need no body run first: CSRF, then authentication, so
	// that a refused request is never read.
	var graphql http.Handler = envelopeStage
	if authn != nil {
		graphql = authn.stage(graphql)
	}
	graphql = auth.ClientCertificate(graphql)
	if cfg.CSRF.Enabled {
		graphql = csrf.New(cfg.CSRF.Headers, graphql)
	}
	// Preflights are answered here and never reach the GraphQL stages.
	if graphql, err = cors.New(cors.Options{
		AllowedOrigins:      cfg.CORS.AllowedOrigins,
		AllowCredentials:    cfg.CORS.AllowCredentials,
		AllowedHeaders:      cfg.CORS.AllowedHeaders,
		ExposedHeaders:      cfg.CORS.ExposedHeaders,
		MaxAge:              cfg.CORS.MaxAge,
		AllowPrivateNetwork: cfg.CORS.AllowPrivateNetwork,
	}, graphql); err != nil {
		return nil, err
	}
	// Paths are matched exactly, not through http.ServeMux: its cleaning
	// would answer /x/../graphql with a bare 307 that clients follow.
	// Below the endpoint, only cache URLs (<path>/<id>/<operationName>):
	// <path>/ itself is not the endpoint.
	endpoint, cacheURLs := cfg.GraphQL.Path, envelopeStage.CachePrefix
	route := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == endpoint || len(p) > len(cacheURLs) && strings.HasPrefix(p, cacheURLs) {
			graphql.ServeHTTP(w, r)
			return
		}
		envelope.WriteError(w, r, envelope.Errorf(envelope.CodeNotFound, "no GraphQL endpoint here; send requests to %s", endpoint))
	})
	chain := &telemetry.Observer{
		Logger:  logger,
		Trusted: trusted,
		Metrics: s.metrics,
		Next:    headers.New(cfg.TLS.HSTS.MaxAge, cfg.TLS.HSTS.IncludeSubdomains, cfg.TLS.HSTS.Preload, writeDeadlines(cfg.Server.WriteIdleTimeout, route)),
	}

	errLog := slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	s.https = &http.Server{
		Handler:           chain,
		TLSConfig:         tlsSet.config,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    cfg.Server.MaxHeaderBytes,
		ErrorLog:          errLog,
	}
	s.redirect = &http.Server{
		Handler:           s.plainHTTPHandler(),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadHeaderTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    cfg.Server.MaxHeaderBytes,
		ErrorLog:          errLog,
	}
	// A redirect is one answer: the client goes on over HTTPS. Idle
	// plain-HTTP connections, which cost an attacker no handshake, would
	// otherwise hold places of server.max_connections for idle_timeout.
	s.redirect.SetKeepAlivesEnabled(false)
	s.admin = &http.Server{
		Handler: admin.Handler(o.registry,
			map[string]http.Handler{"/v1/documents": docs.registration(cfg.Admin, RegistrationRules(cfg), logger)},
			s.checks()...),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		ErrorLog:          errLog,
	}
	return s, nil
}

// Option changes how New builds a Server.
type Option func(*options)

type options struct {
	upstreamTransport http.RoundTripper
	registry          *prometheus.Registry
	reload            <-chan os.Signal
	shutdownNow       <-chan struct{}
	expiryCheck       time.Duration
}

// WithRegistry registers the gateway's metrics with reg, served at /metrics
// on the admin listener; default a new registry.
func WithRegistry(reg *prometheus.Registry) Option {
	return func(o *options) { o.registry = reg }
}

// registerRuntimeMetrics adds the Go runtime and process collectors
// (go_goroutines, process_resident_memory_bytes, process_open_fds, …) that
// operators' dashboards and alerts expect beside the gateway's own. A
// registry that has them already (prometheus.DefaultRegisterer does) is
// left as it is.
func registerRuntimeMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// withExpiryCheck sets how often certificate expiry is checked (daily by
// default); for tests.
func withExpiryCheck(every time.Duration) Option {
	return func(o *options) { o.expiryCheck = every }
}

// WithReloadSignal reloads certificates whenever ch delivers (SIGHUP).
func WithReloadSignal(ch <-chan os.Signal) Option {
	return func(o *options) { o.reload = ch }
}

// WithShutdownNow ends server.shutdown_delay early when ch is closed (a
// second SIGTERM or SIGINT); in-flight requests still get
// server.shutdown_grace.
func WithShutdownNow(ch <-chan struct{}) Option {
	return func(o *options) { o.shutdownNow = ch }
}

// WithUpstreamTransport makes the forward stage use rt instead of a transport
// built from the upstream config (for embedding and benchmarks).
func WithUpstreamTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.upstreamTransport = rt }
}

// Handler returns the HTTPS listener's handler: the whole stage chain.
func (s *Server) Handler() http.Handler { return s.https.Handler }

// Listen binds the configured listeners. Addresses with port 0 get an
// ephemeral port; Addr tells which.
func (s *Server) Listen() error {
	var err error
	if s.lnHTTPS, err = net.Listen("tcp", s.cfg.Listen.HTTPS); err != nil {
		return fmt.Errorf("listen.https: %w", err)
	}
	if s.cfg.Listen.HTTP != "" {
		if s.lnHTTP, err = net.Listen("tcp", s.cfg.Listen.HTTP); err != nil {
			s.closeListeners()
			return fmt.Errorf("listen.http: %w", err)
		}
	}
	if s.cfg.Listen.Admin != "" {
		if s.lnAdm, err = net.Listen("tcp", s.cfg.Listen.Admin); err != nil {
			s.closeListeners()
			return fmt.Errorf("listen.admin: %w", err)
		}
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range []net.Listener{s.lnHTTPS, s.lnHTTP, s.lnAdm} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

// Addrs returns the bound addresses of the HTTPS, redirect and admin
// listeners ("" for one that is disabled). Call it after Listen.
func (s *Server) Addrs() (https, http, admin string) {
	addr := func(ln net.Listener) string {
		if ln == nil {
			return ""
		}
		return ln.Addr().String()
	}
	return addr(s.lnHTTPS), addr(s.lnHTTP), addr(s.lnAdm)
}

// Serve serves on the bound listeners until ctx is done, then fails /readyz,
// keeps serving for server.shutdown_delay, stops accepting, lets in-flight
// requests finish within server.shutdown_grace, and returns nil on a clean
// shutdown. With ACME and no certificate in storage, Serve answers
// challenges while it obtains the first certificate; if none can be obtained
// it shuts down and returns the error, so that a supervisor restarts it with
// its own backoff instead of a gateway that can never serve staying up.
func (s *Server) Serve(ctx context.Context) error {
	if s.lnHTTPS == nil {
		return errors.New("server: Serve called before Listen")
	}
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	go s.health.Run(bgCtx)
	go s.tls.run(bgCtx, s.opts.reload, s.opts.expiryCheck)
	if s.authn != nil && s.authn.verifier != nil {
		go s.authn.verifier.Run(bgCtx)
	}
	docsDone := make(chan struct{})
	go func() { s.docs.run(bgCtx); close(docsDone) }()
	// Captured documents are flushed after the listeners have drained.
	defer func() { stopBackground(); <-docsDone }()
	if s.docs.store.Count() == 0 && s.cfg.Documents.Mode == string(documents.Strict) {
		s.log.Warn("no trusted documents registered: every GraphQL request will be refused until documents are pushed", "dir", s.cfg.Documents.Dir)
	}

	errc := make(chan error, 4)
	serve := func(name string, srv *http.Server, ln net.Listener) {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("%s listener: %w", name, err)
		}
	}
	go serve("https", s.https, newTLSListener(s.limit(s.lnHTTPS, "https"), s.tls.config, s.cfg.Server.ReadHeaderTimeout, s.handshake))
	if s.lnHTTP != nil {
		go serve("http", s.redirect, s.limit(s.lnHTTP, "http"))
	}
	switch {
	case s.lnAdm != nil && s.admTLS != nil:
		go serve("admin", s.admin, tls.NewListener(s.lnAdm, s.admTLS))
	case s.lnAdm != nil:
		go serve("admin", s.admin, s.lnAdm)
	}
	if s.tls.acme != nil {
		go func() {
			if err := s.tls.manage(bgCtx); err != nil {
				errc <- err
			}
		}()
	}
	h, p, a := s.Addrs()
	s.log.Info("gqlguard serving", "https", h, "http_redirect", p, "admin", a, "upstream", config.RedactURL(s.cfg.Upstream.URL),
		"max_connections", s.conns.max)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	// /readyz fails from now on, so that a load balancer stops sending
	// requests; the admin listener closes last.
	s.draining.Store(true)
	if serveErr == nil {
		s.delayShutdown()
	}
	s.log.Info("shutting down: closing the listeners", "grace", s.cfg.Server.ShutdownGrace.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Server.ShutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	shutErrs := make([]error, 3)
	for i, srv := range []*http.Server{s.https, s.redirect} {
		wg.Go(func() { shutErrs[i] = srv.Shutdown(shutdownCtx) })
	}
	wg.Wait()
	shutErrs[2] = s.admin.Shutdown(shutdownCtx)
	if err := errors.Join(shutErrs...); err != nil {
		s.log.Warn("grace period over; closing remaining connections", "error", err)
		for _, srv := range []*http.Server{s.https, s.redirect, s.admin} {
			_ = srv.Close()
		}
	}
	return serveErr
}

// delayShutdown keeps the listeners serving for server.shutdown_delay while
// /readyz fails: a load balancer only stops sending new connections once its
// probe has seen the gateway unready, and until then a closed listener would
// refuse them. The delay ends early when the shutdown-now channel closes (a
// second signal: an operator in a hurry). It is skipped when a listener
// failed, since then the gateway is stopping because it cannot serve.
func (s *Server) delayShutdown() {
	d := s.cfg.Server.ShutdownDelay
	if d <= 0 {
		return
	}
	s.log.Info("shutting down: /readyz fails; the listeners keep serving for the delay", "delay", d.String())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.opts.shutdownNow:
		s.log.Info("shutting down now: the rest of the delay is skipped")
	}
}

// checks are the readiness conditions served at /readyz.
func (s *Server) checks() []admin.Check {
	return []admin.Check{
		{Name: "upstream", Ready: s.health.Ready},
		{Name: "tls", Ready: func() error { return s.tls.ready(time.Now()) }},
		{Name: "auth", Ready: s.authn.ready},
		{Name: "shutdown", Ready: func() error {
			if s.draining.Load() {
				return errors.New("shutting down: send new requests elsewhere")
			}
			return nil
		}},
	}
}

// Ready returns nil when every readiness condition holds (what /readyz
// answers), else the first that does not.
func (s *Server) Ready() error {
	for _, c := range s.checks() {
		if err := c.Ready(); err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	return nil
}

// handshake records a TLS handshake in the metrics and, when it failed, in
// the debug log.
func (s *Server) handshake(state *tls.ConnectionState, err error, d time.Duration) {
	s.metrics.Handshake(state, err, d)
	if err != nil {
		s.log.Debug("TLS handshake failed", "reason", telemetry.HandshakeFailure(err), "error", err)
	}
}
