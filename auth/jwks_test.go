package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// oneIssuer is a provider found by discovery and a verifier trusting it.
func oneIssuer(t *testing.T, clock *testClock, published ...*testKey) (*testProvider, *Verifier) {
	t.Helper()
	p := newTestProvider(t, published...)
	v := startVerifier(t, testConfig(Issuer{Issuer: p.URL()}), VerifierOptions{Now: clock.Now})
	return p, v
}

func TestNewKIDTriggersOneRefreshAndVerifies(t *testing.T) {
	clock := newTestClock()
	k1, k2 := rsaKey(t, "k1"), ecKey(t, "k2")
	p, v := oneIssuer(t, clock, k1)
	before := p.jwksHits.Load()

	p.publish(k1, k2) // the provider rotates: new key first, then signs with it
	if _, err := v.Verify(context.Background(), sign(t, k2, p.claims(clock))); err != nil {
		t.Fatal(err)
	}
	if got := p.jwksHits.Load() - before; got != 1 {
		t.Errorf("key set fetched %d times, want 1", got)
	}
	// The new key is now known: more tokens signed with it cost no fetch.
	for range 3 {
		if _, err := v.Verify(context.Background(), sign(t, k2, p.claims(clock))); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.jwksHits.Load() - before; got != 1 {
		t.Errorf("key set fetched %d times, want 1", got)
	}
}

// burst verifies tokens concurrently, released together, and returns the
// errors.
func burst(v *Verifier, tokens []string) []error {
	errs := make([]error, len(tokens))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() {
			<-start
			_, errs[i] = v.Verify(context.Background(), tok)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func TestBurstOfUnknownKIDsCausesOneFetch(t *testing.T) {
	clock := newTestClock()
	p, v := oneIssuer(t, clock, rsaKey(t, "k1"))
	p.jwksDelay.Store(int64(50 * time.Millisecond)) // a real provider's latency: the burst overlaps the fetch
	before := p.jwksHits.Load()

	forger := rsaKey(t, "forger")
	var tokens []string
	for i := range 50 {
		claims := p.claims(clock)
		claims["jti"] = i
		tokens = append(tokens, sign(t, &testKey{kid: fmt.Sprintf("random-%d", i), method: jwt.SigningMethodRS256, private: forger.private}, claims))
	}
	for i, err := range burst(v, tokens) {
		if !errors.Is(err, ErrUnknownKey) {
			t.Errorf("token %d: err = %v, want ErrUnknownKey", i, err)
		}
	}
	if got := p.jwksHits.Load() - before; got < 1 || got > 2 {
		t.Errorf("50 unknown kids caused %d key set fetches, want 1 (at most 2)", got)
	}

	// Within unknown_kid_refresh, more unknown kids cause no fetch at all.
	after := p.jwksHits.Load()
	burst(v, tokens[:10])
	if got := p.jwksHits.Load() - after; got != 0 {
		t.Errorf("unknown kids within the interval caused %d fetches, want 0", got)
	}
}

func TestBurstOfNewKIDsSharesOneRefresh(t *testing.T) {
	clock := newTestClock()
	k1, k2 := rsaKey(t, "k1"), edKey(t, "k2")
	p, v := oneIssuer(t, clock, k1)
	p.jwksDelay.Store(int64(50 * time.Millisecond))
	before := p.jwksHits.Load()
	p.publish(k1, k2)

	var tokens []string
	for i := range 50 {
		claims := p.claims(clock)
		claims["jti"] = i
		tokens = append(tokens, sign(t, k2, claims))
	}
	for i, err := range burst(v, tokens) {
		if err != nil {
			t.Errorf("token %d: %v", i, err)
		}
	}
	if got := p.jwksHits.Load() - before; got < 1 || got > 2 {
		t.Errorf("50 tokens with a new kid caused %d key set fetches, want 1 (at most 2)", got)
	}
}

func TestUnknownKIDRefreshRateLimitExpires(t *testing.T) {
	clock := newTestClock()
	p, v := oneIssuer(t, clock, rsaKey(t, "k1"))
	v.unknownKIDEvery = 100 * time.Millisecond
	fetchClock := newTestClock() // the interval passes when the test says so
	v.fetchClock = fetchClock.Now
	stranger := sign(t, rsaKey(t, "stranger"), p.claims(clock))
	before := p.jwksHits.Load()
	for range 3 {
		if _, err := v.Verify(context.Background(), stranger); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("err = %v", err)
		}
	}
	if got := p.jwksHits.Load() - before; got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
	fetchClock.Advance(150 * time.Millisecond)
	if _, err := v.Verify(context.Background(), stranger); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v", err)
	}
	if got := p.jwksHits.Load() - before; got != 2 {
		t.Errorf("fetches = %d, want 2 once the interval passed", got)
	}
}

func TestKnownKeysSurviveAProviderOutage(t *testing.T) {
	clock := newTestClock()
	k1 := ecKey(t, "k1")
	p := newTestProvider(t, k1)
	logs := &logBuffer{}
	cfg := testConfig(Issuer{Issuer: p.URL()})
	cfg.CacheSize = 0 // every Verify checks the signature
	v := newVerifier(t, cfg, VerifierOptions{Now: clock.Now, Logger: logs.logger()})
	v.refreshEvery = 20 * time.Millisecond
	run(t, v)
	waitReady(t, v)

	p.down.Store(true)
	hits := func() int64 { return p.jwksHits.Load() + p.discoveryHits.Load() }
	before := hits()
	waitFor(t, "failed refreshes", func() bool { return hits() > before+2 })
	if !logs.Contains("keeping the last good keys") {
		t.Errorf("no warning logged:\n%s", logs)
	}
	if err := v.Ready(); err != nil {
		t.Errorf("Ready = %v after an outage with keys in hand", err)
	}
	if _, err := v.Verify(context.Background(), sign(t, k1, p.claims(clock))); err != nil {
		t.Errorf("token signed by a known key refused during the outage: %v", err)
	}
	_, err := v.Verify(context.Background(), sign(t, rsaKey(t, "k2"), p.claims(clock)))
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown kid during the outage: err = %v, want ErrUnknownKey", err)
	}

	p.srv.Close() // unreachable now, not just failing
	keys := v.order[0].keys.Load()
	if err := v.fetch(context.Background(), v.order[0]); err == nil {
		t.Fatal("fetch from a closed port succeeded")
	}
	if v.order[0].keys.Load() != keys {
		t.Error("a failed fetch replaced the key set")
	}
	if _, err := v.Verify(context.Background(), sign(t, k1, p.claims(clock))); err != nil {
		t.Errorf("token signed by a known key refused with the provider gone: %v", err)
	}
}

func TestProviderDownAtStart(t *testing.T) {
	clock := newTestClock()
	k1 := rsaKey(t, "k1")
	p := newTestProvider(t, k1)
	p.down.Store(true)
	logs := &logBuffer{}
	v := newVerifier(t, testConfig(Issuer{Issuer: p.URL()}), VerifierOptions{Now: clock.Now, Logger: logs.logger()})
	run(t, v)
	waitFor(t, "retries", func() bool { return p.discoveryHits.Load() >= 3 })

	err := v.Ready()
	if err == nil || !strings.Contains(err.Error(), p.URL()) {
		t.Errorf("Ready = %v, want an error naming %s", err, p.URL())
	}
	_, err = v.Verify(context.Background(), sign(t, k1, p.claims(clock)))
	if te := tokenError(t, err); te.Description != descKeysMissing || !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("err = %v, want ErrKeysUnavailable", err)
	}
	if !logs.Contains("tokens are refused until this succeeds") {
		t.Errorf("no warning logged:\n%s", logs)
	}

	p.down.Store(false) // the retries pick it up
	waitReady(t, v)
	if _, err := v.Verify(context.Background(), sign(t, k1, p.claims(clock))); err != nil {
		t.Fatal(err)
	}
}

func TestProviderUnreachableAtStart(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	logs := &logBuffer{}
	v := newVerifier(t, testConfig(Issuer{Issuer: url, JWKSURL: url + "/jwks.json"}), VerifierOptions{Logger: logs.logger()})
	run(t, v)
	// A failed fetch is logged after it failed: Ready is asked once one
	// has ended, not while the first may still be under way.
	waitFor(t, "a failed fetch", func() bool { return logs.Contains("tokens are refused until this succeeds") })
	if err := v.Ready(); err == nil {
		t.Error("ready without keys")
	}
}

func TestDiscoveryMustNameTheConfiguredIssuer(t *testing.T) {
	p := newTestProvider(t, rsaKey(t, "k1"))
	p.setIssuer("https://id.example.com")
	v := newVerifier(t, testConfig(Issuer{Issuer: p.URL()}), VerifierOptions{})

	err := v.fetch(context.Background(), v.order[0])
	if err == nil || !strings.Contains(err.Error(), `names issuer "https://id.example.com"`) {
		t.Errorf("fetch err = %v, want an issuer mismatch", err)
	}
	run(t, v)
	waitFor(t, "retries", func() bool { return p.discoveryHits.Load() >= 3 })
	if v.Ready() == nil {
		t.Error("ready with keys from a discovery document naming another issuer")
	}
	if n := p.jwksHits.Load(); n != 0 {
		t.Errorf("the key set was fetched %d times", n)
	}
}

func TestDiscoveryRefusesAPlainHTTPKeySet(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": "http://keys.example.com/jwks.json"})
	})
	v := newVerifier(t, testConfig(Issuer{Issuer: srv.URL}), VerifierOptions{})
	err := v.fetch(context.Background(), v.order[0])
	if err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("err = %v, want a refusal of plain http", err)
	}
}

func TestFetchRefusesBadAnswersAndKeepsTheLastGoodKeys(t *testing.T) {
	good := rsaKey(t, "good")
	var body atomic.Value
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write(body.Load().([]byte))
	}))
	t.Cleanup(srv.Close)
	p := &testProvider{t: t, published: []*testKey{good}}

	v := newVerifier(t, testConfig(Issuer{Issuer: "https://id.example.com", JWKSURL: srv.URL}), VerifierOptions{})
	is := v.order[0]
	status.Store(200)
	body.Store(p.jwks())
	if err := v.fetch(context.Background(), is); err != nil {
		t.Fatal(err)
	}
	loaded := is.keys.Load()

	for _, tc := range []struct {
		name   string
		status int
		body   string
	}{
		{"error status", 500, `{"keys":[]}`},
		{"not JSON", 200, `<html>`},
		{"empty set", 200, `{"keys":[]}`},
		{"only a symmetric key", 200, `{"keys":[{"kty":"oct","kid":"good","k":"c2VjcmV0"}]}`},
		{"larger than 1 MiB", 200, `{"keys":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(int64(tc.status))
			body.Store([]byte(tc.body))
			if err := v.fetch(context.Background(), is); err == nil {
				t.Error("accepted")
			}
			if is.keys.Load() != loaded {
				t.Error("the last good key set was replaced")
			}
		})
	}
}

func TestKeySetSkipsKeysItMustNotUse(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good := rsaKey(t, "good")
	marshal := func(pub any, meta jwkset.JWKMetadataOptions) jwkset.JWKMarshal {
		jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: meta})
		if err != nil {
			t.Fatal(err)
		}
		return jwk.Marshal()
	}
	raw := jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{
		marshal(good.public(), jwkset.JWKMetadataOptions{KID: "good", USE: jwkset.UseSig}),
		marshal(good.public(), jwkset.JWKMetadataOptions{KID: "enc", USE: jwkset.UseEnc}),
		marshal(good.public(), jwkset.JWKMetadataOptions{KID: "wrap", KEYOPS: []jwkset.KEYOPS{jwkset.KeyOpsWrapKey}}),
		marshal(good.public(), jwkset.JWKMetadataOptions{KID: "oaep", ALG: jwkset.AlgRSAOAEP}),
		marshal(good.public(), jwkset.JWKMetadataOptions{KID: "mislabelled", ALG: jwkset.AlgES256}),
		marshal(&small.PublicKey, jwkset.JWKMetadataOptions{KID: "short"}),
		{KTY: jwkset.KtyOct, KID: "hmac", K: "c2VjcmV0"},
		{KTY: jwkset.KtyRSA, KID: "broken", N: "!!", E: "AQAB"},
	}}
	logs := &logBuffer{}
	set, err := newKeySet(raw, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	if got := set.kids(); len(got) != 1 || got[0] != "good" {
		t.Errorf("usable keys = %v, want [good]", got)
	}
	for _, kid := range []string{"short", "hmac", "broken", "mislabelled", "oaep"} {
		if !logs.Contains("kid=" + kid) {
			t.Errorf("skipping %s was not logged", kid)
		}
	}
}

func TestWithdrawnKeyNoLongerVerifiesCachedTokens(t *testing.T) {
	clock := newTestClock()
	k1, k2 := rsaKey(t, "k1"), rsaKey(t, "k2")
	p, v := oneIssuer(t, clock, k1, k2)
	token := sign(t, k1, p.claims(clock))
	other := sign(t, k2, p.claims(clock))
	for _, tok := range []string{token, other} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}

	p.publish(k2) // k1 revoked
	if err := v.fetch(context.Background(), v.order[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), token); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("token of a withdrawn key: err = %v, want ErrUnknownKey", err)
	}
	checks := v.signatureChecks.Load()
	if _, err := v.Verify(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if v.signatureChecks.Load() != checks {
		t.Error("a token of a key still published left the cache")
	}
}

// A periodic refresh builds new key objects even when the provider's set is
// unchanged; a later withdrawal must still reach the tokens cached before
// that refresh. The stage answers as a client sees it.
func TestKeyWithdrawnAfterAnUnchangedRefreshRefusesCachedTokensAtOnce(t *testing.T) {
	clock := newTestClock()
	k1, k2 := rsaKey(t, "k1"), rsaKey(t, "k2")
	p := newTestProvider(t, k1, k2)
	v := newVerifier(t, testConfig(Issuer{Issuer: p.URL()}), VerifierOptions{Now: clock.Now})
	v.refreshEvery = 10 * time.Millisecond
	run(t, v)
	waitReady(t, v)
	stage := &Authenticator{Verifier: v, Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	status := func(token string) (int, string) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		stage.ServeHTTP(rec, r)
		return rec.Code, rec.Header().Get("WWW-Authenticate")
	}
	token := sign(t, k1, p.claims(clock))
	if code, _ := status(token); code != http.StatusOK {
		t.Fatalf("token of a published key: status %d", code)
	}
	if v.Cached(token) == nil {
		t.Fatal("the verified token was not cached")
	}

	// Periodic refreshes of the same set.
	hits := p.jwksHits.Load()
	waitFor(t, "two periodic refreshes", func() bool { return p.jwksHits.Load() >= hits+2 })
	if v.Cached(token) == nil {
		t.Fatal("an unchanged key set dropped a cached token")
	}

	p.publish(k2) // k1 withdrawn
	hits = p.jwksHits.Load()
	waitFor(t, "the refresh without k1 to end", func() bool {
		is := v.order[0]
		is.mu.Lock()
		defer is.mu.Unlock()
		return p.jwksHits.Load() > hits && is.inflight == nil
	})
	code, challenge := status(token)
	if code != http.StatusUnauthorized || !strings.Contains(challenge, `error="invalid_token"`) {
		t.Errorf("cached token of a withdrawn key: status %d, WWW-Authenticate %q; want 401 with invalid_token", code, challenge)
	}
}

func TestKeyRotationUnderLoadHasNoFailures(t *testing.T) {
	clock := newTestClock()
	oldKey, newKey := rsaKey(t, "2024-old"), rsaKey(t, "2025-new")
	p, v := oneIssuer(t, clock, oldKey)
	p.jwksDelay.Store(int64(5 * time.Millisecond))

	var signer atomic.Pointer[testKey]
	signer.Store(oldKey)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	var verified, verifiedNew, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				claims := p.claims(clock)
				claims["jti"] = fmt.Sprintf("%d-%d", w, i) // every token fresh: no cache hits
				key := signer.Load()
				if _, err := v.Verify(context.Background(), sign(t, key, claims)); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				verified.Add(1)
				if key == newKey {
					verifiedNew.Add(1)
				}
			}
		})
	}
	// The provider's rotation: publish the new key beside the old one,
	// start signing with it, and keep the old one published for a grace
	// period while tokens signed with it are still about. Each step waits
	// for verifications under the previous one, not for a fixed time.
	verifiedSince := func(n int64) func() bool {
		return func() bool { return verified.Load() >= n+20 || ctx.Err() != nil }
	}
	waitFor(t, "verifications with the old key", verifiedSince(0))
	before := p.jwksHits.Load()
	p.publish(oldKey, newKey)
	waitFor(t, "verifications with both keys published", verifiedSince(verified.Load()))
	signer.Store(newKey)
	wg.Wait()

	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d verifications failed during the rotation; first: %v", n, n+verified.Load(), firstErr.Load())
	}
	if verified.Load() < 50 {
		t.Errorf("only %d verifications in a second", verified.Load())
	}
	if verifiedNew.Load() == 0 && failed.Load() == 0 {
		t.Error("the load ended before a token signed with the new key was verified: the rotation was not tested")
	}
	if got := p.jwksHits.Load() - before; got < 1 || got > 2 {
		t.Errorf("the rotation caused %d key set fetches, want 1", got)
	}
	t.Logf("%d tokens verified across the rotation", verified.Load())
}
