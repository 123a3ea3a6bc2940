package server

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/telemetry"
)

// BenchmarkRequestPathWithToken is BenchmarkRequestPath with every
// protection a browser client meets: a verified bearer token (ES256, from the
// verified-token cache after the first request), an allowed CORS origin, CSRF
// prevention, the trusted document from the cache, variable coercion and
// limits, identity headers and the access log. Each answer must be 200, so
// the benchmark cannot time an error path.
func BenchmarkRequestPathWithToken(b *testing.B) {
	base, login := tokenIssuer(b)
	cfg, ca := benchConfig(b, "http://127.0.0.1:1/graphql")
	cfg.Auth.JWT.Issuers = []config.Issuer{{Issuer: base}}
	cfg.Auth.JWT.Audiences = []string{"billing-api"}
	cfg.Auth.JWT.ClaimsHeader = "X-User-Claims"
	cfg.CORS.AllowedOrigins = []string{"https://app.example.com"}
	cfg.CORS.AllowCredentials = true
	g := startGatewayLogs(b, cfg, ca, telemetry.NewJSONLogger(io.Discard, slog.LevelInfo), WithUpstreamTransport(cannedTransport{}))
	waitReady(b, g)
	serveBrowserRequests(b, g.srv.Handler(), "Bearer "+login("ada"))
}

// serveBrowserRequests times h answering the POST a browser client of an
// allowed origin sends with authorization, and fails unless every answer
// is 200.
func serveBrowserRequests(b *testing.B, h http.Handler, authorization string) {
	req := httptest.NewRequest(http.MethodPost, "https://localhost/graphql", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Authorization", authorization)
	req.RemoteAddr = "127.0.0.1:5555"
	body := []byte(benchBody)
	w := &statusWriter{}
	b.ReportAllocs()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		w.h, w.status = make(http.Header, 8), 0
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d: the benchmark must time a served request", w.status)
		}
	}
}

// statusWriter discards the body and keeps the status.
type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.h }
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// SetWriteDeadline lets the write-deadline stage work as on a connection,
// instead of allocating a "not supported" error on every call.
func (w *statusWriter) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkBaselineProxy is the reference for the request-path benchmarks:
// a bare httputil.ReverseProxy with a buffer pool in front of the same
// in-process upstream, with no checks. The difference is what gqlguard's
// stages cost.
func BenchmarkBaselineProxy(b *testing.B) {
	target, _ := url.Parse("http://127.0.0.1:1/graphql")
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  cannedTransport{},
		BufferPool: benchBuffers{},
	}
	serveBrowserRequests(b, rp, "Bearer x")
}

type benchBuffers struct{}

var benchBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (benchBuffers) Get() []byte  { return *benchBufPool.Get().(*[]byte) }
func (benchBuffers) Put(b []byte) { benchBufPool.Put(&b) }
