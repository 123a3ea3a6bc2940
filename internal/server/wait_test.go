package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// waitUntil polls cond until it holds, failing the test after 10 s with
// what it waited for.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitUntilOr(t, cond, func() { t.Fatalf("timed out after 10 s waiting for %s", what) })
}

// waitUntilOr polls cond until it holds, calling fail after 10 s.
func waitUntilOr(t testing.TB, cond func() bool, fail func()) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			fail()
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitMetrics polls /metrics until it holds every line of want and none of
// absent: the gateway counts a request or a handshake once its answer is
// written, which the client may read first.
func (g *gateway) waitMetrics(t *testing.T, want, absent []string) {
	t.Helper()
	var metrics, missing string
	waitUntilOr(t, func() bool {
		metrics, missing = g.adminGet(t, "/metrics"), ""
		for _, w := range want {
			if !strings.Contains(metrics, w) {
				missing = "lacks " + w
			}
		}
		for _, a := range absent {
			if strings.Contains(metrics, a) {
				missing = "has " + a
			}
		}
		return missing == ""
	}, func() { t.Fatalf("/metrics %s:\n%s", missing, grep(metrics, "gqlguard_")) })
}

// accessLine is an access line as the gateway logs it.
type accessLine struct {
	Level   string `json:"level"`
	Msg     string `json:"msg"`
	ID      string `json:"request_id"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	Status  int    `json:"status"`
	Outcome string `json:"outcome"`
	Error   string `json:"error"`
}

// accessLines returns the access lines in g's log so far.
func (g *gateway) accessLines() []accessLine {
	var lines []accessLine
	for l := range strings.Lines(g.logs.String()) {
		var a accessLine
		if json.Unmarshal([]byte(l), &a) == nil && a.Msg == "request" {
			lines = append(lines, a)
		}
	}
	return lines
}
