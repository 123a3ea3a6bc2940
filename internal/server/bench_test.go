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
)

const benchBody = `{"query":"query Invoices($first: Int) { invoices(first: $first) { number amountCents status customer { name } } }","operationName":"Invoices","variables":{"first":3}}`

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

// BenchmarkRequestPath runs one POST through every stage (observe, headers,
// envelope, GET guard, forward with the access log on) to an in-process
// upstream.
func BenchmarkRequestPath(b *testing.B) {
	cfg, _ := testConfig(b, "http://127.0.0.1:1/graphql")
	srv, err := New(cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), WithUpstreamTransport(cannedTransport{}))
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
	cfg, ca := testConfig(b, ts.URL+"/graphql")
	cfg.Log.Level = "info"
	g := startGatewayLogs(b, cfg, ca, slog.New(slog.NewJSONHandler(io.Discard, nil)))
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
