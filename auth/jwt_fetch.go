package auth

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/gqlguard/gqlguard/internal/capool"
)

// maxDocumentBytes bounds a discovery document or key set read from a
// provider, so that a broken or hostile endpoint cannot exhaust memory.
const maxDocumentBytes = 1 << 20

// refreshCall is one fetch of an issuer's key set; every request that needs
// it waits on the same call.
type refreshCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// Run fetches every issuer's key set and keeps it fresh until ctx is done;
// call it once, in its own goroutine, and it returns after ctx is done.
//
// For an issuer without jwks_url it first reads the OpenID discovery
// document (<issuer>/.well-known/openid-configuration), whose "issuer" must
// equal the configured one, and takes its "jwks_uri". The first fetch is
// retried with backoff until it succeeds (Ready reports the issuers still
// waiting); after that the key set is fetched again every jwks_refresh. A
// failed refresh keeps the last good key set, logs a warning and is retried
// with backoff: tokens signed by the keys already known keep verifying, and
// no token is ever accepted without a verified signature.
func (v *Verifier) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, is := range v.order {
		is.mu.Lock()
		is.ctx = ctx
		is.mu.Unlock()
		wg.Go(func() { v.keepFresh(ctx, is) })
	}
	wg.Wait()
}

// keepFresh is Run's loop for one issuer.
func (v *Verifier) keepFresh(ctx context.Context, is *issuer) {
	failures := 0
	for {
		call := v.startRefresh(is, false)
		select {
		case <-ctx.Done():
			return
		case <-call.done:
		}
		wait := v.refreshEvery
		if call.err != nil {
			failures++
			wait = v.backoff(failures)
			if is.keys.Load() == nil {
				v.log.Warn("auth: cannot fetch the issuer's signing keys; its tokens are refused until this succeeds",
					"issuer", is.name, "attempt", failures, "retry_in", wait.Round(time.Millisecond).String(), "error", call.err)
			} else {
				v.log.Warn("auth: key set refresh failed; keeping the last good keys",
					"issuer", is.name, "attempt", failures, "retry_in", wait.Round(time.Millisecond).String(), "error", call.err)
			}
		} else {
			failures = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// backoff is the wait after the n-th failure in a row: doubling from
// retryMin up to retryMax, with jitter so that replicas do not retry in
// step.
func (v *Verifier) backoff(n int) time.Duration {
	d := v.retryMin
	for i := 1; i < n && d < v.retryMax; i++ {
		d *= 2
	}
	d = min(d, v.retryMax)
	return d/2 + rand.N(d/2+1)
}

// refreshForUnknownKID fetches is's key set again because a token named a
// kid it lacks, and waits for the fetch, unless ctx ends first. Such
// fetches start at most once per unknown_kid_refresh, whatever the number
// of tokens with unknown kids (an attacker can send any kid); a request
// that finds a fetch under way, for any reason, waits for that one.
func (v *Verifier) refreshForUnknownKID(ctx context.Context, is *issuer) {
	call := v.startRefresh(is, true)
	if call == nil {
		return
	}
	select {
	case <-ctx.Done():
	case <-call.done:
	}
}

// startRefresh returns the fetch of is's key set under way, or starts one.
// For an unknown kid it starts none (and returns nil) when the last such
// fetch began less than unknown_kid_refresh ago.
func (v *Verifier) startRefresh(is *issuer, unknownKID bool) *refreshCall {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.inflight != nil {
		return is.inflight
	}
	if unknownKID {
		now := v.fetchClock()
		if !is.lastUnknownKID.IsZero() && now.Sub(is.lastUnknownKID) < v.unknownKIDEvery {
			return nil
		}
		is.lastUnknownKID = now
	}
	call := &refreshCall{done: make(chan struct{})}
	is.inflight = call
	parent := is.ctx
	if parent == nil {
		parent = context.Background()
	}
	// The fetch belongs to no request: a client that gives up does not
	// cancel it for the others waiting.
	go func() {
		ctx, cancel := context.WithTimeout(parent, 2*v.fetchTimeout)
		call.err = v.fetch(ctx, is)
		cancel()
		is.mu.Lock()
		is.inflight = nil
		is.mu.Unlock()
		close(call.done)
	}()
	return call
}

// fetch reads is's key set (after discovery when needed) and swaps it in.
func (v *Verifier) fetch(ctx context.Context, is *issuer) error {
	u, err := v.jwksURL(ctx, is)
	if err != nil {
		return err
	}
	var raw jwkset.JWKSMarshal
	if err := v.getJSON(ctx, is.client, u, &raw); err != nil {
		is.mu.Lock()
		is.discovered = "" // the provider may have moved its keys: discover again
		is.mu.Unlock()
		return fmt.Errorf("key set: %w", err)
	}
	set, err := newKeySet(raw, v.log)
	if err != nil {
		return fmt.Errorf("key set %s: %w", u, err)
	}
	old := is.keys.Swap(set)
	switch {
	case old == nil:
		v.log.Info("auth: key set loaded", "issuer", is.name, "kids", set.kids())
	case !slices.Equal(old.kids(), set.kids()):
		v.log.Info("auth: key set changed", "issuer", is.name, "kids", set.kids(), "previous", old.kids())
	}
	if old != nil && v.cache != nil {
		// A key the provider withdrew no longer vouches for anything, not
		// even tokens verified with it earlier. A cached entry may hold a
		// key object of any earlier fetch, so it is judged by value
		// against the new set.
		if set.withdraws(old) {
			v.cache.purge(func(e cacheEntry) bool { return e.issuer == is && !set.holds(e.key) })
		}
	}
	return nil
}

// jwksURL returns where is's key set is: the configured jwks_url, or the
// jwks_uri of its discovery document.
func (v *Verifier) jwksURL(ctx context.Context, is *issuer) (string, error) {
	if is.jwksURL != "" {
		return is.jwksURL, nil
	}
	is.mu.Lock()
	u := is.discovered
	is.mu.Unlock()
	if u != "" {
		return u, nil
	}
	u, err := v.discover(ctx, is)
	if err != nil {
		return "", err
	}
	is.mu.Lock()
	is.discovered = u
	is.mu.Unlock()
	return u, nil
}

// discover reads is's OpenID discovery document (OpenID Connect Discovery
// 1.0 §4) and returns its jwks_uri.
func (v *Verifier) discover(ctx context.Context, is *issuer) (string, error) {
	u := strings.TrimSuffix(is.name, "/") + "/.well-known/openid-configuration"
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := v.getJSON(ctx, is.client, u, &doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	// §4.3: the document must name the issuer it was fetched for, or a
	// provider could hand out keys for another.
	if doc.Issuer != is.name {
		return "", fmt.Errorf("discovery: %s names issuer %.200q, not the configured %q", u, doc.Issuer, is.name)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("discovery: %s has no jwks_uri", u)
	}
	if err := checkFetchURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery: jwks_uri: %w", err)
	}
	return doc.JWKSURI, nil
}

// getJSON GETs u and decodes its JSON body into out.
func (v *Verifier) getJSON(ctx context.Context, client *http.Client, u string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, v.fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxDocumentBytes {
		return fmt.Errorf("GET %s: answer larger than %d bytes", u, maxDocumentBytes)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// newProviderClient builds the HTTP client that talks to one provider:
// roots from caFile (default the system's), TLS 1.2 or later, every step
// bounded by defaultFetchTimeout, and no proxy from the environment, so that
// an HTTPS_PROXY meant for something else never sits between the gateway
// and its keys.
func newProviderClient(caFile string) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := capool.Read(caFile)
		if err != nil {
			return nil, err
		}
		tlsConf.RootCAs = pool
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: defaultFetchTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   defaultFetchTimeout,
		ResponseHeaderTimeout: defaultFetchTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       defaultFetchTimeout,
		CheckRedirect: checkRedirect,
	}, nil
}

// checkRedirect follows a provider's redirects only to URLs keys may be
// fetched from, and only a few.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("more than 5 redirects")
	}
	return checkFetchURL(req.URL.String())
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
