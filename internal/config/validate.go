package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gqlguard/gqlguard/cors"
)

// Validate reports every problem in c at once, each prefixed by the key it is
// about. It reads no files: files are opened when the stages are built.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	addr := func(key, v string, optional bool) {
		if v == "" {
			if !optional {
				bad(key, "is required (host:port, for example \":8443\")")
			}
			return
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			bad(key, "%q is not host:port", v)
		}
	}
	addr("listen.https", c.Listen.HTTPS, false)
	addr("listen.http", c.Listen.HTTP, true)
	addr("listen.admin", c.Listen.Admin, true)
	listeners := []struct{ key, addr string }{{"listen.https", c.Listen.HTTPS}, {"listen.http", c.Listen.HTTP}, {"listen.admin", c.Listen.Admin}}
	for i, a := range listeners {
		for _, b := range listeners[:i] {
			if sameListener(a.addr, b.addr) {
				bad(a.key, "%q and %s %q cannot both be bound: they share the port", a.addr, b.key, b.addr)
			}
		}
	}
	if c.Listen.HTTPSPort < 0 || c.Listen.HTTPSPort > 65535 {
		bad("listen.https_port", "%d is not a port", c.Listen.HTTPSPort)
	}

	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "cert_file and key_file go together; set both")
	}
	for i, p := range c.TLS.Certificates {
		if p.CertFile == "" || p.KeyFile == "" {
			bad(fmt.Sprintf("tls.certificates[%d]", i), "cert_file and key_file go together; set both")
		}
	}
	if len(c.TLS.Certificates) > 0 && c.TLS.CertFile == "" {
		bad("tls.certificates", "set tls.cert_file and tls.key_file for the first certificate")
	}
	if c.TLS.CertFile != "" && len(c.TLS.ACME.Domains) > 0 {
		bad("tls", "choose one certificate source: cert_file/key_file or acme.domains")
	}
	c.validateClientAuth(bad)
	c.validateACME(bad)
	c.validateAdmin(bad)
	if c.TLS.MinVersion != "1.2" && c.TLS.MinVersion != "1.3" {
		bad("tls.min_version", "%q is not \"1.2\" or \"1.3\"", c.TLS.MinVersion)
	}
	if c.TLS.HSTS.MaxAge < 0 {
		bad("tls.hsts.max_age", "must not be negative")
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "must be a positive duration such as 5s")
		}
	}
	positive("tls.reload_interval", c.TLS.ReloadInterval)
	positive("tls.ocsp.refresh_interval", c.TLS.OCSP.RefreshInterval)
	positive("tls.expiry_warning", c.TLS.ExpiryWarning)
	positive("tls.ticket_key_rotation", c.TLS.TicketKeyRotation)

	if c.Upstream.URL == "" {
		bad("upstream.url", "is required (the GraphQL endpoint behind the gateway, e.g. http://127.0.0.1:4000/graphql)")
	} else if u, err := url.Parse(c.Upstream.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The value is not echoed when it does not parse: it may hold a
		// credential, which redaction could not find.
		bad("upstream.url", "%s is not an http or https URL; write it in full, e.g. http://127.0.0.1:4000/graphql", redactURL(c.Upstream.URL))
	}
	c.validateUpstreamTLS(bad)
	positive("upstream.timeout", c.Upstream.Timeout)
	positive("upstream.dial_timeout", c.Upstream.DialTimeout)
	positive("upstream.idle_conn_timeout", c.Upstream.IdleConnTimeout)
	positive("upstream.health_interval", c.Upstream.HealthInterval)
	if c.Upstream.MaxIdleConns < 1 {
		bad("upstream.max_idle_conns", "must be at least 1")
	}
	if c.Upstream.MaxConns < 0 {
		bad("upstream.max_conns", "must not be negative (0 means no cap)")
	}
	for name := range c.Upstream.Headers {
		if !validHeaderName(name) {
			bad("upstream.headers", "%q is not a valid header name", name)
		}
	}

	positive("server.read_header_timeout", c.Server.ReadHeaderTimeout)
	positive("server.read_timeout", c.Server.ReadTimeout)
	positive("server.idle_timeout", c.Server.IdleTimeout)
	if c.Server.WriteTimeout < 0 {
		bad("server.write_timeout", "must not be negative (0 means none)")
	}
	if c.Server.ShutdownGrace < 0 {
		bad("server.shutdown_grace", "must not be negative")
	}
	if c.Server.ShutdownDelay < 0 {
		bad("server.shutdown_delay", "must not be negative (0 closes the listeners at once)")
	}
	if c.Server.MaxConnections < 0 {
		bad("server.max_connections", "must not be negative (0 means 80%% of the open-file limit)")
	}
	for i, h := range c.Server.PublicHosts {
		if !validPublicHost(h) {
			bad(fmt.Sprintf("server.public_hosts[%d]", i), "%q is not a host name or IP address (no scheme, port or wildcard)", h)
		}
	}
	if c.Server.MaxHeaderBytes < 4096 {
		bad("server.max_header_bytes", "must be at least 4096")
	}
	for i, p := range c.Server.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			bad(fmt.Sprintf("server.trusted_proxies[%d]", i), "%q is not an IP address or CIDR", p)
		}
	}

	if !validPath(c.GraphQL.Path) {
		bad("graphql.path", "%q must be a path like /graphql: segments of letters, digits, - _ . ~, no trailing /", c.GraphQL.Path)
	}
	if c.Server.GCPercent < 50 || c.Server.GCPercent > 2000 {
		bad("server.gc_percent", "must be between 50 and 2000")
	}
	if c.Server.MemoryLimitMiB < 0 {
		bad("server.memory_limit_mib", "must not be negative (0 means none)")
	}
	if c.Server.WriteIdleTimeout < 0 {
		bad("server.write_idle_timeout", "must not be negative (0 disables it)")
	}
	if c.GraphQL.MaxBodyBytes < 1024 {
		bad("graphql.max_body_bytes", "must be at least 1024")
	}
	if c.GraphQL.Batching.Enabled && c.GraphQL.Batching.MaxSize < 1 {
		bad("graphql.batching.max_size", "must be at least 1 when batching is enabled")
	}
	if u := c.GraphQL.Uploads; u.Enabled {
		// The operations part of an upload may be as large as a JSON body,
		// so a smaller bound would refuse uploads whose JSON form passes.
		if u.MaxBytes < c.GraphQL.MaxBodyBytes {
			bad("graphql.uploads.max_bytes", "must be at least graphql.max_body_bytes (%d) when uploads are enabled", c.GraphQL.MaxBodyBytes)
		}
		if u.MaxFiles < 1 {
			bad("graphql.uploads.max_files", "must be at least 1 when uploads are enabled")
		}
	}

	c.validateDocuments(bad)
	c.validateAuth(bad)
	c.validateCORS(bad)
	// The packages' own rules, as limits.New and auth.NewVerifier apply
	// them at start: what serve would refuse is refused here. Each error
	// names its key already (errors.Join drops the nil ones).
	errs = append(errs, c.Limits.Validate(c.Documents.Schema != ""), c.Auth.JWT.Validate())

	if c.Log.Format != "json" && c.Log.Format != "text" {
		bad("log.format", "%q is not \"json\" or \"text\"", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	return errors.Join(errs...)
}

// ParsePrefix reads a CIDR or a single IP address (as a /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

func validPath(p string) bool {
	if p == "/" {
		return true
	}
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.~", r)) {
				return false
			}
		}
	}
	return true
}

// RedactURL hides what in a URL may be a credential: all of its user
// information (a token is often sent as the user name) and every query value
// (api_key=…). Scheme, host and path stay, so the URL still says where it
// points.
func RedactURL(s string) string { return redactURL(s) }

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "[redacted: not a URL]"
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString("[redacted]@")
	}
	b.WriteString(u.Host + u.EscapedPath())
	keys := slices.Sorted(maps.Keys(u.Query()))
	for i, k := range keys {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		b.WriteString(sep + url.QueryEscape(k) + "=[redacted]")
	}
	return b.String()
}

func (c *Config) validateClientAuth(bad func(key, format string, args ...any)) {
	switch c.TLS.ClientAuth.Mode {
	case "off":
	case "optional", "require":
		if c.TLS.ClientAuth.CAFile == "" {
			bad("tls.client_auth.ca_file", "is required when mode is %q", c.TLS.ClientAuth.Mode)
		}
	default:
		bad("tls.client_auth.mode", "%q is not off, optional or require", c.TLS.ClientAuth.Mode)
	}
}

func (c *Config) validateAdmin(bad func(key, format string, args ...any)) {
	t := c.Admin.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		bad("admin.tls", "cert_file and key_file go together; set both")
	}
	if t.ClientCAFile != "" && t.CertFile == "" {
		bad("admin.tls.client_ca_file", "needs admin.tls.cert_file and key_file: client certificates are only asked for over HTTPS")
	}
	if len(c.Admin.ClientNames) > 0 && t.ClientCAFile == "" {
		bad("admin.client_names", "needs admin.tls.client_ca_file: without it no client certificate is verified")
	}
	for i, n := range c.Admin.ClientNames {
		if strings.TrimSpace(n) == "" {
			bad(fmt.Sprintf("admin.client_names[%d]", i), "is empty")
		}
	}
}

func (c *Config) validateACME(bad func(key, format string, args ...any)) {
	a := c.TLS.ACME
	if len(a.Domains) == 0 {
		return
	}
	for i, d := range a.Domains {
		if !validDomain(d) {
			bad(fmt.Sprintf("tls.acme.domains[%d]", i), "%q is not a domain name (wildcards need a DNS challenge, which is not supported)", d)
		}
	}
	if u, err := url.Parse(a.CA); err != nil || u.Scheme != "https" || u.Host == "" {
		bad("tls.acme.ca", "%q is not an https URL of an ACME directory", a.CA)
	}
	if len(a.Challenges) == 0 {
		bad("tls.acme.challenges", "allow at least one of http-01, tls-alpn-01")
	}
	for i, ch := range a.Challenges {
		switch ch {
		case "http-01":
			if c.Listen.HTTP == "" {
				bad("tls.acme.challenges", "http-01 needs the plain-HTTP listener (listen.http)")
			}
		case "tls-alpn-01":
		default:
			bad(fmt.Sprintf("tls.acme.challenges[%d]", i), "%q is not http-01 or tls-alpn-01", ch)
		}
	}
	if a.RenewBefore < 0 {
		bad("tls.acme.renew_before", "must not be negative")
	}
}

func (c *Config) validateUpstreamTLS(bad func(key, format string, args ...any)) {
	t := c.Upstream.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		bad("upstream.tls", "cert_file and key_file go together; set both")
	}
	set := t.CAFile != "" || t.ServerName != "" || t.CertFile != "" || len(t.Pins) > 0
	if u, err := url.Parse(c.Upstream.URL); set && err == nil && u.Scheme == "http" {
		bad("upstream.tls", "applies only to an https upstream.url")
	}
	for i, p := range t.Pins {
		if _, err := ParsePin(p); err != nil {
			bad(fmt.Sprintf("upstream.tls.pins[%d]", i), "%v", err)
		}
	}
}

// ParsePin reads an SPKI pin of the form "sha256/BASE64" and returns the
// 32-byte hash.
func ParsePin(p string) ([]byte, error) {
	b64, ok := strings.CutPrefix(p, "sha256/")
	if !ok {
		return nil, fmt.Errorf("%q must have the form sha256/BASE64", p)
	}
	h, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(h) != 32 {
		return nil, fmt.Errorf("%q is not the base64 of a SHA-256 hash", p)
	}
	return h, nil
}

// validPublicHost accepts what a Host header names once its port is gone:
// a domain name, localhost, or an IP address.
func validPublicHost(h string) bool {
	return validDomain(h) || net.ParseIP(h) != nil
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || net.ParseIP(d) != nil {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func (c *Config) validateDocuments(bad func(key, format string, args ...any)) {
	d := c.Documents
	switch d.Mode {
	case "strict", "capture", "off":
	default:
		bad("documents.mode", "%q is not strict, capture or off", d.Mode)
	}
	if d.Dir == "" {
		bad("documents.dir", "is required (the folder of trusted documents)")
	}
	if d.PollInterval <= 0 {
		bad("documents.poll_interval", "must be a positive duration such as 2s")
	}
	if d.CacheSize < 1 {
		bad("documents.cache_size", "must be at least 1")
	}
	if d.Mode == "capture" {
		if d.Capture.Dir == "" {
			bad("documents.capture.dir", "is required in capture mode")
		}
		if d.Capture.FlushInterval <= 0 {
			bad("documents.capture.flush_interval", "must be a positive duration such as 5s")
		}
	}
	for key, v := range map[string]int{"max_documents": d.Capture.MaxDocuments, "max_text_bytes": d.Capture.MaxTextBytes} {
		if v < 1 {
			bad("documents.capture."+key, "must be at least 1")
		}
	}
	if d.Capture.ClientHeader != "" && !validHeaderName(d.Capture.ClientHeader) {
		bad("documents.capture.client_header", "%q is not a header name", d.Capture.ClientHeader)
	}
	for key, v := range map[string]int{"max_depth": d.FreeForm.MaxDepth, "max_aliases": d.FreeForm.MaxAliases, "max_tokens": d.FreeForm.MaxTokens} {
		if v < 1 {
			bad("documents.free_form."+key, "must be at least 1")
		}
	}
	for key, v := range map[string]int{"max_depth": d.Rules.MaxDepth, "max_aliases": d.Rules.MaxAliases, "max_root_fields": d.Rules.MaxRootFields, "max_cost": d.Rules.MaxCost} {
		if v < 0 {
			bad("documents.rules."+key, "must not be negative (0 disables it)")
		}
	}
	l := c.Limits
	// The limits' own rules are Config.Validate's (l.Validate).
	if l.Pagination.Default < 1 {
		bad("limits.pagination.default", "must be at least 1")
	}
}

func (c *Config) validateAuth(bad func(key, format string, args ...any)) {
	j := c.Auth.JWT
	// The verifier's own rules (j.Validate, run by Config.Validate) refuse
	// negative and zero values; a served config is held to tighter bounds.
	if j.ClockSkew > 5*time.Minute {
		bad("auth.jwt.clock_skew", "must be at most 5m")
	}
	if j.MaxTokenBytes > 0 && j.MaxTokenBytes < 256 {
		bad("auth.jwt.max_token_bytes", "must be at least 256")
	}
	// A token over the limit is answered 401 by the gateway only if the
	// HTTP stack lets its header through: with less room, Go's server
	// answers 431 in plain text (HTTP/1.1) or ends the connection (HTTP/2)
	// instead of the error contract.
	if need := j.MaxTokenBytes + TokenHeaderRoom; len(j.Issuers) > 0 && j.MaxTokenBytes > 0 && c.Server.MaxHeaderBytes < need {
		bad("server.max_header_bytes", "%d leaves no room for a token of auth.jwt.max_token_bytes (%d) and the request's other headers; set it to at least %d (the token's limit + %d), so that a longer token is refused by the gateway with 401, not by the HTTP stack with 431",
			c.Server.MaxHeaderBytes, j.MaxTokenBytes, need, TokenHeaderRoom)
	}
	if j.JWKSRefresh > 0 && j.JWKSRefresh < time.Minute {
		bad("auth.jwt.jwks_refresh", "must be at least 1m")
	}
	if j.UnknownKIDRefresh > 0 && j.UnknownKIDRefresh < time.Second {
		bad("auth.jwt.unknown_kid_refresh", "must be at least 1s")
	}
	for claim, h := range j.Headers {
		if claim == "" || !validHeaderName(h) {
			bad("auth.jwt.headers", "%q: %q is not a claim and header name", claim, h)
		}
	}
	if j.ClaimsHeader != "" && !validHeaderName(j.ClaimsHeader) {
		bad("auth.jwt.claims_header", "%q is not a header name", j.ClaimsHeader)
	}
	if j.Cookie != "" && !c.CSRF.Enabled {
		bad("auth.jwt.cookie", "a token in a cookie is sent by browsers cross-site: turn csrf.enabled on")
	}
	if c.Auth.ClientCertificates && c.TLS.ClientAuth.Mode == "off" {
		bad("auth.client_certificates", "needs tls.client_auth.mode optional or require")
	}
	if c.Auth.FailureLimit.Rate <= 0 || c.Auth.FailureLimit.Burst < 1 {
		bad("auth.failure_limit", "rate must be positive and burst at least 1")
	}
	if c.CSRF.Enabled && len(c.CSRF.Headers) == 0 {
		bad("csrf.headers", "name at least one preflight header")
	}
	for _, h := range c.CSRF.Headers {
		if !validHeaderName(h) {
			bad("csrf.headers", "%q is not a header name", h)
		}
	}
}

func (c *Config) validateCORS(bad func(key, format string, args ...any)) {
	for i, o := range c.CORS.AllowedOrigins {
		key := fmt.Sprintf("cors.allowed_origins[%d]", i)
		switch {
		case o == "*":
			if c.CORS.AllowCredentials {
				bad(key, `"*" with cors.allow_credentials would let every website act as the signed-in user; list the origins`)
			}
		case strings.EqualFold(o, "null"):
			bad(key, `"null" is the origin of sandboxed and file pages, which any site can create; it is never allowed`)
		default:
			// Origins are compared as exact strings: an entry spelt
			// otherwise than browsers send it would never match.
			canon, err := cors.Canonical(o)
			switch {
			case err != nil:
				bad(key, "%v", err)
			case canon != o:
				bad(key, "%q is not spelt as browsers send an origin (RFC 6454: scheme and host in lowercase, no default port, nothing after the host), so it would never match; write %q", o, canon)
			}
		}
	}
	if c.CORS.MaxAge < 0 || c.CORS.MaxAge > 24*time.Hour {
		bad("cors.max_age", "must be between 0s and 24h")
	}
	for _, h := range append(append([]string{}, c.CORS.AllowedHeaders...), c.CORS.ExposedHeaders...) {
		if !validHeaderName(h) {
			bad("cors", "%q is not a header name", h)
		}
	}
}

// sameListener reports whether the listen addresses a and b would take the
// same port: equal hosts, one of them every address (":8443", "[::]:8443"),
// or one every IPv4 address ("0.0.0.0:8443") and the other an IPv4 one. Port
// 0 picks a free port, so it never clashes.
func sameListener(a, b string) bool {
	ah, ap, errA := net.SplitHostPort(a)
	bh, bp, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || ap != bp || ap == "0" {
		return false
	}
	ipv4 := func(h string) bool { ip, err := netip.ParseAddr(h); return err == nil && ip.Is4() }
	switch {
	case ah == bh, ah == "", ah == "::", bh == "", bh == "::":
		return true
	case ah == "0.0.0.0":
		return ipv4(bh)
	case bh == "0.0.0.0":
		return ipv4(ah)
	}
	return false
}
