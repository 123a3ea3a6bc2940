// Package admin serves the admin listener: liveness, readiness and metrics
// for orchestrators, and the document registration API, which takes the
// admin token or an allowed client certificate. It never serves GraphQL.
package admin

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness condition.
type Check struct {
	// Name identifies the check in the /readyz answer.
	Name string
	// Ready returns nil when the condition holds.
	Ready func() error
}

// Handler serves /healthz (the process is alive), /readyz (every check
// passes; 503 naming the failing checks otherwise), /metrics (the
// Prometheus metrics gathered from reg) and the API routes given.
func Handler(reg prometheus.Gatherer, routes map[string]http.Handler, checks ...Check) http.Handler {
	mux := http.NewServeMux()
	for path, h := range routes {
		mux.Handle(path, h)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		var b strings.Builder
		status := http.StatusOK
		for _, c := range checks {
			if err := c.Ready(); err != nil {
				status = http.StatusServiceUnavailable
				fmt.Fprintf(&b, "%s: not ready: %v\n", c.Name, err)
				continue
			}
			fmt.Fprintf(&b, "%s: ok\n", c.Name)
		}
		writeText(w, status, b.String())
	})
	return mux
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
