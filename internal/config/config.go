// Package config holds gqlguard's configuration schema: its types, defaults,
// strict YAML loading with ${ENV} expansion, validation and the warnings that
// `gqlguard config check` prints. Validation is pure: it reads no files and
// opens no sockets; the stages do that when they are built.
package config

import (
	"time"

	"github.com/gqlguard/gqlguard/auth"
	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/documents/capture"
	"github.com/gqlguard/gqlguard/limits"
)

// Config is the whole gateway configuration. Every field has a default (see
// Default); a YAML file overrides the fields it names. A map in the file is
// merged into the default map (limits.pagination.arguments keeps first and
// last when the file names only limit); set the map to null to drop the
// defaults.
type Config struct {
	Listen    Listen    `yaml:"listen"`
	TLS       TLS       `yaml:"tls"`
	Upstream  Upstream  `yaml:"upstream"`
	Server    Server    `yaml:"server"`
	GraphQL   GraphQL   `yaml:"graphql"`
	Documents Documents `yaml:"documents"`
	Limits    Limits    `yaml:"limits"`
	Auth      Auth      `yaml:"auth"`
	CSRF      CSRF      `yaml:"csrf"`
	CORS      CORS      `yaml:"cors"`
	Admin     Admin     `yaml:"admin"`
	Log       Log       `yaml:"log"`
}

// Auth configures out-of-band authentication of callers.
type Auth struct {
	// JWT verifies bearer tokens from an identity provider.
	JWT JWT `yaml:"jwt"`
	// ClientCertificates accepts a verified client certificate (see
	// tls.client_auth) in place of a token, for service-to-service callers.
	// Default false.
	ClientCertificates bool `yaml:"client_certificates"`
	// FailureLimit rate-limits failed authentications per client address.
	FailureLimit RateLimit `yaml:"failure_limit"`
}

// JWT configures bearer-token verification (see auth.JWTConfig).
type JWT = auth.JWTConfig

// Issuer is one identity provider (see auth.Issuer).
type Issuer = auth.Issuer

// RateLimit is a token bucket: Rate per second, bursts of Burst.
type RateLimit struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// CORS configures which other web origins may call the API from a browser.
// The default allows none.
type CORS struct {
	// AllowedOrigins are exact origins (https://app.example.com) or
	// patterns with one leading wildcard label (https://*.example.com,
	// where "*" is exactly one label), written as browsers send origins
	// (lowercase, no default port, nothing after the host). "*" allows any
	// origin (never with credentials); "null" is never allowed.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowCredentials lets browsers send cookies and read the answer.
	AllowCredentials bool `yaml:"allow_credentials"`
	// AllowedHeaders callers may send. Default Content-Type, Authorization,
	// the CSRF headers and Apollo's client headers.
	AllowedHeaders []string `yaml:"allowed_headers"`
	// ExposedHeaders scripts may read. Default X-Request-Id.
	ExposedHeaders []string `yaml:"exposed_headers"`
	// MaxAge browsers may cache a preflight. Default 10m.
	MaxAge time.Duration `yaml:"max_age"`
	// AllowPrivateNetwork answers Private Network Access preflights for
	// allowed origins. Default false.
	AllowPrivateNetwork bool `yaml:"allow_private_network"`
}

// CSRF configures cross-site request forgery prevention.
type CSRF struct {
	// Enabled refuses requests a browser could send cross-site without a
	// preflight. Default true.
	Enabled bool `yaml:"enabled"`
	// Headers: any of them, non-empty, marks a request as not simple.
	// Default X-Apollo-Operation-Name, Apollo-Require-Preflight,
	// GraphQL-Require-Preflight.
	Headers []string `yaml:"headers"`
}

// Documents configures trusted documents.
type Documents struct {
	// Mode is "strict" (default: only trusted documents run), "capture"
	// (free-form documents run and are recorded) or "off".
	Mode string `yaml:"mode"`
	// Dir is the folder store of trusted documents: <hash>.graphql files,
	// with optional <hash>.json metadata. Default ".trusted_documents".
	Dir string `yaml:"dir"`
	// PollInterval is how often the folder is checked for changes.
	// Default 2s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// CacheSize bounds the parsed documents kept in memory. Default 10000.
	CacheSize int `yaml:"cache_size"`
	// Schema is an optional SDL file of the upstream's schema; with it,
	// variables are coerced against their input types and limits can name
	// any schema coordinate.
	Schema string `yaml:"schema"`
	// CacheControl is sent on successful GET answers for queries. Default
	// "private, max-age=60".
	CacheControl string `yaml:"cache_control"`
	// Capture configures capture mode.
	Capture Capture `yaml:"capture"`
	// FreeForm bounds free-form documents in capture and off modes.
	FreeForm FreeForm `yaml:"free_form"`
	// Rules are the safety checks a document must pass to be registered
	// (admin API, gqlguard docs check).
	Rules Rules `yaml:"rules"`
}

// Rules are registration-time safety checks; 0 disables a maximum.
type Rules struct {
	// MaxDepth of selection sets. Default 15.
	MaxDepth int `yaml:"max_depth"`
	// MaxAliases in an operation. Default 30.
	MaxAliases int `yaml:"max_aliases"`
	// MaxRootFields in an operation. Default 10.
	MaxRootFields int `yaml:"max_root_fields"`
	// MaxCost is the largest estimated cost (fields times list sizes).
	// Default 0 (reported, not limited).
	MaxCost int `yaml:"max_cost"`
}

// Capture configures the recording of free-form documents.
type Capture struct {
	// Dir is where captured documents are recorded. Default
	// ".captured_documents".
	Dir string `yaml:"dir"`
	// ClientHeader names the request header that identifies the client.
	// Default "apollographql-client-name".
	ClientHeader string `yaml:"client_header"`
	// FlushInterval is how often counters are written to disk. Default 5s.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// MaxDocuments bounds the distinct documents recorded; more still run
	// but are not recorded. Default 100000.
	MaxDocuments int `yaml:"max_documents"`
	// MaxTextBytes bounds the size of a recorded document text; larger
	// documents still run but are not recorded. Default 65536.
	MaxTextBytes int `yaml:"max_text_bytes"`
}

// FreeForm bounds documents that were not registered (see
// documents.FreeFormLimits).
type FreeForm = documents.FreeFormLimits

// Limits bound what a caller controls at run time: the variables (see
// limits.Config).
type Limits = limits.Config

// Pagination caps pagination arguments (see limits.Pagination).
type Pagination = limits.Pagination

// Admin configures the admin API on the admin listener.
type Admin struct {
	// Token is the bearer token of the admin API (document registration);
	// empty disables registration by token.
	Token Secret `yaml:"token"`
	// TLS makes the admin listener serve HTTPS, and optionally accept
	// client certificates for document registration.
	TLS AdminTLS `yaml:"tls"`
	// ClientNames are the client certificate names (subject common name or
	// a subject alternative name) that may register documents; empty
	// allows any certificate verified by tls.client_ca_file.
	ClientNames []string `yaml:"client_names"`
}

// AdminTLS configures HTTPS on the admin listener. Empty CertFile means
// plain HTTP.
type AdminTLS struct {
	// CertFile is the PEM certificate chain of the admin listener.
	CertFile string `yaml:"cert_file"`
	// KeyFile is its PEM private key.
	KeyFile string `yaml:"key_file"`
	// ClientCAFile holds the PEM CAs that client certificates must chain
	// to; set, a verified certificate may register documents in place of
	// admin.token. Clients without a certificate still reach /healthz,
	// /readyz and /metrics.
	ClientCAFile string `yaml:"client_ca_file"`
}

// Listen holds the three listener addresses.
type Listen struct {
	// HTTPS is where GraphQL is served. Default ":8443".
	HTTPS string `yaml:"https"`
	// HTTP only redirects to HTTPS with 308; "" disables it. Default ":8080".
	HTTP string `yaml:"http"`
	// Admin serves /healthz, /readyz, /metrics and the admin API (over
	// HTTPS with admin.tls); "" disables it. Default "127.0.0.1:9090".
	Admin string `yaml:"admin"`
	// HTTPSPort is the port named in redirects when HTTPS listens on one port
	// but is reached on another (behind NAT); 0 means the port of HTTPS.
	HTTPSPort int `yaml:"https_port"`
}

// TLS configures the HTTPS listener.
type TLS struct {
	// CertFile and KeyFile are PEM files of the serving certificate (with
	// its chain) and its private key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Certificates are further certificate/key pairs served beside the
	// first, for example an RSA certificate for old clients next to an
	// ECDSA one; ECDSA is preferred for clients that support it.
	Certificates []CertPair `yaml:"certificates"`
	// ReloadInterval is how often certificate files are checked for
	// changes (SIGHUP reloads at once). Default 10s.
	ReloadInterval time.Duration `yaml:"reload_interval"`
	// MinVersion is "1.2" (default) or "1.3".
	MinVersion string `yaml:"min_version"`
	// HSTS is the Strict-Transport-Security policy.
	HSTS HSTS `yaml:"hsts"`
	// ClientAuth configures client certificates (inbound mTLS).
	ClientAuth ClientAuth `yaml:"client_auth"`
	// ACME obtains and renews certificates automatically.
	ACME ACME `yaml:"acme"`
	// OCSP configures stapling for file certificates.
	OCSP OCSP `yaml:"ocsp"`
	// ExpiryWarning is how long before a certificate expires that a warning
	// is logged (then daily). Default 336h (14 days).
	ExpiryWarning time.Duration `yaml:"expiry_warning"`
	// SessionTickets enables TLS session resumption with tickets whose keys
	// rotate every TicketKeyRotation. Default true.
	SessionTickets bool `yaml:"session_tickets"`
	// TicketKeyRotation is how often a new ticket key is made; the two
	// previous keys still decrypt. Default 12h.
	TicketKeyRotation time.Duration `yaml:"ticket_key_rotation"`
}

// CertPair is one certificate chain and its private key, as PEM files.
type CertPair struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Key names the pair's config key in messages when it is not one of
	// tls.cert_file and tls.certificates (admin.tls.cert_file); it is not
	// read from the file.
	Key string `yaml:"-"`
}

// ClientAuth configures inbound client certificates.
type ClientAuth struct {
	// Mode is "off" (default), "optional" (verified when sent) or
	// "require" (the handshake fails without a valid certificate).
	Mode string `yaml:"mode"`
	// CAFile holds the PEM CA certificates client certificates must chain
	// to. Required unless Mode is off.
	CAFile string `yaml:"ca_file"`
}

// ACME configures automatic certificates (RFC 8555) via certmagic.
type ACME struct {
	// Domains to obtain certificates for; empty disables ACME.
	Domains []string `yaml:"domains"`
	// Email is the account contact.
	Email string `yaml:"email"`
	// CA is the ACME directory URL. Default Let's Encrypt production.
	CA string `yaml:"ca"`
	// CARootFile holds PEM roots to trust for the ACME server itself (for a
	// private CA); empty means the system roots.
	CARootFile string `yaml:"ca_root_file"`
	// Storage is the directory for account keys and certificates. Default
	// the state directory's acme folder.
	Storage string `yaml:"storage"`
	// Challenges allowed: "http-01" (on listen.http) and "tls-alpn-01" (on
	// listen.https). Default both.
	Challenges []string `yaml:"challenges"`
	// RenewBefore renews a certificate when this much of its lifetime is
	// left; 0 lets certmagic choose (a third of the lifetime).
	RenewBefore time.Duration `yaml:"renew_before"`
}

// OCSP configures OCSP stapling of file certificates. ACME certificates are
// stapled by certmagic.
type OCSP struct {
	// Staple fetches and staples OCSP responses when the certificate names
	// a responder. Default true.
	Staple bool `yaml:"staple"`
	// RefreshInterval bounds how long a staple is kept before it is fetched
	// again (it is also refreshed halfway through its validity). Default 1h.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
}

// HSTS is the Strict-Transport-Security policy sent on every response.
type HSTS struct {
	// MaxAge in seconds; 0 disables the header. Default 31536000 (a year).
	MaxAge int `yaml:"max_age"`
	// IncludeSubdomains adds includeSubDomains. Default true.
	IncludeSubdomains bool `yaml:"include_subdomains"`
	// Preload adds preload. Default false.
	Preload bool `yaml:"preload"`
}

// Upstream is the GraphQL server behind the gateway.
type Upstream struct {
	// URL of the upstream GraphQL endpoint, http or https. Required.
	URL string `yaml:"url"`
	// Timeout is how long to wait for the upstream's response headers before
	// answering 504. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// DialTimeout bounds connecting to the upstream. Default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// MaxIdleConns is the keep-alive pool size. Default 256.
	MaxIdleConns int `yaml:"max_idle_conns"`
	// MaxConns caps connections to the upstream; 0 means no cap. Default 0.
	MaxConns int `yaml:"max_conns"`
	// IdleConnTimeout closes idle pooled connections. Default 90s.
	IdleConnTimeout time.Duration `yaml:"idle_conn_timeout"`
	// Headers are added to every upstream request (for example an API key
	// the upstream requires). Values are secrets: redacted when printed.
	Headers map[string]Secret `yaml:"headers"`
	// HealthInterval is how often readiness probes the upstream. Default 5s.
	HealthInterval time.Duration `yaml:"health_interval"`
	// TLS configures how https upstreams are verified. Verification cannot
	// be switched off.
	TLS UpstreamTLS `yaml:"tls"`
}

// UpstreamTLS configures the gateway's TLS client to an https upstream.
type UpstreamTLS struct {
	// CAFile holds PEM roots to verify the upstream with; empty means the
	// system roots.
	CAFile string `yaml:"ca_file"`
	// ServerName is the name verified in the upstream's certificate;
	// default the upstream URL's host.
	ServerName string `yaml:"server_name"`
	// CertFile and KeyFile are the gateway's client certificate for mTLS to
	// the upstream.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Pins are SHA-256 hashes of acceptable SubjectPublicKeyInfos in the
	// upstream's chain, as "sha256/BASE64" (the HPKP form); when set, one of
	// them must match, in addition to normal verification.
	Pins []string `yaml:"pins"`
}

// TokenHeaderRoom is the room server.max_header_bytes must leave beside a
// token of auth.jwt.max_token_bytes: the Authorization header's name and
// scheme, and the request's other headers (a browser sends about 1 KiB
// without cookies).
const TokenHeaderRoom = 4096

// Server holds the HTTP server's protections against slow and greedy clients
// and the shutdown policy.
type Server struct {
	// ReadHeaderTimeout bounds reading request headers. Default 5s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request. Default 30s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response; 0 means none, which streamed
	// responses (subscriptions over SSE) need. Default 0.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// WriteIdleTimeout bounds each write of a response: a client that stops
	// reading for this long is disconnected. Default 30s; 0 disables it.
	WriteIdleTimeout time.Duration `yaml:"write_idle_timeout"`
	// IdleTimeout closes idle keep-alive connections. Default 120s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds request headers: every request whose header
	// list, counted as HTTP/2 counts it (each name and value plus 32
	// bytes, RFC 7541 §4.1), is within it reaches the gateway over either
	// protocol; beyond it Go's HTTP stack answers 431 itself (see
	// docs/authentication.md). With tokens verified, it must be at least
	// auth.jwt.max_token_bytes + TokenHeaderRoom. Default 65536.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// ShutdownDelay is how long the listeners keep serving after SIGTERM or
	// SIGINT while /readyz already answers 503, so that a load balancer
	// sees the gateway unready before connections are refused. A second
	// signal ends it early. 0 closes the listeners at once. Default 5s.
	ShutdownDelay time.Duration `yaml:"shutdown_delay"`
	// ShutdownGrace is how long in-flight requests may finish once the
	// listeners have closed. Default 30s.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// MaxConnections caps the connections open at once on the HTTPS and
	// plain-HTTP listeners together; more are closed as soon as they are
	// accepted, so that a flood cannot take the file descriptors that the
	// admin listener (/metrics, /readyz), the upstream and certificate
	// reloads need. 0 means 80% of the open-file limit (RLIMIT_NOFILE) at
	// start. Default 0.
	MaxConnections int `yaml:"max_connections"`
	// PublicHosts are the host names (or IP addresses) the plain-HTTP
	// listener redirects to; a request for any other Host is refused with
	// 421, so that the redirect never sends a client to a name an attacker
	// chose. Empty means the names the TLS config serves: the subject
	// alternative names of the certificate files as last loaded, or
	// tls.acme.domains.
	PublicHosts []string `yaml:"public_hosts"`
	// GCPercent is the garbage collector's target (GOGC) unless the GOGC
	// environment variable is set. The gateway's live heap is small and its
	// allocation rate high, so the Go default of 100 spends much CPU on
	// collections. Default 400.
	GCPercent int `yaml:"gc_percent"`
	// MemoryLimitMiB is a soft memory limit (GOMEMLIMIT) unless the
	// environment sets one; 0 means none. Default 0.
	MemoryLimitMiB int `yaml:"memory_limit_mib"`
	// TrustedProxies lists the CIDRs (or single addresses) of proxies whose
	// X-Forwarded-For and X-Request-Id are believed. Default none.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// GraphQL configures the GraphQL-over-HTTP endpoint.
type GraphQL struct {
	// Path of the endpoint. Default "/graphql".
	Path string `yaml:"path"`
	// MaxBodyBytes bounds a request body (413 above). Default 1048576.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Batching allows JSON arrays of requests. Default off.
	Batching Batching `yaml:"batching"`
	// Uploads allows file uploads (multipart/form-data requests of the
	// GraphQL multipart request spec). Default off.
	Uploads Uploads `yaml:"uploads"`
}

// Uploads configures GraphQL file uploads.
type Uploads struct {
	// Enabled accepts multipart/form-data requests. Default false.
	Enabled bool `yaml:"enabled"`
	// MaxBytes bounds a whole multipart body, operations, map and files
	// together, all held in memory (413 above). At least
	// graphql.max_body_bytes. Default 10485760.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxFiles bounds the files of one request (400 LIMIT_EXCEEDED above).
	// Default 10.
	MaxFiles int `yaml:"max_files"`
}

// Batching configures JSON-array batches.
type Batching struct {
	// Enabled allows batches. Default false.
	Enabled bool `yaml:"enabled"`
	// MaxSize is the largest batch accepted. Default 10.
	MaxSize int `yaml:"max_size"`
}

// Log configures the structured log.
type Log struct {
	// Format is "json" (default) or "text".
	Format string `yaml:"format"`
	// Level is "debug", "info" (default), "warn" or "error".
	Level string `yaml:"level"`
}

// Default returns the configuration used where a file is silent.
func Default() *Config {
	return &Config{
		Listen: Listen{HTTPS: ":8443", HTTP: ":8080", Admin: "127.0.0.1:9090"},
		TLS: TLS{
			MinVersion:        "1.2",
			ReloadInterval:    10 * time.Second,
			HSTS:              HSTS{MaxAge: 31536000, IncludeSubdomains: true},
			ClientAuth:        ClientAuth{Mode: "off"},
			ACME:              ACME{CA: "https://acme-v02.api.letsencrypt.org/directory", Challenges: []string{"http-01", "tls-alpn-01"}},
			OCSP:              OCSP{Staple: true, RefreshInterval: time.Hour},
			ExpiryWarning:     14 * 24 * time.Hour,
			SessionTickets:    true,
			TicketKeyRotation: 12 * time.Hour,
		},
		Upstream: Upstream{
			Timeout:         30 * time.Second,
			DialTimeout:     5 * time.Second,
			MaxIdleConns:    256,
			IdleConnTimeout: 90 * time.Second,
			HealthInterval:  5 * time.Second,
		},
		Server: Server{
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteIdleTimeout:  30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ShutdownDelay:     5 * time.Second,
			ShutdownGrace:     30 * time.Second,
			GCPercent:         400,
		},
		GraphQL: GraphQL{
			Path:         "/graphql",
			MaxBodyBytes: 1 << 20,
			Batching:     Batching{MaxSize: 10},
			Uploads:      Uploads{MaxBytes: 10 << 20, MaxFiles: 10},
		},
		Documents: Documents{
			Mode:         "strict",
			Dir:          ".trusted_documents",
			PollInterval: 2 * time.Second,
			CacheSize:    10000,
			CacheControl: "private, max-age=60",
			Capture:      Capture{Dir: ".captured_documents", ClientHeader: "apollographql-client-name", FlushInterval: 5 * time.Second, MaxDocuments: capture.DefaultMaxDocuments, MaxTextBytes: capture.DefaultMaxTextBytes},
			FreeForm:     FreeForm{MaxDepth: 15, MaxAliases: 30, MaxTokens: 5000},
			Rules:        Rules{MaxDepth: 15, MaxAliases: 30, MaxRootFields: 10},
		},
		Limits: Limits{
			Pagination:        Pagination{Arguments: map[string]int{"first": 100, "last": 100, "limit": 100}, Default: 100},
			MaxListLength:     1000,
			MaxVariablesBytes: 64 << 10,
			MaxVariablesDepth: 32,
		},
		Auth: Auth{
			JWT:          auth.DefaultJWTConfig(),
			FailureLimit: RateLimit{Rate: 1, Burst: 20},
		},
		CORS: CORS{
			AllowedHeaders: []string{"Content-Type", "Authorization", "Apollo-Require-Preflight", "X-Apollo-Operation-Name", "GraphQL-Require-Preflight", "Apollographql-Client-Name", "Apollographql-Client-Version"},
			ExposedHeaders: []string{"X-Request-Id"},
			MaxAge:         10 * time.Minute,
		},
		CSRF: CSRF{Enabled: true, Headers: []string{"X-Apollo-Operation-Name", "Apollo-Require-Preflight", "GraphQL-Require-Preflight"}},
		Log:  Log{Format: "json", Level: "info"},
	}
}
