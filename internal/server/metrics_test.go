package server

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// runtimeMetrics are the Go runtime and process series that dashboards and
// alerts built for any Go service read.
var runtimeMetrics = []string{"go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_resident_memory_bytes ", "process_open_fds ", "process_max_fds "}

func TestMetricsIncludeGoRuntimeAndProcess(t *testing.T) {
	g := startFor(t, "http://127.0.0.1:1")
	metrics := g.adminGet(t, "/metrics")
	for _, name := range runtimeMetrics {
		if !strings.Contains(metrics, "\n"+name) {
			t.Errorf("/metrics lacks %s", strings.TrimSpace(name))
		}
	}
}

// A registry handed in that has the collectors already (as Prometheus's
// default registry does) is accepted as it is.
func TestRegistryWithRuntimeCollectorsIsAccepted(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg, ca := testConfig(t, "http://127.0.0.1:1")
	g := startGatewayWith(t, cfg, ca, WithRegistry(reg))
	metrics := g.adminGet(t, "/metrics")
	if !strings.Contains(metrics, "\ngo_goroutines ") || !strings.Contains(metrics, "\ngqlguard_") {
		t.Errorf("/metrics lacks the runtime or the gateway's series:\n%.2000s", metrics)
	}
}
