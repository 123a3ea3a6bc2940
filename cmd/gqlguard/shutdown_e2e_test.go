//go:build unix

package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/certs"
)

// probeEvent is one observation of a shutdown probe.
type probeEvent struct {
	// readyAt is when /readyz answered ready (its status; 0 when the admin
	// listener did not answer), at when the request over a new HTTPS
	// connection ended: ok (200) or err. Each is the moment the answer or
	// failure came, so a failure is never timed before its cause.
	readyAt, at time.Time
	ready       int
	ok          bool
	err         error
}

// shutdownProbe polls /readyz and opens a new HTTPS connection with a
// GraphQL request every 10 ms, the way a load balancer's probe and new
// clients see the gateway, until stop is called.
type shutdownProbe struct {
	mu     sync.Mutex
	events []probeEvent
	stop   func()
}

func startShutdownProbe(t *testing.T, httpsAddr, adminAddr, caFile string) *shutdownProbe {
	t.Helper()
	// A new connection per request: a keep-alive connection would hide
	// whether the listener still accepts.
	fresh := httpsClient(t, caFile)
	fresh.Transport.(*http.Transport).DisableKeepAlives = true
	fresh.Timeout = 5 * time.Second
	admin := &http.Client{Timeout: 5 * time.Second}
	p := &shutdownProbe{}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			var ev probeEvent
			if res, err := admin.Get("http://" + adminAddr + "/readyz"); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
				ev.ready = res.StatusCode
			}
			ev.readyAt = time.Now()
			res, err := fresh.Post("https://"+httpsAddr+"/graphql", "application/json", strings.NewReader(`{"query":"{ __typename }"}`))
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
				ev.ok = res.StatusCode == http.StatusOK
				if !ev.ok {
					err = fmt.Errorf("status %d", res.StatusCode)
				}
			}
			ev.err, ev.at = err, time.Now()
			p.mu.Lock()
			p.events = append(p.events, ev)
			p.mu.Unlock()
		}
	}()
	var once sync.Once
	p.stop = func() { once.Do(func() { close(done); <-stopped }) }
	return p
}

// refusedOrReset reports whether err is a connection the gateway did not
// take: refused, or reset or closed before the TLS handshake (one that
// waited in the kernel's queue when the listener closed).
func refusedOrReset(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) // queued in the kernel when the listener closed, closed mid-handshake
}

// waitUntil polls until some event satisfies cond, failing the test after
// timeout.
func (p *shutdownProbe) waitUntil(t *testing.T, what string, timeout time.Duration, cond func(probeEvent) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		for _, ev := range p.events {
			if cond(ev) {
				p.mu.Unlock()
				return
			}
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the probe never saw %s within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startDelayedGateway runs gqlguard serve with server.shutdown_delay set to
// delay in front of an upstream that answers at once.
func startDelayedGateway(t *testing.T, delay time.Duration) (gw *process, httpsAddr, adminAddr, caFile string) {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"__typename":"Query"}}`)
	}))
	t.Cleanup(upstream.Close)
	ca, err := certs.EnsureDevCA(t.TempDir(), certs.DefaultHosts(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "gqlguard.yaml")
	yaml := "listen: {https: \"127.0.0.1:0\", http: \"127.0.0.1:0\", admin: \"127.0.0.1:0\"}\n" +
		fmt.Sprintf("documents: {mode: \"off\", dir: %q}\n", filepath.Join(dir, "trusted")) +
		fmt.Sprintf("upstream: {url: %q, health_interval: 50ms}\n", upstream.URL+"/graphql") +
		fmt.Sprintf("tls: {cert_file: %q, key_file: %q}\n", ca.CertFile, ca.KeyFile) +
		fmt.Sprintf("server: {shutdown_delay: %s}\n", delay)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	gw = startProcess(t, nil, "serve", "-c", path)
	httpsAddr = servingAddr(t, gw)
	for _, rec := range logRecords(gw.stderr.String()) {
		if rec["msg"] == "gqlguard serving" {
			adminAddr, _ = rec["admin"].(string)
		}
	}
	return gw, httpsAddr, adminAddr, ca.CAFile
}

// TestServeShutdownDelay sends SIGTERM while a probe polls /readyz and
// opens new connections every 10 ms: /readyz must answer 503 while new
// connections are still served, for server.shutdown_delay, and only then
// are connections refused. (With shutdown_delay 0, the listeners close at
// once: TestServeGracefulShutdown.)
func TestServeShutdownDelay(t *testing.T) {
	const delay = 2 * time.Second
	gw, httpsAddr, adminAddr, caFile := startDelayedGateway(t, delay)
	probe := startShutdownProbe(t, httpsAddr, adminAddr, caFile)
	defer probe.stop()
	probe.waitUntil(t, "a ready gateway serving a request", 10*time.Second, func(ev probeEvent) bool { return ev.ready == 200 && ev.ok })

	signalled := time.Now()
	if err := gw.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	probe.waitUntil(t, "a refused connection", 10*time.Second, func(ev probeEvent) bool { return ev.at.After(signalled) && ev.err != nil })
	if code := gw.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0\nstderr:\n%s", code, gw.stderr)
	}
	probe.stop()

	var first503, firstRefused time.Time
	servedWhileUnready := 0
	for _, ev := range probe.events {
		if !ev.readyAt.After(signalled) {
			continue
		}
		if ev.ready == http.StatusServiceUnavailable && first503.IsZero() {
			first503 = ev.readyAt
		}
		switch {
		case ev.err != nil && firstRefused.IsZero():
			firstRefused = ev.at
			if !refusedOrReset(ev.err) {
				t.Errorf("first failed connection after SIGTERM: %v, want refused or reset", ev.err)
			}
		case ev.ok && !firstRefused.IsZero():
			t.Errorf("a new connection was served at +%v, after one was refused at +%v", ev.at.Sub(signalled), firstRefused.Sub(signalled))
		case ev.ok && !first503.IsZero() && ev.ready == http.StatusServiceUnavailable:
			servedWhileUnready++
		}
	}
	switch {
	case first503.IsZero():
		t.Fatalf("/readyz never answered 503 after SIGTERM\nstderr:\n%s", gw.stderr)
	case !first503.Before(firstRefused):
		t.Errorf("/readyz first answered 503 at +%v, not before the first refused connection at +%v", first503.Sub(signalled), firstRefused.Sub(signalled))
	}
	// The listeners close no sooner than the delay after the signal; how
	// much later depends on the machine, so there is no upper bound.
	if got := firstRefused.Sub(signalled); got < delay {
		t.Errorf("first connection refused %v after SIGTERM, want at least server.shutdown_delay (%v)", got, delay)
	}
	if servedWhileUnready == 0 {
		t.Errorf("no new connection was served while /readyz answered 503")
	}
	t.Logf("after SIGTERM: /readyz 503 at +%v, %d new connections served while unready, first refused at +%v",
		first503.Sub(signalled).Round(time.Millisecond), servedWhileUnready, firstRefused.Sub(signalled).Round(time.Millisecond))
}

// TestServeSecondSignalSkipsShutdownDelay: with a delay of an hour, a second
// SIGTERM closes the listeners and the gateway exits.
func TestServeSecondSignalSkipsShutdownDelay(t *testing.T) {
	gw, httpsAddr, adminAddr, caFile := startDelayedGateway(t, time.Hour)
	probe := startShutdownProbe(t, httpsAddr, adminAddr, caFile)
	defer probe.stop()
	probe.waitUntil(t, "a ready gateway", 10*time.Second, func(ev probeEvent) bool { return ev.ready == 200 && ev.ok })
	signalled := time.Now()
	if err := gw.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	probe.waitUntil(t, "/readyz answering 503", 10*time.Second, func(ev probeEvent) bool {
		return ev.readyAt.After(signalled) && ev.ready == http.StatusServiceUnavailable
	})
	select {
	case <-gw.exited:
		t.Fatalf("the gateway exited during its hour of shutdown delay\nstderr:\n%s", gw.stderr)
	default:
	}
	if err := gw.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := gw.wait(t, 20*time.Second); code != 0 {
		t.Errorf("exit code after the second SIGTERM = %d, want 0\nstderr:\n%s", code, gw.stderr)
	}
	if !strings.Contains(gw.stderr.String(), "the rest of the delay is skipped") {
		t.Errorf("no log line says the delay was cut short:\n%s", gw.stderr)
	}
}
