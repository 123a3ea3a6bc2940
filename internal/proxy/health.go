package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// errNotProbed is the readiness state before the first probe finished.
var errNotProbed = errors.New("upstream not probed yet")

// Health tracks whether the upstream answers, for readiness. The zero value is
// not usable; build it with (*Proxy).Health.
type Health struct {
	p        *Proxy
	client   *http.Client
	interval time.Duration
	state    atomic.Pointer[error]
}

// Health returns a prober of p's upstream, probing every interval.
func (p *Proxy) Health(interval time.Duration) *Health {
	h := &Health{p: p, interval: interval, client: &http.Client{Transport: p.transport, Timeout: 10 * time.Second}}
	h.set(errNotProbed)
	return h
}

// Run probes until ctx is done.
func (h *Health) Run(ctx context.Context) {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		h.set(h.Probe(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Ready returns nil when the last probe was answered, else why not.
func (h *Health) Ready() error { return *h.state.Load() }

func (h *Health) set(err error) { h.state.Store(&err) }

// Probe sends `{ __typename }`, which every GraphQL server answers, and
// reports whether an HTTP answer below 500 came back whole: an upstream
// that cuts its answers short fails requests as surely as one that is down.
func (h *Health) Probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.p.target.String(), strings.NewReader(`{"query":"{ __typename }"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json, application/json")
	for k, v := range h.p.headers {
		req.Header[k] = v
	}
	res, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("upstream did not answer: %w", err)
	}
	_, err = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	if res.StatusCode >= 500 {
		return fmt.Errorf("upstream answered %s", res.Status)
	}
	if err != nil {
		return fmt.Errorf("upstream answer cut short: %w", err)
	}
	return nil
}
