package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

// forwardThrough serves the forward stage (behind the envelope stage) in
// front of upstream and returns the gateway's URL and the stage's log.
func forwardThrough(t *testing.T, upstream http.Handler, pre func(http.ResponseWriter)) (string, *logbuf.Buffer) {
	t.Helper()
	ts := httptest.NewServer(upstream)
	t.Cleanup(ts.Close)
	cfg := config.Default().Upstream
	cfg.URL = ts.URL
	logs := &logbuf.Buffer{}
	p, err := New(cfg, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), DropResponseHeaders: []string{"Access-Control-Allow-Origin"}})
	if err != nil {
		t.Fatal(err)
	}
	env := &envelope.Handler{Next: p}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pre != nil {
			pre(w)
		}
		env.ServeHTTP(w, r)
	}))
	t.Cleanup(gw.Close)
	return gw.URL, logs
}

// postOK posts a query to url with header set over a JSON content type, and
// fails unless the answer is 200 with the body the test upstreams send.
func postOK(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"query":"{ a }"}`))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK || string(b) != `{"data":{}}` {
		t.Fatalf("status %d body %q", res.StatusCode, b)
	}
	return res
}

// rawAnswer is an upstream that reads the request and answers with raw
// bytes on the connection, then closes it.
func rawAnswer(t *testing.T, raw string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString(raw)
		_ = rw.Flush()
	})
}

func TestUpstreamRequestHeaders(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	var body string
	url, _ := forwardThrough(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, body = r.Header.Clone(), string(b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{}}`)
	}), nil)

	postOK(t, url, map[string]string{
		"Content-Type":        "application/json",
		"Connection":          "X-Hop",
		"X-Hop":               "named by Connection",
		"Keep-Alive":          "timeout=5",
		"Te":                  "trailers",
		"Proxy-Authorization": "Basic c2VjcmV0",
		"Upgrade":             "websocket",
		"Proxy":               "http://attacker.example:8080",
		"X-Forwarded-Host":    "evil.example",
		"X-Forwarded-Proto":   "https",
		"X-Request-Id":        "forged",
		"X-App-Version":       "1.2.3",
		"Transfer_Encoding":   "chunked",
		"Content_Length":      "0",
		"User-Agent":          "app/1.0",
	})
	mu.Lock()
	for _, k := range []string{"Connection", "X-Hop", "Keep-Alive", "Te", "Proxy-Authorization", "Upgrade", "Proxy", "X-Request-Id", "Transfer_encoding", "Content_length"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s reached the upstream: %q", k, v)
		}
	}
	if got.Get("X-App-Version") != "1.2.3" || got.Get("User-Agent") != "app/1.0" {
		t.Errorf("end-to-end headers lost: %v", got)
	}
	if got.Get("X-Forwarded-Proto") != "http" || got.Get("X-Forwarded-Host") == "evil.example" || got.Get("X-Forwarded-For") != "127.0.0.1" {
		t.Errorf("forwarding headers %q %q %q", got.Get("X-Forwarded-Proto"), got.Get("X-Forwarded-Host"), got.Get("X-Forwarded-For"))
	}
	if got.Get("Content-Type") != "application/json" || body != `{"query":"{ a }"}` {
		t.Errorf("Content-Type %q body %q", got.Get("Content-Type"), body)
	}
	mu.Unlock()

	// A client without a User-Agent is not given Go's.
	postOK(t, url, map[string]string{"Content-Type": "application/json", "User-Agent": ""})
	mu.Lock()
	if v, ok := got["User-Agent"]; ok {
		t.Errorf("User-Agent %q", v)
	}
	mu.Unlock()

	// The upstream is offered gzip, the one encoding the answer check
	// reads, and only when the client takes it.
	for _, tt := range []struct{ client, upstream string }{
		{"gzip, deflate, br, zstd", "gzip"},
		{"br", "identity"},
		{"gzip;q=0, br", "identity"},
		{"gzip;Q=0", "identity"},
		{"gzip;level=1;q=0", "identity"},
		{"x-gzip;q=0.5", "gzip"},
		{"*", "gzip"},
		{"*, gzip;q=0", "identity"},
		{"identity", "identity"},
	} {
		postOK(t, url, map[string]string{"Content-Type": "application/json", "Accept-Encoding": tt.client})
		mu.Lock()
		if v := strings.Join(got.Values("Accept-Encoding"), ", "); v != tt.upstream {
			t.Errorf("client Accept-Encoding %q: the upstream was sent %q, want %q", tt.client, v, tt.upstream)
		}
		mu.Unlock()
	}
}

func TestUpstreamAnswerHeaders(t *testing.T) {
	url, _ := forwardThrough(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/graphql-response+json")
		h.Set("Connection", "X-Internal")
		h.Set("X-Internal", "10.0.0.7")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Vary", "Accept-Encoding")
		h.Set("X-Trace", "abc")
		_, _ = io.WriteString(w, `{"data":{}}`)
	}), func(w http.ResponseWriter) { w.Header().Set("Vary", "Origin") })
	res := postOK(t, url, nil)
	for _, k := range []string{"X-Internal", "Keep-Alive", "Access-Control-Allow-Origin"} {
		if v, ok := res.Header[k]; ok {
			t.Errorf("%s reached the client: %q", k, v)
		}
	}
	if vary := strings.Join(res.Header.Values("Vary"), ", "); vary != "Origin, Accept-Encoding" {
		t.Errorf("Vary %q: the gateway's and the upstream's values must both be kept", vary)
	}
	if res.Header.Get("X-Trace") != "abc" {
		t.Error("an end-to-end answer header was lost")
	}
}

// An answer the upstream cuts short never reaches the client as a whole
// one. Cut within the part the stage reads before the head goes out (most
// answers), it is refused with 502 UPSTREAM_UNAVAILABLE; cut later, the
// client's answer is cut too. net/http would refuse to end a sized answer
// early by itself; an answer of unknown length it would end as complete,
// unless the stage aborts it.
func TestUpstreamAnswerCutIsCutForTheClient(t *testing.T) {
	long := `{"data":"` + strings.Repeat("x", 40<<10)
	tests := []struct {
		name, head, body string
		headSent         bool
	}{
		{"sized", "Content-Length: 100", `{"data":`, false},
		{"chunked", "Transfer-Encoding: chunked", "8\r\n{\"data\":\r\n", false},
		{"sized, cut after 40 KiB", "Content-Length: 100000", long, true},
		{"chunked, cut after 40 KiB", "Transfer-Encoding: chunked", strconv.FormatInt(int64(len(long)), 16) + "\r\n" + long + "\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, logs := forwardThrough(t, rawAnswer(t, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"+tt.head+"\r\n\r\n"+tt.body), nil)
			res, err := http.Post(url, "application/json", strings.NewReader(`{"query":"{ a }"}`))
			if err != nil {
				t.Fatal(err)
			}
			b, rerr := io.ReadAll(bufio.NewReader(res.Body))
			_ = res.Body.Close()
			switch {
			case tt.headSent && !errors.Is(rerr, io.ErrUnexpectedEOF):
				t.Errorf("a cut answer read as complete: %d %d bytes, %v", res.StatusCode, len(b), rerr)
			case !tt.headSent && (res.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), `"UPSTREAM_UNAVAILABLE"`) || rerr != nil):
				t.Errorf("got %d %q, %v; want 502 UPSTREAM_UNAVAILABLE", res.StatusCode, b, rerr)
			}
			if !strings.Contains(logs.String(), "answer cut short") {
				t.Errorf("not logged: %s", logs)
			}
		})
	}
}

// An answer of unknown length (incremental delivery here) goes out as it
// comes, each part when the upstream sends it.
func TestAnswerOfUnknownLengthIsStreamed(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	url, _ := forwardThrough(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", `multipart/mixed; boundary="-"`)
		_, _ = io.WriteString(w, "\r\n---\r\nContent-Type: application/json\r\n\r\n{\"data\":{},\"hasNext\":true}\r\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), nil)
	got := make(chan string, 1)
	go func() {
		res, err := http.Post(url, "application/json", strings.NewReader(`{"query":"{ a ... @defer { b } }"}`))
		if err != nil {
			got <- err.Error()
			return
		}
		defer res.Body.Close()
		buf := make([]byte, 256)
		n, _ := io.ReadAtLeast(res.Body, buf, 10)
		got <- string(buf[:n])
	}()
	select {
	case part := <-got:
		if !strings.Contains(part, `"hasNext":true`) {
			t.Errorf("first part %q", part)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the first part was held back until the answer ended")
	}
}

// A subscription stream's head must reach the client at once, not with its
// first event: httputil.ReverseProxy flushed it straight away, and clients
// (EventSource's open event, load balancers' first-byte timeouts) wait on it.
func TestStreamHeadIsFlushedBeforeTheFirstEvent(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	url, _ := forwardThrough(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		select { // no event yet
		case <-release:
		case <-r.Context().Done():
		}
	}), nil)
	got := make(chan int, 1)
	go func() {
		res, err := http.Post(url, "application/json", strings.NewReader(`{"query":"subscription { a }"}`))
		if err != nil {
			got <- -1
			return
		}
		got <- res.StatusCode
		_ = res.Body.Close()
	}()
	select {
	case status := <-got:
		if status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the stream's head was held back until its first event")
	}
}

// An upstream's 101 to a request that asked for no upgrade is not an answer
// to pass on: ReverseProxy refused it (502); a 101 sent to the client makes
// an intermediary in front of the gateway treat the connection as a tunnel.
func TestUnrequestedSwitchingProtocolsIsRefused(t *testing.T) {
	url, _ := forwardThrough(t, rawAnswer(t, "HTTP/1.1 101 Switching Protocols\r\nContent-Type: application/json\r\n\r\n"), nil)
	res, err := http.Post(url, "application/json", strings.NewReader(`{"query":"{ a }"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", res.StatusCode)
	}
}

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// The upstream request goes out in one write, headers and body together:
// net/http flushes the headers on their own first for a body it does not
// know to be in memory.
func TestUpstreamRequestIsOneWrite(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{}}`)
	}))
	t.Cleanup(ts.Close)
	var writes atomic.Int32
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, &writes}, nil
	}}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := config.Default().Upstream
	cfg.URL = ts.URL
	p, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler), Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	h := &envelope.Handler{Next: p}
	for i := range 3 {
		writes.Store(0)
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ a }"}`))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d %s", w.Code, w.Body)
		}
		if n := writes.Load(); n != 1 {
			t.Errorf("request %d went out in %d writes, want 1", i, n)
		}
	}
}

// An upstream's informational answer (103 Early Hints) leaves the gateway's
// own answer headers alone: httputil.ReverseProxy passes a 1xx on and then
// clears the response header map, which would strip the security headers,
// the CORS answer and the request id set by earlier stages.
func TestInformationalAnswerKeepsTheGatewayHeaders(t *testing.T) {
	url, _ := forwardThrough(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{}}`)
	}), func(w http.ResponseWriter) { w.Header().Set("X-Frame-Options", "DENY") })
	res := postOK(t, url, nil)
	if res.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the gateway's header was lost after the upstream's 103: %v", res.Header)
	}
}

// A JSON answer passes only when its body opens an object or a list, gzipped
// or not; the check reads no further than that, refuses encodings it cannot
// read, and leaves answers without a body alone.
func TestJSONAnswerMustStartAsJSON(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, `{"data":{}}`)
	_ = zw.Close()
	var gzText bytes.Buffer
	zw = gzip.NewWriter(&gzText)
	_, _ = io.WriteString(zw, "Internal error: db at 10.0.0.5")
	_ = zw.Close()
	tests := []struct {
		name   string
		answer string
		status int
		body   string // the client's body, decoded; for a refusal, the code it names
	}{
		{"an object", "Content-Length: 11\r\n\r\n" + `{"data":{}}`, 200, `{"data":{}}`},
		{"a list (a batch's answers)", "Content-Length: 13\r\n\r\n" + `[{"data":{}}]`, 200, `[{"data":{}}]`},
		{"white space first", "Content-Length: 14\r\n\r\n \r\n" + `{"data":{}}`, 200, " \r\n" + `{"data":{}}`},
		{"a gzipped object", "Content-Encoding: gzip\r\nContent-Length: " + strconv.Itoa(gz.Len()) + "\r\n\r\n" + gz.String(), 200, `{"data":{}}`},
		{"gzipped text", "Content-Encoding: gzip\r\nContent-Length: " + strconv.Itoa(gzText.Len()) + "\r\n\r\n" + gzText.String(), 502, "UPSTREAM_UNAVAILABLE"},
		{"an encoding the gateway cannot read", "Content-Encoding: br\r\nContent-Length: 11\r\n\r\n" + `{"data":{}}`, 502, "UPSTREAM_UNAVAILABLE"},
		{"a byte order mark first", "Content-Length: 14\r\n\r\n\xef\xbb\xbf" + `{"data":{}}`, 200, "\xef\xbb\xbf" + `{"data":{}}`},
		{"text", "Content-Length: 18\r\n\r\nInternal error: db", 502, "UPSTREAM_UNAVAILABLE"},
		{"an empty body", "Content-Length: 0\r\n\r\n", 502, "UPSTREAM_UNAVAILABLE"},
		{"cut before anything but white space", "Content-Length: 100\r\n\r\n  ", 502, "UPSTREAM_UNAVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, logs := forwardThrough(t, rawAnswer(t, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"+tt.answer), nil)
			res, err := http.Post(url, "application/json", strings.NewReader(`{"query":"{ a }"}`))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != tt.status || !strings.Contains(string(b), tt.body) || tt.status == 200 && string(b) != tt.body {
				t.Errorf("%d %q, want %d %q\n%s", res.StatusCode, b, tt.status, tt.body, logs)
			}
		})
	}
	t.Run("no content", func(t *testing.T) {
		url, _ := forwardThrough(t, rawAnswer(t, "HTTP/1.1 204 No Content\r\nContent-Type: application/json\r\n\r\n"), nil)
		res, err := http.Post(url, "application/json", strings.NewReader(`{"query":"{ a }"}`))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Errorf("status %d, want 204", res.StatusCode)
		}
	})
}

// The check decides on any prefix of an answer only once the prefix tells:
// a short read never refuses a good answer.
func TestJSONStartOnEveryPrefix(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, "\xef\xbb\xbf \r\n\t"+`{"data":{"a":1}}`)
	_ = zw.Close()
	var members []byte
	for _, part := range []string{"", " \n", `{"data":{}}`} {
		var m bytes.Buffer
		zw := gzip.NewWriter(&m)
		_, _ = io.WriteString(zw, part)
		_ = zw.Close()
		members = append(members, m.Bytes()...)
	}
	for _, tt := range []struct {
		name    string
		answer  []byte
		gzipped bool
		want    verdict
	}{
		{"plain", []byte("\xef\xbb\xbf \r\n\t" + `{"data":{}}`), false, startsJSON},
		{"gzipped", gz.Bytes(), true, startsJSON},
		{"gzip members that inflate to nothing and white space first", members, true, startsJSON},
		{"text", []byte(" \xef\xbb\xbf{"), false, notJSON}, // a mark only counts first
	} {
		for n := 0; n <= len(tt.answer); n++ {
			var got verdict
			if tt.gzipped {
				got = gzipVerdict(tt.answer[:n])
			} else {
				got, _ = jsonStart(tt.answer[:n], 0)
			}
			if got != undecided && got != tt.want || n == len(tt.answer) && got != tt.want {
				t.Errorf("%s, first %d of %d bytes: verdict %d, want %d", tt.name, n, len(tt.answer), got, tt.want)
			}
		}
	}
}

// gzipVerdict judges a gzipped answer that ends after b: a refusal for
// ending too soon (cut short, empty so far) is undecided.
func gzipVerdict(b []byte) verdict {
	_, err := readJSONStart(gzipAnswer(bytes.NewReader(b)), "application/json", true, make([]byte, 32<<10))
	switch {
	case err == nil:
		return startsJSON
	case strings.Contains(err.Error(), "is not JSON"), strings.Contains(err.Error(), "is not gzip"):
		return notJSON
	}
	return undecided
}

// gzipAnswer is a 200 gzipped JSON answer reading body.
func gzipAnswer(body io.Reader) *http.Response {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Encoding": {"gzip"}}, Body: io.NopCloser(body)}
}

// A gzipped answer read a byte at a time is judged as one read at once, and
// one that says nothing within the bound is refused without inflating on.
func TestGzippedStartReadAByteAtATime(t *testing.T) {
	gzipped := func(b []byte) string {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(b)
		_ = zw.Close()
		return buf.String()
	}
	// Stored blocks of nothing, each five bytes, ahead of the answer.
	padded := gzipped(nil)[:10] + strings.Repeat("\x00\x00\x00\xff\xff", 7000) + "\x03\x00"
	for _, tt := range []struct {
		name, answer string
		ok           bool
	}{
		{"an answer", gzipped([]byte(`{"data":{"a":1}}`)), true},
		{"an answer after white space", gzipped([]byte(strings.Repeat(" ", 400) + `{"data":{}}`)), true},
		{"an answer after more white space than one window", gzipped([]byte(strings.Repeat(" \n", 3000) + `{"data":{}}`)), true},
		{"empty blocks past the bound", padded, false},
		{"inflated white space past the bound", gzipped([]byte(strings.Repeat(" ", 40<<10) + `{"data":{}}`)), false},
	} {
		res := gzipAnswer(iotest.OneByteReader(strings.NewReader(tt.answer)))
		n, err := readJSONStart(res, "application/json", true, make([]byte, 32<<10))
		if (err == nil) != tt.ok || tt.ok && n == 0 {
			t.Errorf("%s: read %d, err %v; want ok=%v", tt.name, n, err, tt.ok)
		}
	}
}

// The check of a plain answer's start costs no allocation: it runs on
// every request.
func TestJSONStartDoesNotAllocate(t *testing.T) {
	answer := []byte(`{"data":{"invoices":[` + strings.Repeat(`{"number":"INV-1"},`, 50) + `{}]}}`)
	if n := testing.AllocsPerRun(100, func() { jsonStart(answer, 0) }); n != 0 {
		t.Errorf("%v allocations per check", n)
	}
}

// gzip the gateway did not ask for (the client takes none) is not passed on:
// the client could not read it.
func TestGzipThatWasNotAskedForIsRefused(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, `{"data":{}}`)
	_ = zw.Close()
	if _, err := readJSONStart(gzipAnswer(&gz), "application/json", false, make([]byte, 32<<10)); err == nil || !strings.Contains(err.Error(), "did not ask for") {
		t.Errorf("err = %v", err)
	}
}
