package server

import (
	"testing"
	"time"
)

// waitUntil polls cond until it holds, failing the test after 10 s with
// what it waited for.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10 s waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
