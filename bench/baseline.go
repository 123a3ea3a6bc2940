package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/proxy"
)

// copyBuffers reuses ReverseProxy's 32 KiB copy buffers, as gqlguard's
// forward stage does; without them every response allocates one.
type copyBuffers struct{ pool sync.Pool }

func (b *copyBuffers) Get() []byte {
	if p, ok := b.pool.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, 32<<10)
}

func (b *copyBuffers) Put(buf []byte) { b.pool.Put(&buf) }

// startBaseline serves the reference a gateway is compared with: a plain
// httputil.ReverseProxy over TLS 1.3 and HTTP/1.1, with a buffer pool and
// gqlguard's own upstream transport, and no checks at all. It returns the
// HTTPS URL of its GraphQL endpoint.
func startBaseline(upstreamURL, certFile, keyFile string) (string, *http.Server, error) {
	target, err := url.Parse(upstreamURL)
	if err != nil {
		return "", nil, err
	}
	upstreamCfg := config.Default().Upstream
	upstreamCfg.URL = upstreamURL
	transport, err := proxy.NewTransport(upstreamCfg)
	if err != nil {
		return "", nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.URL.Path, pr.Out.URL.RawPath = target.Scheme, target.Host, target.Path, ""
			pr.Out.Host = ""
			pr.SetXForwarded()
		},
		Transport:  transport,
		BufferPool: &copyBuffers{},
		ErrorLog:   log.New(io.Discard, "", 0),
	}
	return serveTLS("baseline", rp, certFile, keyFile)
}

// serveTLS serves h on a loopback port over TLS 1.3 and HTTP/1.1, the
// client setup of every target, and returns its GraphQL URL.
func serveTLS(role string, h http.Handler, certFile, keyFile string) (string, *http.Server, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", role, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{"http/1.1"},
	}
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go labeled(role, func() { _ = srv.Serve(tls.NewListener(ln, tlsConfig)) })
	return "https://" + ln.Addr().String() + "/graphql", srv, nil
}
