package server

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/telemetry"
)

const benchDoc = "query Invoices($first: Int) { invoices(first: $first) { number amountCents status customer { name } } }"

var benchBody = `{"documentId":"` + string(documents.SHA256(benchDoc)) + `","operationName":"Invoices","variables":{"first":3}}`

// benchConfig is testConfig in strict mode with benchDoc registered.
func benchConfig(b *testing.B, upstream string) (*config.Config, string) {
	cfg, ca := testConfig(b, upstream)
	cfg.Documents.Mode = "strict"
	writeDoc(b, cfg.Documents.Dir, benchDoc)
	return cfg, ca
}

const benchAnswer = `{"data":{"invoices":[{"number":"INV-0001","amountCents":12000,"status":"PAID","customer":{"name":"Ada Lovelace"}},{"number":"INV-0002","amountCents":4500,"status":"OPEN","customer":{"name":"Grace Hopper"}},{"number":"INV-0003","amountCents":9900,"status":"OPEN","customer":{"name":"Ada Lovelace"}}]}}`

// cannedTransport answers every upstream request in process, so the benchmark
// measures the gateway's own work.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	return &http.Response{
		StatusCode:    200,
		Header:        http.Header{"Content-Type": {"application/graphql-response+json"}},
		Body:          io.NopCloser(strings.NewReader(benchAnswer)),
		ContentLength: int64(len(benchAnswer)),
		Request:       r,
	}, nil
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkRequestPath runs one POST of a trusted document through every
// stage (observe, headers, envelope, resolve from the cache, variable limits,
// forward with the access log on) to an in-process upstream.
func BenchmarkRequestPath(b *testing.B) {
	cfg, _ := benchConfig(b, "http://127.0.0.1:1/graphql")
	srv, err := New(cfg, telemetry.NewJSONLogger(io.Discard, slog.LevelInfo), WithUpstreamTransport(cannedTransport{}))
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	req := httptest.NewRequest(http.MethodPost, "https://localhost/graphql", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	req.RemoteAddr = "127.0.0.1:5555"
	body := []byte(benchBody)
	w := &discardWriter{}
	b.ReportAllocs()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		w.h = make(http.Header, 8)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkHTTPS measures the same request over real TLS 1.3 with keep-alive,
// through the gateway to an upstream on loopback.
func BenchmarkHTTPS(b *testing.B) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/graphql-response+json")
		_, _ = io.WriteString(w, benchAnswer)
	}))
	b.Cleanup(ts.Close)
	cfg, ca := benchConfig(b, ts.URL+"/graphql")
	g := startGatewayLogs(b, cfg, ca, telemetry.NewJSONLogger(io.Discard, slog.LevelInfo))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.roots, ServerName: "localhost"}, MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	url := g.url("/graphql")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(benchBody))
			req.Header.Set("Content-Type", "application/json")
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}

// BenchmarkResolveAndCoerce measures the trusted-document stages alone:
// resolving a cached document by id and checking its variables.
func BenchmarkResolveAndCoerce(b *testing.B) {
	cfg, _ := benchConfig(b, "http://127.0.0.1:1/graphql")
	// The request must get through both stages: an error answer is
	// cheaper, and timing it would be meaningless.
	reached := 0
	docs, err := newDocumentStages(cfg, slog.New(slog.DiscardHandler), nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ }))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(benchBody)
	w := &discardWriter{h: http.Header{}}
	req := httptest.NewRequest(http.MethodPost, "https://localhost/graphql", nil)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		batch, err := envelope.Parse(withBody(req, body), envelope.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		r := req.WithContext(envelope.WithBatch(req.Context(), batch))
		docs.resolver.ServeHTTP(w, r)
		n++
	}
	if reached != n {
		b.Fatalf("%d of %d requests reached the next handler; the stages refused the others (headers %v)", reached, n, w.h)
	}
}

func withBody(r *http.Request, body []byte) *http.Request {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
