package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"

	"github.com/gqlguard/gqlguard/documents"
)

// browserDir holds the Node script that drives Chromium and its lock file.
const browserDir = "testdata/browser"

// browserScenario is one step for run.mjs: open Page, then either run Fetch
// in it or wait for the browser to receive a response from Await.
type browserScenario struct {
	Name  string        `json:"name"`
	Page  string        `json:"page"`
	Fetch *browserFetch `json:"fetch,omitempty"`
	Await string        `json:"await,omitempty"`
}

type browserFetch struct {
	URL  string         `json:"url"`
	Init map[string]any `json:"init"`
}

// browserResult is what run.mjs reports: what the page's script read (OK,
// Status, Body) or why its fetch rejected (Error); for Await, what reached
// the browser on the network, out of the page's reach, or why the browser
// dropped it (Network.Failed).
type browserResult struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Status  int    `json:"status"`
	Body    string `json:"body"`
	Error   string `json:"error"`
	Failed  string `json:"failed"`
	Network *struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
		Failed string `json:"failed"`
	} `json:"network"`
}

// TestBrowserCORSAndCSRF checks the browser protections in a real browser: a
// page on an allowed origin may call the gateway with credentials and read
// the answer; a page on any other origin may not read it, and neither page
// can make the gateway run an operation with a form post or an image.
func TestBrowserCORSAndCSRF(t *testing.T) {
	node, chromium := browserTools(t)
	allowed, other := pageServer(t), pageServer(t)

	up, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Documents.Mode = "strict"
	for _, text := range []string{topUsersDoc, payDoc} {
		writeDoc(t, cfg.Documents.Dir, text)
	}
	cfg.CORS.AllowedOrigins = []string{origin(allowed)}
	cfg.CORS.AllowCredentials = true
	g := startGateway(t, cfg, ca)

	// The gateway is named localhost and the pages 127.0.0.1, so every
	// request below is cross-site as well as cross-origin.
	_, port, _ := net.SplitHostPort(g.https)
	endpoint := "https://localhost:" + port + "/graphql"
	pages := attackPages(endpoint)
	for _, s := range []*httptest.Server{allowed, other} {
		s.Config.Handler = pages
		s.Start()
	}
	b := startBrowser(t, node, chromium, leafSPKI(t, g))

	query := string(documents.SHA256(topUsersDoc))
	credentialedFetch := &browserFetch{URL: endpoint, Init: map[string]any{
		"method":      "POST",
		"credentials": "include",
		"headers":     map[string]string{"Content-Type": "application/json"},
		"body":        `{"documentId":"` + query + `","variables":{"limit":1}}`,
	}}
	// The envelope would refuse a form's content type too (415), so "the
	// upstream got nothing" alone does not show CSRF prevention at work:
	// the refusal must be CSRF's own.
	refusedByCSRF := func(t *testing.T, r browserResult) {
		if r.Network == nil || r.Network.Status != http.StatusBadRequest || errorCode(t, r.Network.Body) != "CSRF_PREFLIGHT_REQUIRED" {
			t.Errorf("the browser got %+v; want 400 CSRF_PREFLIGHT_REQUIRED", r.Network)
		}
	}
	tests := []struct {
		name string
		sc   browserScenario
		// access lists the gateway's access-log lines for the GraphQL
		// endpoint, as "METHOD STATUS OUTCOME".
		access    []string
		forwarded int
		check     func(*testing.T, browserResult)
	}{
		{
			name:   "allowed origin reads a credentialed fetch",
			sc:     browserScenario{Page: origin(allowed) + "/", Fetch: credentialedFetch},
			access: []string{"OPTIONS 204 OK", "POST 200 OK"}, forwarded: 1,
			check: func(t *testing.T, r browserResult) {
				var answer struct{ Data struct{ Echo string } }
				if !r.OK || r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &answer) != nil || answer.Data.Echo != topUsersDoc {
					t.Errorf("the allowed page read %+v; want 200 with the upstream's data", r)
				}
			},
		},
		{
			name:   "other origin cannot send or read the same fetch",
			sc:     browserScenario{Page: origin(other) + "/", Fetch: credentialedFetch},
			access: []string{"OPTIONS 204 OK"}, // the preflight is not approved: no POST follows
			check: func(t *testing.T, r browserResult) {
				if r.OK || !strings.Contains(r.Error, "TypeError") {
					t.Errorf("the other page's fetch gave %+v; want a TypeError", r)
				}
			},
		},
		{
			name:   "text/plain form post from another origin is refused",
			sc:     browserScenario{Page: origin(other) + "/form-text", Await: endpoint},
			access: []string{"POST 400 CSRF_PREFLIGHT_REQUIRED"}, check: refusedByCSRF,
		},
		{
			name:   "urlencoded form post from another origin is refused",
			sc:     browserScenario{Page: origin(other) + "/form-urlencoded", Await: endpoint},
			access: []string{"POST 400 CSRF_PREFLIGHT_REQUIRED"}, check: refusedByCSRF,
		},
		{
			name:   "image GET from another origin is refused",
			sc:     browserScenario{Page: origin(other) + "/img", Await: endpoint},
			access: []string{"GET 400 CSRF_PREFLIGHT_REQUIRED"},
			check: func(t *testing.T, r browserResult) {
				// The access log shows the refusal; the browser itself
				// drops a JSON answer to an image (ORB) before the page.
				if r.Network == nil || r.Network.Failed != "net::ERR_BLOCKED_BY_ORB" && r.Network.Status != http.StatusBadRequest {
					t.Errorf("the browser got %+v; want the 400, or the response dropped by ORB", r.Network)
				}
			},
		},
		{
			name:   "text/plain form post from the allowed origin is refused too",
			sc:     browserScenario{Page: origin(allowed) + "/form-text", Await: endpoint},
			access: []string{"POST 400 CSRF_PREFLIGHT_REQUIRED"}, check: refusedByCSRF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sc.Name = tt.name
			before, _ := accessLines(g, "")
			calls, seen := up.count(), len(before)
			r := b.run(t, tt.sc)
			if got := waitAccess(t, g, seen, len(tt.access)); !slices.Equal(got, tt.access) {
				t.Errorf("gateway access log %q; want %q", got, tt.access)
			}
			if n := up.count() - calls; n != tt.forwarded {
				t.Errorf("the upstream got %d calls; want %d", n, tt.forwarded)
			}
			tt.check(t, r)
		})
	}
}

// browserTools finds node, Chromium and the script's node_modules. Without
// them the test is skipped, or fails when GQLGUARD_REQUIRE_SERVICES=1.
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("GQLGUARD_REQUIRE_SERVICES") == "1" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+"\n(set GQLGUARD_REQUIRE_SERVICES=1 to fail instead)", args...)
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("no Chromium at %s (apt-get install chromium, or set CHROMIUM): %v", chromium, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core")); err != nil {
		missing("playwright-core is not installed in internal/server/%s (make browser-deps; make test runs it): %v", browserDir, err)
	}
	return node, chromium
}

// pageServer returns an unstarted plain-HTTP server on a loopback port of
// its own, so its origin is known before the gateway is configured.
func pageServer(t *testing.T) *httptest.Server {
	s := httptest.NewUnstartedServer(http.NotFoundHandler())
	t.Cleanup(s.Close)
	return s
}

// origin is a page server's origin, like http://127.0.0.1:41234.
func origin(s *httptest.Server) string { return "http://" + s.Listener.Addr().String() }

var attackPage = template.Must(template.New("").Parse(`<!doctype html>
<title>page</title>
{{with .FormText}}<form method="POST" enctype="text/plain" action="{{$.Endpoint}}">
<input type="hidden" name="{{.}}" value='"}'>
</form><script>document.forms[0].submit()</script>{{end}}
{{with .FormURLEncoded}}<form method="POST" action="{{$.Endpoint}}">
<input type="hidden" name="documentId" value="{{.}}">
<input type="hidden" name="variables" value='{"id":"inv-1"}'>
</form><script>document.forms[0].submit()</script>{{end}}
{{with .Image}}<img src="{{.}}" alt="">{{end}}
`))

// attackPages serves the pages the scenarios open: a blank page for fetch,
// and pages that at once submit a form to endpoint or load it as an image.
func attackPages(endpoint string) http.Handler {
	pay, query := string(documents.SHA256(payDoc)), string(documents.SHA256(topUsersDoc))
	type page struct{ Endpoint, FormText, FormURLEncoded, Image string }
	pages := map[string]page{
		"/": {},
		// A text/plain body of name=value that is valid JSON.
		"/form-text":       {FormText: `{"documentId":"` + pay + `","variables":{"id":"inv-1"},"x":"`},
		"/form-urlencoded": {FormURLEncoded: pay},
		"/img":             {Image: endpoint + "?" + url.Values{"documentId": {query}, "variables": {`{"limit":1}`}}.Encode()},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		p.Endpoint = endpoint
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = attackPage.Execute(w, p) // a broken page fails its scenario
	})
}

// leafSPKI returns the base64 SHA-256 of the public key the gateway serves,
// for Chromium's --ignore-certificate-errors-spki-list: Chromium then trusts
// this one key instead of every certificate error.
func leafSPKI(t *testing.T, g *gateway) string {
	t.Helper()
	conn, err := tls.Dial("tcp", g.https, &tls.Config{RootCAs: g.roots, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// browser is run.mjs driving one Chromium, given scenarios one line at a
// time on its standard input.
type browser struct {
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *logbuf.Buffer
}

// startBrowser starts run.mjs; Chromium trusts the public key spki. The
// browser is closed when the test ends.
func startBrowser(t *testing.T, node, chromium, spki string) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, node, "run.mjs")
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "TRUST_SPKI="+spki)
	cmd.WaitDelay = 5 * time.Second
	b := &browser{stderr: &logbuf.Buffer{}}
	cmd.Stderr = b.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	b.in, b.out = in, bufio.NewScanner(out)
	t.Cleanup(func() {
		defer cancel()
		_ = b.in.Close()
		for b.out.Scan() {
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("run.mjs: %v\n%s", err, b.stderr)
		}
	})
	return b
}

// run runs one scenario in a fresh browser context and returns its result.
func (b *browser) run(t *testing.T, sc browserScenario) browserResult {
	t.Helper()
	line, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.in.Write(append(line, '\n')); err != nil {
		t.Fatalf("run.mjs: %v\n%s", err, b.stderr)
	}
	if !b.out.Scan() {
		t.Fatalf("run.mjs stopped (%v)\n%s", b.out.Err(), b.stderr)
	}
	var r browserResult
	if err := json.Unmarshal(b.out.Bytes(), &r); err != nil || r.Name != sc.Name || r.Failed != "" {
		t.Fatalf("run.mjs reported %s (%v)\n%s", b.out.Bytes(), err, b.stderr)
	}
	return r
}

// accessLines returns the gateway's access-log lines for the GraphQL
// endpoint as "METHOD STATUS OUTCOME", and whether a request to the path
// stop was logged; the lines end before it.
func accessLines(g *gateway, stop string) (lines []string, stopped bool) {
	for _, e := range g.accessLines() {
		if e.Path == stop {
			return lines, true
		}
		if e.Path == "/graphql" {
			lines = append(lines, fmt.Sprintf("%s %d %s", e.Method, e.Status, e.Outcome))
		}
	}
	return lines, false
}

// waitAccess waits until the gateway has logged want more GraphQL requests
// after the first seen (at most a few seconds), then sends a request of its
// own and returns the new lines logged before that one's. A request nobody
// expected shows among them: the browser reports a scenario once its page
// has the whole answers it waited for, and over HTTP/2 an answer ends only
// after the handler that writes its access line has returned.
func waitAccess(t *testing.T, g *gateway, seen, want int) []string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for lines, _ := accessLines(g, ""); len(lines) < seen+want && time.Now().Before(deadline); lines, _ = accessLines(g, "") {
		time.Sleep(20 * time.Millisecond)
	}
	marker := fmt.Sprintf("/after-scenario-%d", time.Now().UnixNano())
	res, err := g.client.Get(g.url(marker))
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, res)
	var lines []string
	waitUntil(t, "the access line of "+marker, func() bool {
		var logged bool
		lines, logged = accessLines(g, marker)
		return logged
	})
	return lines[seen:]
}
