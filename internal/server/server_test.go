package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/capool"
	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"

	"github.com/gqlguard/gqlguard/internal/certs"
	"github.com/gqlguard/gqlguard/internal/config"
)

// gateway is a running Server on loopback ports with a client that trusts its
// development CA.
type gateway struct {
	https, http, admin string
	client             *http.Client
	roots              *x509.CertPool
	logs               *logbuf.Buffer
	stop               func() error
	srv                *Server
}

func testConfig(t testing.TB, upstream string) (*config.Config, string) {
	t.Helper()
	ca, err := certs.EnsureDevCA(t.TempDir(), certs.DefaultHosts(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listen = config.Listen{HTTPS: "127.0.0.1:0", HTTP: "127.0.0.1:0", Admin: "127.0.0.1:0"}
	cfg.TLS.CertFile, cfg.TLS.KeyFile = ca.CertFile, ca.KeyFile
	cfg.Upstream.URL = upstream
	cfg.Upstream.HealthInterval = 50 * time.Millisecond
	cfg.Server.ShutdownGrace = 5 * time.Second
	// The listeners close at once when a test stops its gateway.
	cfg.Server.ShutdownDelay = 0
	// Most tests here are about transport; they send free-form documents.
	// The trusted-document tests switch to strict mode.
	cfg.Documents.Mode = "off"
	cfg.Documents.Dir = filepath.Join(t.TempDir(), "trusted")
	cfg.Documents.Capture.Dir = filepath.Join(t.TempDir(), "captured")
	return cfg, ca.CAFile
}

func startGateway(t testing.TB, cfg *config.Config, caFile string) *gateway {
	t.Helper()
	return startGatewayWith(t, cfg, caFile)
}

// startGatewayWith starts a gateway built with opts, logging at debug level
// into g.logs.
func startGatewayWith(t testing.TB, cfg *config.Config, caFile string, opts ...Option) *gateway {
	t.Helper()
	logs := &logbuf.Buffer{}
	g := startGatewayLogs(t, cfg, caFile, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), opts...)
	g.logs = logs
	return g
}

// startGatewayLogs starts a gateway that logs to logger.
func startGatewayLogs(t testing.TB, cfg *config.Config, caFile string, logger *slog.Logger, opts ...Option) *gateway {
	t.Helper()
	srv, err := New(cfg, logger, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	roots, err := capool.Read(caFile)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{roots: roots, srv: srv}
	g.https, g.http, g.admin = srv.Addrs()
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}
	g.client = &http.Client{Transport: transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var once sync.Once
	var stopErr error
	g.stop = func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
			transport.CloseIdleConnections()
		})
		return stopErr
	}
	t.Cleanup(func() { _ = g.stop() })
	return g
}

func (g *gateway) url(path string) string { return "https://" + g.https + path }

func (g *gateway) post(t *testing.T, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url("/graphql"), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recordingUpstream answers like a GraphQL server and records what it got.
type recordingUpstream struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (u *recordingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.reqs = append(u.reqs, r)
	u.body = append(u.body, string(b))
	u.mu.Unlock()
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	_ = json.Unmarshal(b, &req)
	w.Header().Set("Content-Type", "application/graphql-response+json")
	w.Header().Set("Strict-Transport-Security", "max-age=1")
	w.Header().Set("X-Request-Id", "upstream-own-id")
	w.Header().Set("Server", "upstream/1.2.3")
	w.Header().Set("X-Powered-By", "Express")
	// A careless upstream that trusts every origin; the gateway's CORS
	// policy must be the only one a browser sees.
	if origin := r.Header.Get("Origin"); origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	if strings.Contains(req.Query, "__typename") {
		_, _ = io.WriteString(w, `{"data":{"__typename":"Query"}}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"echo": req.Query, "vars": req.Variables}})
}

func (u *recordingUpstream) last(t *testing.T) (*http.Request, string) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := len(u.reqs) - 1; i >= 0; i-- {
		if !strings.Contains(u.body[i], "__typename") {
			return u.reqs[i], u.body[i]
		}
	}
	t.Fatal("upstream received no GraphQL request")
	return nil, ""
}

func (u *recordingUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, b := range u.body {
		if !strings.Contains(b, "__typename") {
			n++
		}
	}
	return n
}

func newUpstream(t *testing.T) (*recordingUpstream, *httptest.Server) {
	u := &recordingUpstream{}
	ts := httptest.NewServer(u)
	t.Cleanup(ts.Close)
	return u, ts
}

func listenAddrDead(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
