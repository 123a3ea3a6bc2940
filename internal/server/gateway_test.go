package server

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestQueryIsForwardedAndAnswered(t *testing.T) {
	up, ts := newUpstream(t)
	g := startFor(t, ts.URL+"/graphql")
	res := g.post(t, `{"query":"query Q($n: Int) { echo }","operationName":"Q","variables":{"n":3}}`, "X-Forwarded-For", "6.6.6.6", "X-Forwarded-Host", "evil.example", "X-Real-IP", "6.6.6.6", "True-Client-IP", "6.6.6.6")
	body := readBody(t, res)
	if res.StatusCode != 200 || !strings.Contains(body, `"echo":"query Q($n: Int) { echo }"`) || !strings.Contains(body, `"n":3`) {
		t.Fatalf("got %d %s", res.StatusCode, body)
	}
	req, sent := up.last(t)
	if req.Method != http.MethodPost || req.URL.Path != "/graphql" || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("upstream got %s %s %q", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	var fwd map[string]any
	if err := json.Unmarshal([]byte(sent), &fwd); err != nil || fwd["operationName"] != "Q" {
		t.Errorf("forwarded body %s", sent)
	}
	if xff := req.Header.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != "127.0.0.1" {
		t.Errorf("forged X-Forwarded-For not discarded: %q", xff)
	}
	if req.Header.Get("X-Real-Ip") != "127.0.0.1" || req.Header.Get("True-Client-Ip") != "" {
		t.Errorf("client address headers forwarded: X-Real-IP %q True-Client-IP %q", req.Header.Get("X-Real-Ip"), req.Header.Get("True-Client-Ip"))
	}
	if ids := res.Header.Values("X-Request-Id"); len(ids) != 1 {
		t.Errorf("X-Request-Id %q, want exactly the gateway's", ids)
	}
	if req.Header.Get("X-Forwarded-Proto") != "https" || req.Header.Get("X-Forwarded-Host") != g.https {
		t.Errorf("X-Forwarded-Proto %q Host %q", req.Header.Get("X-Forwarded-Proto"), req.Header.Get("X-Forwarded-Host"))
	}
	if id := res.Header.Get("X-Request-Id"); id == "" || req.Header.Get("X-Request-Id") != id {
		t.Errorf("request id %q not forwarded (upstream saw %q)", id, req.Header.Get("X-Request-Id"))
	}
	if hsts := res.Header.Values("Strict-Transport-Security"); len(hsts) != 1 || hsts[0] != "max-age=31536000; includeSubDomains" {
		t.Errorf("HSTS %q", hsts)
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if res.Header.Get(k) != v {
			t.Errorf("%s = %q", k, res.Header.Get(k))
		}
	}
	for _, k := range []string{"Server", "X-Powered-By"} {
		if v := res.Header.Get(k); v != "" {
			t.Errorf("the upstream's %s: %q reached the client", k, v)
		}
	}
}

func TestTrustedProxyKeepsForwardedChain(t *testing.T) {
	up, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Server.TrustedProxies = []string{"127.0.0.0/8"}
	g := startGateway(t, cfg, ca)
	readBody(t, g.post(t, `{"query":"{ a }"}`, "X-Forwarded-For", "198.51.100.7"))
	req, _ := up.last(t)
	if got := req.Header.Get("X-Forwarded-For"); got != "198.51.100.7, 127.0.0.1" {
		t.Errorf("X-Forwarded-For %q", got)
	}
	if !strings.Contains(g.logs.String(), `"client_ip":"198.51.100.7"`) {
		t.Errorf("access log does not name the forwarded client:\n%s", g.logs)
	}
}

func TestPlainHTTPIsRedirected(t *testing.T) {
	up, ts := newUpstream(t)
	g := startFor(t, ts.URL)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, "http://"+g.http+"/graphql?query=%7Ba%7D", strings.NewReader(`{"query":"{a}"}`))
		req.Host = "localhost:8080"
		res, err := g.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, res)
		_, port, _ := net.SplitHostPort(g.https)
		if want := "https://localhost:" + port + "/graphql?query=%7Ba%7D"; res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != want {
			t.Errorf("%s: got %d Location %q, want 308 %q", method, res.StatusCode, res.Header.Get("Location"), want)
		}
		if strings.Contains(body, "data") {
			t.Errorf("redirect served data: %s", body)
		}
	}
	if n := up.count(); n != 0 {
		t.Errorf("upstream got %d requests over plain HTTP", n)
	}
}

func TestTLSVersions(t *testing.T) {
	_, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	g := startGateway(t, cfg, ca)
	cfg13, ca13 := testConfig(t, ts.URL)
	cfg13.TLS.MinVersion = "1.3"
	g13 := startGateway(t, cfg13, ca13)

	dial := func(addr string, c *tls.Config) (*tls.ConnectionState, error) {
		c.ServerName = "localhost"
		c.NextProtos = []string{"h2", "http/1.1"}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, c)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		st := conn.ConnectionState()
		return &st, nil
	}
	tests := []struct {
		name string
		addr string
		cfg  *tls.Config
		ok   bool
	}{
		{"TLS 1.1 is refused", g.https, &tls.Config{RootCAs: g.roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
		{"TLS 1.3 is accepted", g.https, &tls.Config{RootCAs: g.roots, MinVersion: tls.VersionTLS13}, true},
		{"TLS 1.2 with an AEAD suite is accepted by default", g.https, &tls.Config{RootCAs: g.roots, MaxVersion: tls.VersionTLS12}, true},
		{"TLS 1.2 with a CBC suite is refused", g.https, &tls.Config{RootCAs: g.roots, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256}}, false},
		{"TLS 1.2 is refused when min_version is 1.3", g13.https, &tls.Config{RootCAs: g13.roots, MaxVersion: tls.VersionTLS12}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := dial(tt.addr, tt.cfg)
			if tt.ok != (err == nil) {
				t.Fatalf("handshake error = %v, want ok=%v", err, tt.ok)
			}
			if st != nil && st.NegotiatedProtocol != "h2" {
				t.Errorf("ALPN %q, want h2", st.NegotiatedProtocol)
			}
		})
	}
}

func TestEnvelopeErrorsOverHTTPS(t *testing.T) {
	up, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.GraphQL.MaxBodyBytes = 2048
	g := startGateway(t, cfg, ca)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		accept      string
		body        string
		status      int
		code        string
	}{
		{"not JSON", "POST", "/graphql", "application/json", "", `{"query":`, 400, "BAD_REQUEST"},
		{"batch while disabled", "POST", "/graphql", "application/json", "", `[{"query":"{a}"}]`, 400, "BAD_REQUEST"},
		{"wrong field type", "POST", "/graphql", "application/json", "", `{"query":1}`, 400, "BAD_REQUEST"},
		{"text/plain without a preflight header is CSRF", "POST", "/graphql", "text/plain", "", `{"query":"{a}"}`, 400, "CSRF_PREFLIGHT_REQUIRED"},
		{"GET without a preflight header is CSRF", "GET", "/graphql?query=%7Ba%7D", "", "", "", 400, "CSRF_PREFLIGHT_REQUIRED"},
		{"text/plain with a preflight header", "POST", "/graphql", "text/plain", "preflight", `{"query":"{a}"}`, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"PUT", "PUT", "/graphql", "application/json", "", `{"query":"{a}"}`, 405, "METHOD_NOT_ALLOWED"},
		{"DELETE without a body type is a method error, not CSRF", "DELETE", "/graphql", "", "", "", 405, "METHOD_NOT_ALLOWED"},
		{"Accept nothing usable", "POST", "/graphql", "application/json", "text/html", `{"query":"{a}"}`, 406, "NOT_ACCEPTABLE"},
		{"body over the limit", "POST", "/graphql", "application/json", "", `{"query":"` + strings.Repeat("a", 4096) + `"}`, 413, "PAYLOAD_TOO_LARGE"},
		{"mutation over GET", "GET", "/graphql?query=" + url.QueryEscape("mutation { pay }"), "", "", "", 405, "MUTATION_NOT_ALLOWED_OVER_GET"},
		{"unparseable GET document", "GET", "/graphql?query=" + url.QueryEscape("{"), "", "", "", 400, "GRAPHQL_PARSE_FAILED"},
		{"unparseable GET document, legacy client", "GET", "/graphql?query=" + url.QueryEscape("{"), "", "application/json", "", 200, "GRAPHQL_PARSE_FAILED"},
		{"other path", "GET", "/admin", "", "", "", 404, "NOT_FOUND"},
		{"dot-dot path is not cleaned into the endpoint", "POST", "/x/../graphql", "application/json", "", `{"query":"{a}"}`, 404, "NOT_FOUND"},
		{"double slash path", "POST", "//graphql", "application/json", "", `{"query":"{a}"}`, 404, "NOT_FOUND"},
		{"trailing slash is not the endpoint", "POST", "/graphql/", "application/json", "", `{"query":"{a}"}`, 404, "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, g.url(tt.path), strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			accept := tt.accept
			if accept == "" || accept == "preflight" {
				accept = "application/graphql-response+json"
			}
			req.Header.Set("Accept", accept)
			if tt.method == "GET" && !strings.Contains(tt.name, "CSRF") || tt.accept == "preflight" {
				req.Header.Set("Apollo-Require-Preflight", "true")
			}
			res, err := g.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, res)
			var e struct {
				Errors []struct {
					Message    string
					Extensions struct{ Code string }
				}
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) != 1 {
				t.Fatalf("body %q: %v", body, err)
			}
			if res.StatusCode != tt.status || e.Errors[0].Extensions.Code != tt.code || e.Errors[0].Message == "" {
				t.Errorf("got %d %s %q, want %d %s", res.StatusCode, e.Errors[0].Extensions.Code, e.Errors[0].Message, tt.status, tt.code)
			}
			if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Strict-Transport-Security") == "" {
				t.Errorf("Cache-Control %q HSTS %q", res.Header.Get("Cache-Control"), res.Header.Get("Strict-Transport-Security"))
			}
		})
	}
	if n := up.count(); n != 0 {
		t.Errorf("upstream was contacted %d times for refused requests", n)
	}
}

func TestUpstreamDownIs502(t *testing.T) {
	dead := "http://" + listenAddrDead(t) + "/graphql"
	g := startFor(t, dead)
	res := g.post(t, `{"query":"{ a }"}`)
	body := readBody(t, res)
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(body, "UPSTREAM_UNAVAILABLE") {
		t.Fatalf("got %d %s", res.StatusCode, body)
	}
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(dead, "/graphql"), "http://"))
	if strings.Contains(body, port) || strings.Contains(body, host) || strings.Contains(body, "dial") {
		t.Errorf("502 body leaks internals: %s", body)
	}
	if !strings.Contains(g.logs.String(), "connection refused") {
		t.Errorf("log lacks the cause:\n%s", g.logs)
	}
}

func TestSlowUpstreamIs504(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(b), "__typename") {
			<-release
		}
		_, _ = io.WriteString(w, `{"data":{}}`)
	}))
	t.Cleanup(func() { close(release); ts.Close() })
	cfg, ca := testConfig(t, ts.URL)
	cfg.Upstream.Timeout = 200 * time.Millisecond
	g := startGateway(t, cfg, ca)
	res := g.post(t, `{"query":"{ slow }"}`)
	body := readBody(t, res)
	if res.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "UPSTREAM_UNAVAILABLE") || !strings.Contains(body, "in time") {
		t.Fatalf("got %d %s", res.StatusCode, body)
	}
}

func TestInFlightRequestCompletesDuringShutdown(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), "slow") {
			started <- struct{}{}
			<-release // until the test has seen the gateway unready
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"slow":true}}`)
	}))
	t.Cleanup(ts.Close)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // before ts.Close, which waits for the held request
	g := startFor(t, ts.URL)
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, g.url("/graphql"), strings.NewReader(`{"query":"{ slow }"}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := g.client.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		done <- result{res.StatusCode, string(b), err}
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- g.stop() }()
	// While the request is in flight, readiness fails so that load
	// balancers stop sending more.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get("http://" + g.admin + "/readyz")
		if err != nil {
			t.Fatalf("admin listener gone while a request was in flight: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "shutting down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz during shutdown: %d %s, want 503 shutting down", res.StatusCode, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	free()
	r := <-done
	if r.err != nil || r.status != 200 || r.body != `{"data":{"slow":true}}` {
		t.Fatalf("in-flight request: %d %q %v", r.status, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve returned %v after a clean shutdown", err)
	}
	if _, err := net.DialTimeout("tcp", g.https, time.Second); err == nil {
		t.Error("listener still accepts after shutdown")
	}
}

func TestReadiness(t *testing.T) {
	_, ts := newUpstream(t)
	g := startFor(t, ts.URL)
	get := func(path string) (int, string) {
		res, err := http.Get("http://" + g.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, readBody(t, res)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get("/readyz")
		if code == 200 && strings.Contains(body, "upstream: ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Close()
	deadline = time.Now().Add(5 * time.Second)
	for {
		code, body := get("/readyz")
		if code == 503 && strings.Contains(body, "upstream: not ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still ready with the upstream down: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAccessLogLine(t *testing.T) {
	_, ts := newUpstream(t)
	g := startFor(t, ts.URL)
	res := g.post(t, `{"query":"{ a }"}`)
	readBody(t, res)
	_ = g.stop()
	var line map[string]any
	for _, l := range strings.Split(g.logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line == nil {
		t.Fatalf("no access line in:\n%s", g.logs)
	}
	want := map[string]any{"method": "POST", "path": "/graphql", "status": 200.0, "outcome": "OK", "tls_version": "TLS 1.3", "request_id": res.Header.Get("X-Request-Id")}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	for _, k := range []string{"duration_us", "upstream_us", "tls_cipher", "client_ip"} {
		if _, ok := line[k]; !ok {
			t.Errorf("access line lacks %s: %v", k, line)
		}
	}
}

func TestStartupRefusals(t *testing.T) {
	cfg, _ := testConfig(t, "http://127.0.0.1:1")
	cfg.TLS.CertFile, cfg.TLS.KeyFile = "", ""
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "tls.cert_file") {
		t.Errorf("no certificate: %v", err)
	}
	cfg, _ = testConfig(t, "http://127.0.0.1:1")
	cfg.TLS.KeyFile = cfg.TLS.CertFile
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "tls.cert_file: ") || !strings.Contains(err.Error(), "private key") {
		t.Errorf("key file that holds no key: %v", err)
	}
}

// startFor starts a gateway with the test defaults in front of upstream.
func startFor(t *testing.T, upstream string) *gateway {
	cfg, ca := testConfig(t, upstream)
	return startGateway(t, cfg, ca)
}

// bigAnswer is the size of the answer stalledReader's upstream gives to a
// query that mentions "big".
const bigAnswer = 32 << 20

// stalledReader starts a gateway with a short write-idle timeout in front of
// an upstream that answers a query mentioning "big" with bigAnswer bytes and
// any other with a small answer, and returns a TLS connection to it with a
// reader and a function that sends one POST of body.
func stalledReader(t *testing.T) (*gateway, *tls.Conn, *bufio.Reader, func(body string)) {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(string(b), "big") {
			_, _ = io.WriteString(w, `{"data":{"small":1}}`)
			return
		}
		// The start of a JSON answer; the client stops reading long
		// before an end would come.
		_, _ = io.WriteString(w, `{"data":{"big":"`)
		chunk := []byte(strings.Repeat("x", 1<<16))
		for written := 0; written < bigAnswer; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(ts.Close)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Server.WriteIdleTimeout = 300 * time.Millisecond
	g := startGateway(t, cfg, ca)

	conn, err := tls.Dial("tcp", g.https, &tls.Config{RootCAs: g.roots, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	send := func(body string) {
		fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	return g, conn, bufio.NewReader(conn), send
}

// stopReading asks for the big answer, reads its first bytes, stops reading
// for longer than the write-idle timeout, and fails unless the gateway cut
// the connection.
func stopReading(t *testing.T, g *gateway, conn *tls.Conn, br *bufio.Reader, send func(string)) {
	t.Helper()
	before := len(g.accessLines())
	send(`{"query":"{ big }"}`)
	if _, err := br.Read(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	// The client stops reading until the gateway has given up on the
	// request, which its access line says.
	waitUntil(t, "the stalled request's access line", func() bool { return len(g.accessLines()) > before })
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, br)
	if n >= bigAnswer || isTimeout(err) {
		t.Fatalf("read %d bytes (%v): the gateway kept the stalled connection", n, err)
	}
}

func TestClientThatStopsReadingIsCutOff(t *testing.T) {
	g, conn, br, send := stalledReader(t)
	stopReading(t, g, conn, br, send)
}

// net/http clears the write deadline after every request: a client that
// stops reading during a later request of a keep-alive connection is cut
// off too.
func TestClientThatStopsReadingOnAKeptAliveConnectionIsCutOff(t *testing.T) {
	g, conn, br, send := stalledReader(t)
	for range 3 { // a few quick answers arm the connection's deadline
		send(`{"query":"{ small }"}`)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	stopReading(t, g, conn, br, send)
}

// TestUpstreamInternalsNeverReachTheClient runs the gateway in front of an
// upstream whose answers are not GraphQL: its framework's error page, an
// HTML page with status 200. The client gets the error contract; a GraphQL
// error answer (400 with JSON) passes as it is.
func TestUpstreamInternalsNeverReachTheClient(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(b), "crash"):
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "<h1>Internal db error at 10.0.0.5</h1><pre>stack trace</pre>")
		case strings.Contains(string(b), "page"):
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>nginx/1.2.3 default page</html>")
		case strings.Contains(string(b), "jsonerror"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"errors":[{"message":"at Resolver.invoices (/srv/app/resolvers.js:12)"}]}`)
		case strings.Contains(string(b), "textasjson"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "Traceback (most recent call last): File \"/srv/app/main.py\"")
		case strings.Contains(string(b), "emptyjson"):
			w.Header().Set("Content-Type", "application/graphql-response+json")
		case strings.Contains(string(b), "spacedjson"):
			// White space before the object, in reads of their own.
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "\r\n  ")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "\t")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, `{"data":{"spaced":true}}`)
		case strings.Contains(string(b), "invalid"):
			w.Header().Set("Content-Type", "application/graphql-response+json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"errors":[{"message":"Cannot query field \"nope\""}]}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"data":{"__typename":"Query"}}`)
		}
	}))
	t.Cleanup(ts.Close)
	g := startFor(t, ts.URL)
	for _, tt := range []struct {
		query  string
		status int
		code   string
	}{
		{"{ crash }", 502, "UPSTREAM_UNAVAILABLE"},
		{"{ page }", 502, "UPSTREAM_UNAVAILABLE"},
		{"{ jsonerror }", 502, "UPSTREAM_UNAVAILABLE"},
		{"{ textasjson }", 502, "UPSTREAM_UNAVAILABLE"},
		{"{ emptyjson }", 502, "UPSTREAM_UNAVAILABLE"},
		{"{ spacedjson }", 200, ""},
		{"{ invalid }", 400, ""},
	} {
		res := g.post(t, `{"query":"`+tt.query+`"}`)
		body := readBody(t, res)
		if res.StatusCode != tt.status || errorCode(t, body) != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.query, res.StatusCode, body, tt.status, tt.code)
		}
		for _, leak := range []string{"10.0.0.5", "stack trace", "nginx", "/srv/app"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s: the client read %q: %s", tt.query, leak, body)
			}
		}
		if tt.status == 502 && res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tt.query, res.Header.Get("Cache-Control"))
		}
	}
	for _, line := range []string{`upstream answered 500 with \"text/html\"`,
		`upstream answered 200 with \"application/json\" and a body that is not JSON`,
		`upstream answered 200 with \"application/graphql-response+json\" and a body that is empty`} {
		if !strings.Contains(g.logs.String(), line) {
			t.Errorf("the log does not say %s:\n%s", line, g.logs)
		}
	}
	if !strings.Contains(g.logs.String(), `upstream answered 500 with \"text/html\"`) {
		t.Errorf("the log does not say what the upstream answered:\n%s", g.logs)
	}
}

// TestRequestMetrics counts requests by outcome and status on /metrics.
func TestRequestMetrics(t *testing.T) {
	_, ts := newUpstream(t)
	g := startFor(t, ts.URL)
	readBody(t, g.post(t, `{"query":"{ a }"}`))
	readBody(t, g.post(t, `{"query":"{ a }"}`))
	req, _ := http.NewRequest(http.MethodPost, g.url("/graphql"), strings.NewReader(`{"query":"{ a }"}`))
	req.Header.Set("Content-Type", "text/plain")
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, res)
	wants := []string{
		`gqlguard_requests_total{outcome="OK",status="200"} 2`,
		`gqlguard_requests_total{outcome="CSRF_PREFLIGHT_REQUIRED",status="400"} 1`,
		`gqlguard_request_duration_seconds_count 3`,
		`gqlguard_upstream_duration_seconds_count 2`,
	}
	g.waitMetrics(t, wants, nil)
}

// Over HTTP/2, an error answered before the request body is read reaches
// the client whole. The server resets the stream of a body left unread, and
// without a flush the reset could overtake the queued answer: curl (unlike
// Go's client) then lost the 413's body in about a third of tries.
func TestErrorBeforeTheBodyIsReadReachesAnHTTP2Client(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is not on PATH (.ci/run installs it): this test drives a real HTTP/2 client")
	}
	_, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	g := startGateway(t, cfg, ca)
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, []byte(`{"query":"`+strings.Repeat("a", 2<<20)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(g.https)
	for i := range 30 {
		out, err := exec.Command(curl, "-sS", "--http2", "--cacert", ca, "--connect-to", "localhost:"+port+":"+g.https,
			"-H", "Content-Type: application/json", "--data-binary", "@"+big, "-w", "\n%{http_version} %{http_code}",
			"https://localhost:"+port+"/graphql").CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"PAYLOAD_TOO_LARGE"`) || !strings.HasSuffix(string(out), "\n2 413") {
			t.Fatalf("try %d: %v\n%s", i, err, out)
		}
	}
}
