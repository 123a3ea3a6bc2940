package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// target is one endpoint the load generator sends requests to.
type target struct {
	name   string
	url    string
	header http.Header // sent with every request
	bodies [][]byte    // one is picked uniformly at random per request
	start  func() error
	// accessLines, for a gateway, counts the access lines it wrote.
	accessLines func() int64
}

// Phases of a round, as workers see them.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// Round is what one round against one target measured.
type Round struct {
	Requests     int64    `json:"requests"`
	Errors       int64    `json:"errors"`
	Seconds      float64  `json:"seconds"`
	Warmup       float64  `json:"warmup_seconds"` // unmeasured, before the window
	ReqPerSec    float64  `json:"req_per_sec"`
	P50ms        float64  `json:"p50_ms"`
	P90ms        float64  `json:"p90_ms"`
	P99ms        float64  `json:"p99_ms"`
	P999ms       float64  `json:"p999_ms"`
	MaxMs        float64  `json:"max_ms"`
	CPUusPerReq  float64  `json:"cpu_us_per_req"`
	CoresBusy    float64  `json:"cores_busy"`  // process CPU time ÷ wall time
	OtherCores   float64  `json:"other_cores"` // the rest of the machine's busy time ÷ wall time
	ErrorSamples []string `json:"error_samples,omitempty"`
}

// loadClient holds what every worker's connection shares, and the
// workers' transports: a job's connections stay open from one round to the
// next, so that only its first round pays for TLS handshakes.
type loadClient struct {
	roots *x509.CertPool

	mu    sync.Mutex
	pools map[poolKey]*pool // by target and connection count
}

// pool is the transports of one job's workers.
type pool struct {
	transports []*http.Transport
	used       time.Time // end of the last round
}

// maxPoolIdle is how long a pool may sit unused and still count as warm:
// well under the servers' idle timeout (120 s), after which they close
// connections and the next round would open them again.
const maxPoolIdle = 60 * time.Second

// pool returns the transports of conns workers for t, and whether their
// connections are new (none open yet, or idle so long that servers may have
// closed them).
func (c *loadClient) pool(t *target, conns int) (*pool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := poolKey{t.name, conns}
	if p, ok := c.pools[key]; ok {
		return p, time.Since(p.used) > maxPoolIdle
	}
	p := &pool{transports: make([]*http.Transport, conns)}
	for i := range p.transports {
		p.transports[i] = c.newTransport()
	}
	if c.pools == nil {
		c.pools = map[poolKey]*pool{}
	}
	c.pools[key] = p
	return p, true
}

// poolKey names a job's pool: one target at one connection count.
type poolKey struct {
	target string
	conns  int
}

// used records that p's round ended now.
func (c *loadClient) used(p *pool) {
	c.mu.Lock()
	p.used = time.Now()
	c.mu.Unlock()
}

// close closes every worker connection and forgets the pools.
func (c *loadClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pools {
		for _, tr := range p.transports {
			tr.CloseIdleConnections()
		}
	}
	c.pools = nil
}

// firstWarmup is the least warm-up of a job's first round, which opens its
// connections (a TLS handshake each).
const firstWarmup = time.Second

// newTransport returns the transport of one worker: a single keep-alive
// connection, HTTP/1.1 over TLS 1.3 for https targets, no compression, no
// environment proxy.
func (c *loadClient) newTransport() *http.Transport {
	return &http.Transport{
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSClientConfig: &tls.Config{
			RootCAs:    c.roots,
			ServerName: "localhost",
			MinVersion: tls.VersionTLS13,
			MaxVersion: tls.VersionTLS13,
			NextProtos: []string{"http/1.1"},
		},
		// A non-nil empty map keeps the transport on HTTP/1.1.
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
		TLSHandshakeTimeout: 5 * time.Second,
		// A stalled target fails its requests instead of holding the
		// round (and the run) open.
		ResponseHeaderTimeout: 5 * time.Second,
	}
}

// worker sends requests on its own connection, one after the other: the
// next leaves when the previous answer has been read in full.
type worker struct {
	transport *http.Transport
	req       *http.Request
	rng       *rand.Rand
	hist      histogram
	requests  int64
	errors    int64
	samples   []string
}

func (w *worker) run(t *target, phase *atomic.Int32) {
	for {
		started := phase.Load()
		if started == phaseStop {
			return
		}
		b := t.bodies[0]
		if len(t.bodies) > 1 {
			b = t.bodies[w.rng.IntN(len(t.bodies))]
		}
		// A new body per request, since a transport may close the previous
		// one after RoundTrip has returned; io.NopCloser over a
		// *bytes.Reader, which net/http knows to be in memory and so
		// writes with the headers in one go, as browsers and wrk do.
		w.req.Body, w.req.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		t0 := time.Now()
		res, err := w.transport.RoundTrip(w.req)
		if err == nil {
			if res.StatusCode != http.StatusOK {
				snippet, _ := io.ReadAll(io.LimitReader(res.Body, 300))
				err = fmt.Errorf("status %d: %s", res.StatusCode, snippet)
			}
			_, copyErr := io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if err == nil && copyErr != nil {
				err = copyErr
			}
		}
		d := time.Since(t0)
		if err != nil {
			w.errors++
			if len(w.samples) < 3 {
				w.samples = append(w.samples, err.Error())
			}
			time.Sleep(10 * time.Millisecond) // no hot loop against a dead target
			continue
		}
		if started == phaseMeasure && phase.Load() == phaseMeasure {
			w.hist.record(d)
			w.requests++
		}
	}
}

// roundSpec says how to run one round.
type roundSpec struct {
	conns            int
	warmup, duration time.Duration
	seed             uint64 // of the workers' document choices
	// begin and end, when set, run just before and just after the
	// measured window (to start and stop a profile).
	begin, end func()
}

// runRound loads t with conns connections for the warm-up, then measures
// for the duration: requests per second, latencies, and the process's CPU
// time.
func (c *loadClient) runRound(t *target, spec roundSpec) (Round, error) {
	p, fresh := c.pool(t, spec.conns)
	if fresh {
		spec.warmup = max(spec.warmup, firstWarmup)
	}
	defer c.used(p)
	workers := make([]*worker, spec.conns)
	for i := range workers {
		req, err := http.NewRequest(http.MethodPost, t.url, nil)
		if err != nil {
			return Round{}, err
		}
		req.Header = t.header.Clone()
		workers[i] = &worker{transport: p.transports[i], req: req, rng: rand.New(rand.NewPCG(spec.seed, uint64(i)))}
	}
	runtime.GC()
	var phase atomic.Int32
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { labeled("generator", func() { w.run(t, &phase) }) })
	}
	time.Sleep(spec.warmup)
	if spec.begin != nil {
		spec.begin()
	}
	busy0, haveBusy := machineBusy()
	cpu0, t0 := cpuTime(), time.Now()
	phase.Store(phaseMeasure)
	time.Sleep(spec.duration)
	phase.Store(phaseStop)
	cpu1, t1 := cpuTime(), time.Now()
	busy1, _ := machineBusy()
	if spec.end != nil {
		spec.end()
	}
	wg.Wait()

	all := &histogram{}
	var r Round
	for _, w := range workers {
		all.merge(&w.hist)
		r.Requests += w.requests
		r.Errors += w.errors
		for _, s := range w.samples {
			if len(r.ErrorSamples) < 5 {
				r.ErrorSamples = append(r.ErrorSamples, s)
			}
		}
	}
	wall := t1.Sub(t0)
	cpu := cpu1 - cpu0
	r.Seconds = wall.Seconds()
	r.Warmup = spec.warmup.Seconds()
	r.ReqPerSec = float64(r.Requests) / r.Seconds
	r.P50ms = ms(all.quantile(0.50))
	r.P90ms = ms(all.quantile(0.90))
	r.P99ms = ms(all.quantile(0.99))
	r.P999ms = ms(all.quantile(0.999))
	r.MaxMs = ms(all.max)
	r.CoresBusy = cpu.Seconds() / r.Seconds
	if haveBusy {
		r.OtherCores = max((busy1-busy0).Seconds()/r.Seconds-r.CoresBusy, 0)
	}
	if r.Requests > 0 {
		r.CPUusPerReq = float64(cpu.Microseconds()) / float64(r.Requests)
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
