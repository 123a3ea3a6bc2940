package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Warnings lists the weak choices in a valid configuration: each is allowed,
// and each is worth a second look before production.
func (c *Config) Warnings() []string {
	var w []string
	if c.TLS.MinVersion == "1.2" {
		w = append(w, `tls.min_version: TLS 1.2 is allowed; set "1.3" when every client supports it`)
	}
	if c.TLS.HSTS.MaxAge == 0 {
		w = append(w, "tls.hsts.max_age: HSTS is off, so browsers may try plain HTTP first")
	} else if c.TLS.HSTS.MaxAge < 15552000 {
		w = append(w, "tls.hsts.max_age: below 180 days; browsers forget the HTTPS-only rule quickly")
	}
	if c.TLS.CertFile == "" && len(c.TLS.ACME.Domains) == 0 {
		w = append(w, "tls.cert_file: no certificate configured (nor tls.acme.domains); serve refuses to start without one")
	}
	if c.TLS.ClientAuth.Mode == "optional" {
		w = append(w, "tls.client_auth.mode: optional accepts clients without a certificate; use require where every caller has one")
	}
	if !c.TLS.SessionTickets {
		w = append(w, "tls.session_tickets: off; every reconnecting client pays a full handshake")
	}
	if u, err := url.Parse(c.Upstream.URL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		w = append(w, "upstream.url: plain http to a host that is not loopback; traffic to the upstream can be read on the network")
	}
	if u, err := url.Parse(c.Upstream.URL); err == nil && u.User != nil {
		w = append(w, "upstream.url: credentials in the URL; prefer upstream.headers with ${ENV} expansion")
	}
	for _, p := range c.Server.TrustedProxies {
		if pr, err := ParsePrefix(p); err == nil && pr.Bits() == 0 {
			w = append(w, "server.trusted_proxies: "+p+" trusts every peer, so any client can forge X-Forwarded-For")
		}
	}
	switch c.Documents.Mode {
	case "capture":
		w = append(w, "documents.mode: capture runs any document a client sends; switch to strict once the captured documents are promoted")
	case "off":
		w = append(w, "documents.mode: off runs any document a client sends; only depth, alias and token limits apply")
	}
	if c.Admin.Token != "" && len(c.Admin.Token) < 32 {
		w = append(w, "admin.token: shorter than 32 characters; use a long random token")
	}
	if len(c.Auth.JWT.Issuers) == 0 && !c.Auth.ClientCertificates {
		w = append(w, "auth.jwt.issuers: no authentication; every caller is anonymous")
	}
	for _, o := range c.CORS.AllowedOrigins {
		if o == "*" {
			w = append(w, "cors.allowed_origins: \"*\" lets any website call this API from its visitors' browsers and read the answers")
		}
	}
	for _, o := range c.CORS.AllowedOrigins {
		switch {
		case strings.HasPrefix(strings.ToLower(o), "http://") && !isLoopbackOrigin(o):
			w = append(w, fmt.Sprintf("cors.allowed_origins: %s is plain http; anyone on the network path can inject scripts into it that call this API", o))
		case strings.Contains(o, "://*.") && c.CORS.AllowCredentials:
			w = append(w, fmt.Sprintf("cors.allowed_origins: %s with cors.allow_credentials trusts every subdomain, including any that serves user content or is taken over; list the origins", o))
		}
	}
	if len(c.CORS.AllowedOrigins) > 0 && c.CSRF.Enabled {
		for _, h := range c.CSRF.Headers {
			if !containsFold(c.CORS.AllowedHeaders, h) {
				w = append(w, fmt.Sprintf("cors.allowed_headers: lacks the CSRF header %s, so browsers on the allowed origins cannot send it", h))
			}
		}
	}
	if c.CORS.AllowPrivateNetwork {
		w = append(w, "cors.allow_private_network: public websites on the allowed origins may reach this gateway inside private networks")
	}
	if !c.CSRF.Enabled {
		w = append(w, "csrf.enabled: off; a browser can be made to send simple cross-site requests (form posts, images) to this API")
	}
	if c.Auth.JWT.Cookie != "" && !c.CSRF.Enabled {
		w = append(w, "auth.jwt.cookie: tokens in cookies without CSRF prevention can be used by other sites")
	}
	if c.GraphQL.Batching.Enabled {
		w = append(w, "graphql.batching.enabled: one HTTP request can run several operations, which multiplies cost and weakens per-request rate limits")
	}
	if u := c.GraphQL.Uploads; u.Enabled {
		w = append(w, fmt.Sprintf("graphql.uploads.enabled: each upload request is held in memory, up to graphql.uploads.max_bytes (%d bytes); keep the limit as small as the largest file needs", u.MaxBytes))
	}
	if c.GraphQL.MaxBodyBytes > 10<<20 {
		w = append(w, "graphql.max_body_bytes: above 10 MiB; large bodies make parsing a denial-of-service vector")
	}
	if host, _, err := net.SplitHostPort(c.Listen.Admin); err == nil && !isLoopback(host) {
		if c.Admin.TLS.CertFile == "" {
			w = append(w, "listen.admin: the admin listener is reachable from other hosts over plain HTTP, so the admin token and metrics cross the network in clear text; set admin.tls or keep it on loopback")
		} else {
			w = append(w, "listen.admin: the admin listener is reachable from other hosts; /healthz, /readyz and /metrics answer without credentials, so keep it on a private network")
		}
	}
	return w
}

// isLoopbackOrigin reports whether a web origin names this machine.
func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && isLoopback(u.Hostname())
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
