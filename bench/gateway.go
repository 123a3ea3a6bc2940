package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/server"
	"github.com/gqlguard/gqlguard/internal/telemetry"
)

// origin is the web origin the gateways allow and every request names.
const origin = "https://app.example.com"

// gatewaySpec is what differs between the gqlguard targets.
type gatewaySpec struct {
	name       string
	issuer     string // issuer URL
	docsDir    string // trusted documents folder
	tokenCache bool   // false turns auth.jwt.cache_size to 0
}

// gateway is a running gqlguard.
type gateway struct {
	url         string
	stop        func() error
	accessLines *accessCounter
}

// accessCounter is where a gateway's log goes: it counts the access lines
// and keeps nothing.
type accessCounter struct{ n atomic.Int64 }

var accessMsg = []byte(`"msg":"request"`)

func (c *accessCounter) Write(p []byte) (int, error) {
	c.n.Add(int64(bytes.Count(p, accessMsg)))
	return len(p), nil
}

// startGateway builds the real gateway in process with every protection
// of a production setup: TLS with a development certificate, JWT
// authentication, trusted documents in strict mode, CSRF prevention, CORS
// with one allowed origin, variable coercion and limits, identity headers
// and the JSON access log (formatted, then counted and dropped). It waits until the
// gateway is ready: upstream reachable, certificate loaded, keys fetched.
func startGateway(e *setup, spec gatewaySpec) (*gateway, error) {
	cfg := config.Default()
	cfg.Listen = config.Listen{HTTPS: "127.0.0.1:0", Admin: "127.0.0.1:0"}
	cfg.TLS.CertFile, cfg.TLS.KeyFile = e.ca.CertFile, e.ca.KeyFile
	cfg.Upstream.URL = e.upstreamURL
	cfg.Server.ShutdownGrace = 2 * time.Second
	cfg.Server.ShutdownDelay = 0 // no load balancer to tell; rounds stop at once
	cfg.Documents.Mode = "strict"
	cfg.Documents.Dir = spec.docsDir
	cfg.Documents.Capture.Dir = filepath.Join(e.dir, "captured-"+spec.name)
	cfg.Auth.JWT.Issuers = []config.Issuer{{Issuer: spec.issuer}}
	cfg.Auth.JWT.Audiences = []string{audience}
	if !spec.tokenCache {
		cfg.Auth.JWT.CacheSize = 0
	}
	cfg.CORS.AllowedOrigins = []string{origin}

	lines := &accessCounter{}
	logger := telemetry.NewJSONLogger(lines, slog.LevelInfo)
	srv, err := server.New(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.name, err)
	}
	if err := srv.Listen(); err != nil {
		return nil, fmt.Errorf("%s: %w", spec.name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go labeled("gateway", func() { done <- srv.Serve(ctx) })
	stop := func() error { cancel(); return <-done }
	deadline := time.Now().Add(20 * time.Second)
	for srv.Ready() != nil && time.Now().Before(deadline) {
		select {
		case err := <-done:
			return nil, fmt.Errorf("%s: stopped before it was ready: %v", spec.name, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := srv.Ready(); err != nil {
		_ = stop()
		return nil, fmt.Errorf("%s: not ready after 20s: %w", spec.name, err)
	}
	https, _, _ := srv.Addrs()
	return &gateway{url: "https://" + https + "/graphql", stop: stop, accessLines: lines}, nil
}
