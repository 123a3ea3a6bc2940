package server

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

// metricLine returns the line of the admin listener's /metrics that starts
// with series (name and labels), or fails the test.
func metricLine(t *testing.T, admin, series string) string {
	t.Helper()
	res, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatalf("/metrics on the admin listener: %v", err)
	}
	body := readBody(t, res)
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("/metrics has no %s", series)
	return ""
}

// TestConnectionCapRefusesExcessConnectionsAtOnce holds server.max_connections
// idle connections open: one more, on either public listener, is closed as
// soon as it is accepted and counted, while the admin listener still
// answers; closing one lets a new one in.
func TestConnectionCapRefusesExcessConnectionsAtOnce(t *testing.T) {
	_, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Server.MaxConnections = 4
	// Idle connections must stay open for the length of the test.
	cfg.Server.ReadHeaderTimeout = time.Minute
	g := startGateway(t, cfg, ca)

	dialer := &net.Dialer{Timeout: 10 * time.Second}
	dialTLS := func() (*tls.Conn, error) {
		return tls.DialWithDialer(dialer, "tcp", g.https, &tls.Config{RootCAs: g.roots, ServerName: "localhost"})
	}
	var held []*tls.Conn
	t.Cleanup(func() {
		for _, c := range held {
			_ = c.Close()
		}
	})
	for i := range 4 {
		c, err := dialTLS()
		if err != nil {
			t.Fatalf("connection %d of 4: %v", i+1, err)
		}
		held = append(held, c)
	}

	// The handshake needs the server: a connection closed at accept fails
	// it at once, with a reset, not a timeout.
	if c, err := dialTLS(); err == nil {
		_ = c.Close()
		t.Fatal("a 5th connection was accepted with max_connections 4")
	} else if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		t.Fatalf("the 5th connection timed out (%v), want it closed at once", err)
	}
	// The plain-HTTP listener shares the cap.
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if res, err := client.Get("http://" + g.http + "/graphql"); err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		t.Fatalf("plain HTTP answered %d beyond the cap", res.StatusCode)
	}

	for series, want := range map[string]string{
		`gqlguard_connections_refused_total{listener="https"}`: "1",
		`gqlguard_connections_refused_total{listener="http"}`:  "1",
		`gqlguard_connections_open{listener="https"}`:          "4",
		`gqlguard_connections_max`:                             "4",
	} {
		if got := metricLine(t, g.admin, series); got != series+" "+want {
			t.Errorf("metric %q, want %s", got, want)
		}
	}
	if res, err := http.Get("http://" + g.admin + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("admin /healthz under the cap: %v %v", res, err)
	}

	_ = held[0].Close()
	held = held[1:]
	// The server notices the close when its read returns: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dialTLS()
		if err == nil {
			held = append(held, c)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection accepted after one of 4 closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := metricLine(t, g.admin, `gqlguard_connections_open{listener="https"}`); !strings.HasSuffix(got, " 4") {
		t.Errorf("open connections after one closed and one opened: %q, want 4", got)
	}
}

// Without server.max_connections the cap is 80% of the open-file limit,
// leaving the rest for the admin listener, files and upstream connections;
// a configured cap at or above the limit is kept, with a warning that it
// cannot protect anything.
func TestConnectionCapDefaultsToFourFifthsOfTheFileLimit(t *testing.T) {
	limit := openFileLimit()
	if limit == 0 {
		t.Skip("the open-file limit cannot be read here")
	}
	logs := &logbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	if got, want := maxConnections(config.Server{}, logger), max(limit*8/10, 1); got != want {
		t.Errorf("default cap %d with RLIMIT_NOFILE %d, want %d", got, limit, want)
	}
	if got := maxConnections(config.Server{MaxConnections: 10}, logger); got != 10 || logs.String() != "" {
		t.Errorf("cap 10: %d, logged %q", got, logs)
	}
	if got := maxConnections(config.Server{MaxConnections: limit}, logger); got != limit || !strings.Contains(logs.String(), "not below the open-file limit") {
		t.Errorf("cap at the limit: %d, logged %q; want it kept with a warning", got, logs)
	}
}
