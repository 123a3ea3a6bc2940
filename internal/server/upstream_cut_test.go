package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// cuttingUpstream is an upstream on a raw listener that answers each
// request with the bytes answer gives for its body, then closes the
// connection wherever the answer stopped.
func cuttingUpstream(t *testing.T, answer func(body string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				b, _ := io.ReadAll(req.Body)
				_, _ = io.WriteString(conn, answer(string(b)))
			})
		}
	})
	return "http://" + ln.Addr().String() + "/graphql"
}

// wholeAnswer is the answer of an upstream that works.
const wholeAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 31\r\nConnection: close\r\n\r\n" + `{"data":{"__typename":"Query"}}`

// cutAnswers are upstream answers cut short, by the query that asks for
// each: small ones end before the gateway has sent anything, large ones
// (over the 32 KiB the gateway reads ahead) after it sent the head.
var cutAnswers = map[string]string{
	"smallLength":  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" + `{"data":{"a":`,
	"smallChunked": "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n" + `{"data":{"a":` + "\r\n",
	"largeLength":  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n" + `{"data":{"a":"` + strings.Repeat("x", 100000),
	"largeChunked": "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		fmt.Sprintf("%x\r\n", 100014) + `{"data":{"a":"` + strings.Repeat("x", 100000) + "\r\n",
}

// clientFor returns a client of g that speaks proto ("h2" or "http/1.1").
func (g *gateway) clientFor(t *testing.T, proto string) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.roots, ServerName: "localhost", NextProtos: []string{proto}}, ForceAttemptHTTP2: proto == "h2"}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// nextAccessLine waits for the access line after the first n and returns
// it. A request is logged once its answer ended, which the client may see
// first.
func (g *gateway) nextAccessLine(t *testing.T, n int) accessLine {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if lines := g.accessLines(); len(lines) > n {
			return lines[n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access line after the first %d:\n%s", n, g.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An answer the upstream cuts short is never passed on as a whole one: cut
// before the gateway sent anything, the client gets 502
// UPSTREAM_UNAVAILABLE; cut after the head went out, the connection (HTTP/1.1)
// or stream (HTTP/2) is cut, so the client sees a read error and never a
// clean end. Either way the access line and the metrics record an upstream
// failure.
func TestCutUpstreamAnswerIsAnUpstreamFailure(t *testing.T) {
	upstream := cuttingUpstream(t, func(body string) string {
		for query, raw := range cutAnswers {
			if strings.Contains(body, query) {
				return raw
			}
		}
		return wholeAnswer
	})
	g := startFor(t, upstream)
	n := 0
	for _, proto := range []string{"http/1.1", "h2"} {
		client := g.clientFor(t, proto)
		for _, query := range []string{"smallLength", "smallChunked", "largeLength", "largeChunked"} {
			t.Run(proto+" "+query, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, g.url("/graphql"), strings.NewReader(`{"query":"{ `+query+` }"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/graphql-response+json")
				res, err := client.Do(req)
				headSent := strings.HasPrefix(query, "large")
				switch {
				case err != nil && headSent:
					// The cut reached the client before the head did.
				case err != nil:
					t.Errorf("request failed (%v); want 502 UPSTREAM_UNAVAILABLE", err)
				default:
					b, rerr := io.ReadAll(res.Body)
					_ = res.Body.Close()
					if wantProto := map[string]int{"h2": 2, "http/1.1": 1}[proto]; res.ProtoMajor != wantProto {
						t.Errorf("answered over HTTP/%d", res.ProtoMajor)
					}
					if headSent {
						if rerr == nil {
							t.Errorf("got %d and %d bytes with a clean end; want the answer cut", res.StatusCode, len(b))
						}
						break
					}
					if rerr != nil || res.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), `"code":"UPSTREAM_UNAVAILABLE"`) {
						t.Errorf("got %d %q (%v); want 502 UPSTREAM_UNAVAILABLE", res.StatusCode, b, rerr)
					}
				}
				line := g.nextAccessLine(t, n)
				n++
				if line.Status != http.StatusBadGateway || line.Outcome != "UPSTREAM_UNAVAILABLE" || line.Level != "WARN" {
					t.Errorf("access line %+v; want WARN, 502, UPSTREAM_UNAVAILABLE", line)
				}
			})
		}
	}
	g.waitMetrics(t, []string{`gqlguard_requests_total{outcome="UPSTREAM_UNAVAILABLE",status="502"} 8`}, []string{`outcome="OK"`})
}

// A client that goes away while the upstream works on its request is
// recorded as CLIENT_CLOSED_REQUEST with status 499 at INFO, over HTTP/1.1
// (the client closes its connection) and HTTP/2 (it resets the stream), and
// never as an upstream failure.
func TestClientThatGoesAwayIsNotAnUpstreamFailure(t *testing.T) {
	arrived := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), "hang") {
			arrived <- struct{}{}
			<-r.Context().Done() // until the gateway gives up the request
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{}}`)
	}))
	t.Cleanup(ts.Close)
	g := startFor(t, ts.URL)
	for i, proto := range []string{"http/1.1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.url("/graphql"), strings.NewReader(`{"query":"{ hang }"}`))
			req.Header.Set("Content-Type", "application/json")
			done := make(chan error, 1)
			go func() {
				res, err := g.clientFor(t, proto).Do(req)
				if err == nil {
					_ = res.Body.Close()
				}
				done <- err
			}()
			<-arrived
			cancel()
			if err := <-done; err == nil {
				t.Fatal("the cancelled request got an answer")
			}
			line := g.nextAccessLine(t, i)
			if line.Status != 499 || line.Outcome != "CLIENT_CLOSED_REQUEST" || line.Level != "INFO" {
				t.Errorf("access line %+v; want INFO, 499, CLIENT_CLOSED_REQUEST", line)
			}
		})
	}
	if logs := g.logs.String(); strings.Contains(logs, `"level":"WARN"`) || strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("a client that went away was logged as a problem:\n%s", logs)
	}
	g.waitMetrics(t, []string{`gqlguard_requests_total{outcome="CLIENT_CLOSED_REQUEST",status="499"} 2`}, []string{`outcome="UPSTREAM_UNAVAILABLE"`})
}

// An upstream that cuts every answer short, the readiness probe's too, is
// not ready: a cut answer is an upstream failure for /readyz as for
// requests.
func TestUpstreamThatCutsEveryAnswerIsNotReady(t *testing.T) {
	g := startFor(t, cuttingUpstream(t, func(string) string { return cutAnswers["smallLength"] }))
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := g.adminGet(t, "/readyz")
		if strings.Contains(body, "upstream: not ready") && strings.Contains(body, "cut short") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz with every answer cut short: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
