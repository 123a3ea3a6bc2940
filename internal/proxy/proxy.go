// Package proxy is the forward stage: it sends the parsed GraphQL request to
// the upstream as a POST with a JSON body (a multipart/form-data body for a
// file upload), through the upstream transport, and streams the answer
// back.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/clientip"
	"github.com/gqlguard/gqlguard/internal/config"
)

// Proxy is the forward stage.
type Proxy struct {
	identity Identity
	target   *url.URL
	trusted  clientip.Trusted
	headers  http.Header
	drop     map[string]bool // canonical response header names
	// skip holds the client headers never copied to the upstream request
	// (see upstreamHeader), owned every header the gateway sets or
	// removes (see underscored); both canonical.
	skip, owned map[string]bool
	transport   http.RoundTripper
	log         *slog.Logger
	// unforwardable holds the claims logged as not forwardable: once
	// each, not on every request of the tokens that hold them.
	unforwardable sync.Map
}

// Options are the parts of a Proxy that come from outside its config section.
type Options struct {
	// Transport carries upstream requests; nil means NewTransport(cfg).
	Transport http.RoundTripper
	// Trusted proxies may supply X-Forwarded-For.
	Trusted clientip.Trusted
	// DropResponseHeaders are removed from upstream responses because the
	// gateway sets them itself.
	DropResponseHeaders []string
	// Logger receives upstream failures. Required.
	Logger *slog.Logger
	// Identity says which identity headers the upstream receives.
	Identity Identity
}

// Identity configures the headers that tell the upstream who the verified
// caller is. Every header named here is removed from the client's request
// first: only the gateway speaks for the caller.
type Identity struct {
	// Enabled means the gateway authenticates callers; the client's
	// Authorization header is then dropped unless ForwardToken.
	Enabled bool
	// ClaimHeaders maps token claims to headers (sub: X-User-Id).
	ClaimHeaders map[string]string
	// ClaimsHeader carries the whole verified claim set as JSON.
	ClaimsHeader string
	// ForwardToken passes the original Authorization header (or token
	// cookie) on.
	ForwardToken bool
	// Cookie is the cookie the token is read from, if any; it is removed
	// from the upstream request unless ForwardToken.
	Cookie string
}

// New builds the forward stage for the upstream section of the config.
func New(cfg config.Upstream, opts Options) (*Proxy, error) {
	target, err := url.Parse(cfg.URL)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return nil, fmt.Errorf("upstream.url: %q is not an http or https URL", cfg.URL)
	}
	if target.Path == "" {
		target.Path = "/"
	}
	p := &Proxy{identity: canonicalIdentity(opts.Identity), target: target, trusted: opts.Trusted, log: opts.Logger, headers: http.Header{}}
	p.drop = make(map[string]bool, len(opts.DropResponseHeaders)+len(hopByHop))
	for _, h := range slices.Concat(opts.DropResponseHeaders, hopByHop) {
		p.drop[http.CanonicalHeaderKey(h)] = true
	}
	for k, v := range cfg.Headers {
		p.headers.Set(k, v.Reveal())
	}
	p.skip, p.owned = headerSets(p.identity, p.headers)
	p.transport = opts.Transport
	if p.transport == nil {
		if p.transport, err = NewTransport(cfg); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// NewTransport returns the upstream transport: a keep-alive pool sized by
// config, TLS as ClientTLSConfig sets it up, HTTP/2 to TLS upstreams, bounded
// dial and response-header waits, no environment proxies, and bodies passed
// through without recompression. Its errors name the config key at fault.
func NewTransport(cfg config.Upstream) (*http.Transport, error) {
	tlsConfig, err := ClientTLSConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:     dialer.DialContext,
		TLSClientConfig: tlsConfig,
		// A transport with its own TLSClientConfig speaks HTTP/2 only when
		// asked to.
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          cfg.MaxIdleConns,
		MaxIdleConnsPerHost:   cfg.MaxIdleConns,
		MaxConnsPerHost:       cfg.MaxConns,
		IdleConnTimeout:       cfg.IdleConnTimeout,
		TLSHandshakeTimeout:   cfg.DialTimeout,
		ResponseHeaderTimeout: cfg.Timeout,
		DisableCompression:    true,
	}, nil
}

// clientIPHeaders are removed from every upstream request; X-Real-IP is then
// set to the client address the gateway determined.
var clientIPHeaders = []string{"X-Real-Ip", "True-Client-Ip", "Cf-Connecting-Ip", "X-Client-Ip", "X-Cluster-Client-Ip", "Fastly-Client-Ip", "X-Original-Forwarded-For", "Forwarded"}

// canonicalIdentity returns id with every header name in canonical form.
func canonicalIdentity(id Identity) Identity {
	if len(id.ClaimHeaders) > 0 {
		names := make(map[string]string, len(id.ClaimHeaders))
		for claim, name := range id.ClaimHeaders {
			names[claim] = http.CanonicalHeaderKey(name)
		}
		id.ClaimHeaders = names
	}
	id.ClaimsHeader = http.CanonicalHeaderKey(id.ClaimsHeader)
	return id
}

// headerSets returns the client headers never copied to the upstream
// request, and every header the gateway owns.
//
// Skipped: hop-by-hop headers, those describing the client's body (the
// upstream gets the gateway's), Proxy (CGI-style upstreams would read it as
// HTTP_PROXY, "httpoxy"), the forwarding headers and request id the gateway
// sets, client-address headers some upstreams trust, and the identity
// headers. Owned: those, Authorization and the configured fixed headers;
// their underscore spellings are dropped too (see underscored). id's names
// are canonical.
func headerSets(id Identity, fixed http.Header) (skip, owned map[string]bool) {
	skip = map[string]bool{}
	for _, h := range slices.Concat(hopByHop, clientIPHeaders, []string{
		"Content-Length", "Content-Encoding", "Content-Type", "Expect", "Proxy", "Accept-Encoding",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Request-Id",
		HeaderClientCertSubject, HeaderClientCertNames, id.ClaimsHeader,
	}) {
		if h != "" {
			skip[h] = true
		}
	}
	for _, h := range id.ClaimHeaders {
		skip[h] = true
	}
	owned = maps.Clone(skip)
	owned["Authorization"] = true
	for h := range fixed {
		owned[h] = true
	}
	return skip, owned
}

// underscored reports whether the client header k names a header the
// gateway owns with underscores for dashes (X_User_Id for X-User-Id): Go
// keeps the two apart, but CGI-style servers (WSGI, PHP, Rack) fold both
// spellings into one variable, so a forged copy could stand beside, or
// replace, the gateway's. Keys of a request parsed by net/http are
// canonical.
func (p *Proxy) underscored(k string) bool {
	return strings.IndexByte(k, '_') >= 0 && p.owned[http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-"))]
}

// The identity headers the gateway sets for the upstream. A client's own
// copies are always removed first: only the gateway speaks for the caller.
const (
	HeaderClientCertSubject = "X-Client-Cert-Subject"
	HeaderClientCertNames   = "X-Client-Cert-Names"
)

// setIdentity sets the identity headers for p, once, before the upstream
// runs; nothing changes them afterwards.
func (px *Proxy) setIdentity(h http.Header, p *envelope.Principal) {
	// The client's copies of these headers were never copied (upstreamHeader).
	id := px.identity
	if id.Enabled && !id.ForwardToken {
		delete(h, "Authorization")
		if id.Cookie != "" {
			dropCookie(h, id.Cookie)
		}
	}
	if p == nil {
		return
	}
	switch p.Method {
	case "mtls":
		h[HeaderClientCertSubject] = []string{p.Subject}
		if len(p.Names) > 0 {
			h[HeaderClientCertNames] = p.Names
		}
	case "jwt":
		values := p.HeaderValues()
		for claim, name := range id.ClaimHeaders {
			if v, ok := values[claim]; ok {
				h[name] = v
				continue
			}
			if p.Claims[claim] != nil {
				// Left out, as if the token did not hold it (the verifier
				// refuses tokens whose required claims are such): never
				// a value that would be invalid, be read as more than one
				// header, or arrive trimmed. The value is not logged.
				if _, logged := px.unforwardable.LoadOrStore(claim, true); !logged {
					px.log.Warn("claim not forwarded: its value cannot be a header (logged once per claim)", "claim", claim, "header", name)
				}
			}
		}
		if id.ClaimsHeader != "" && len(p.ClaimsJSON) > 0 {
			h[id.ClaimsHeader] = []string{p.ClaimsJSON}
		}
	}
}

// dropCookie removes the cookie name from the Cookie header, keeping the
// others.
func dropCookie(h http.Header, name string) {
	values := h.Values("Cookie")
	if len(values) == 0 {
		return
	}
	kept := make([]string, 0, 4)
	for _, v := range values {
		for part := range strings.SplitSeq(v, ";") {
			part = strings.TrimSpace(part)
			if k, _, _ := strings.Cut(part, "="); part != "" && k != name {
				kept = append(kept, part)
			}
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}

// upstreamAnswerError is an upstream answer the gateway does not pass on: a
// server error, or a body that is not a GraphQL response. Such answers are
// where upstream internals leak (stack traces, internal addresses, the
// framework's error page), so the client gets 502 UPSTREAM_UNAVAILABLE and
// the log gets the status and media type.
type upstreamAnswerError struct {
	Status    int
	MediaType string
	// Body, when set, says what was wrong with a JSON answer's body.
	Body string
}

func (e *upstreamAnswerError) Error() string {
	if e.Body != "" {
		return fmt.Sprintf("upstream answered %d with %q and a body that %s", e.Status, e.MediaType, e.Body)
	}
	return fmt.Sprintf("upstream answered %d with %q", e.Status, e.MediaType)
}

// graphQLMediaTypes are the answers a GraphQL server gives: a response
// (GraphQL over HTTP), a subscription stream (server-sent events), or
// incremental delivery (@defer, @stream).
var graphQLMediaTypes = []string{envelope.MediaTypeGraphQLResponse, envelope.MediaTypeJSON, "text/event-stream", "multipart/mixed"}

// checkAnswer refuses an upstream answer that is a server error or not a
// GraphQL response; it returns the answer's media type, lower case.
func checkAnswer(res *http.Response) (string, error) {
	ct := res.Header.Get("Content-Type")
	mediaType, _, _ := strings.Cut(ct, ";")
	mediaType = strings.ToLower(strings.TrimSpace(mediaType))
	// A 1xx here is one the request did not ask for (a 101 without an
	// upgrade): passed on, it would make an intermediary in front of the
	// gateway take the connection for a tunnel.
	if res.StatusCode < 200 || res.StatusCode >= 500 || (res.StatusCode != http.StatusNotModified && res.StatusCode != http.StatusNoContent && !slices.Contains(graphQLMediaTypes, mediaType)) {
		return mediaType, &upstreamAnswerError{Status: res.StatusCode, MediaType: mediaType}
	}
	return mediaType, nil
}

// errorHandler answers upstream failures with UPSTREAM_UNAVAILABLE: 504 when
// the upstream was too slow, 502 otherwise. The body never carries the error
// text or its reason (they may name internal addresses and tell an attacker
// how the upstream's TLS is set up); one log line does. A request its
// client gave up is no upstream failure (see clientClosed).
func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if clientGone(r) {
		p.clientClosed(r, err)
		panic(http.ErrAbortHandler)
	}
	p.log.Warn("upstream request failed", "reason", failureReason(err), "error", err, "request_id", envelope.InfoFrom(r.Context()).RequestID())
	status, msg := http.StatusBadGateway, "the upstream GraphQL server is unavailable; try again later"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		status, msg = http.StatusGatewayTimeout, "the upstream GraphQL server did not answer in time"
	}
	var answer *upstreamAnswerError
	var cut *cutError
	switch {
	case errors.As(err, &answer):
		msg = "the upstream GraphQL server failed on this request; the gateway log has what it answered"
	case errors.As(err, &cut):
		msg = "the upstream GraphQL server's answer broke off; try again later"
	}
	envelope.WriteError(w, r, &envelope.Error{Code: envelope.CodeUpstreamUnavailable, Message: msg, Status: status, Err: err})
}

// clientGone reports whether r's client went away: net/http cancels a
// request's context when its HTTP/1.1 connection closes or its HTTP/2
// stream is reset, and nothing else of the gateway's cancels it.
func clientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// clientClosed records r as given up by its client: CLIENT_CLOSED_REQUEST,
// at most a debug line, and never an upstream failure. A burst of requests
// reset as soon as they are sent (HTTP/2 rapid reset) would otherwise fill
// the log with warnings and the upstream failure figures with requests the
// upstream, mostly, never saw. The caller aborts the response: there is no
// one to answer, and an HTTP/1.1 client that only half-closed its side must
// not take an empty answer for a real one.
func (p *Proxy) clientClosed(r *http.Request, err error) {
	envelope.RecordError(r, &envelope.Error{Code: envelope.CodeClientClosedRequest, Err: err,
		Message: "the client went away"})
	if p.log.Enabled(r.Context(), slog.LevelDebug) {
		p.log.Debug("client went away", "error", err, "request_id", envelope.InfoFrom(r.Context()).RequestID())
	}
}

// buffers are the 32 KiB buffers answers are copied with.
var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
