package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// testKey is a signing key of a test provider.
type testKey struct {
	kid     string
	method  jwt.SigningMethod
	private crypto.Signer
	jwkAlg  jwkset.ALG // published alg; empty leaves it out
}

func (k *testKey) public() crypto.PublicKey { return k.private.Public() }

// The key generators share keys across tests by kid: RSA generation is slow
// under the race detector.
var (
	keysMu sync.Mutex
	keys   = map[string]crypto.Signer{}
)

func cachedKey(t testing.TB, kid string, gen func() (crypto.Signer, error)) crypto.Signer {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keys[kid]; ok {
		return k
	}
	k, err := gen()
	if err != nil {
		t.Fatal(err)
	}
	keys[kid] = k
	return k
}

func rsaKey(t testing.TB, kid string) *testKey {
	k := cachedKey(t, "rsa/"+kid, func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) })
	return &testKey{kid: kid, method: jwt.SigningMethodRS256, private: k}
}

func ecKey(t testing.TB, kid string) *testKey {
	k := cachedKey(t, "ec/"+kid, func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) })
	return &testKey{kid: kid, method: jwt.SigningMethodES256, private: k, jwkAlg: jwkset.AlgES256}
}

func edKey(t testing.TB, kid string) *testKey {
	k := cachedKey(t, "ed/"+kid, func() (crypto.Signer, error) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	})
	return &testKey{kid: kid, method: jwt.SigningMethodEdDSA, private: k, jwkAlg: jwkset.AlgEdDSA}
}

// testClock is a settable clock shared by a verifier and the tokens of a
// test.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().Truncate(time.Second).UnixNano())
	return c
}

func (c *testClock) Now() time.Time                      { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration)             { c.ns.Add(int64(d)) }
func (c *testClock) In(d time.Duration) *jwt.NumericDate { return jwt.NewNumericDate(c.Now().Add(d)) }

// testProvider is an OpenID provider on httptest: a discovery document and
// a JWK Set built with jwkset from the keys it publishes.
type testProvider struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	published []*testKey
	issuer    string // the discovery document's issuer; default the URL

	down      atomic.Bool  // answer 503
	jwksDelay atomic.Int64 // nanoseconds to wait before answering the key set

	jwksHits      atomic.Int64
	discoveryHits atomic.Int64
}

func newTestProvider(t testing.TB, published ...*testKey) *testProvider {
	t.Helper()
	p := &testProvider{t: t, published: published}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.discoveryHits.Add(1)
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		iss := p.issuer
		p.mu.Unlock()
		if iss == "" {
			iss = p.URL()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss,
			"jwks_uri":                              p.URL() + "/jwks.json",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "EdDSA"},
		})
	})
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, r *http.Request) {
		p.jwksHits.Add(1)
		time.Sleep(time.Duration(p.jwksDelay.Load()))
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(p.jwks())
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testProvider) URL() string { return p.srv.URL }

// publish replaces the published keys.
func (p *testProvider) publish(keys ...*testKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = keys
}

func (p *testProvider) setIssuer(iss string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.issuer = iss
}

// jwks is the published key set as JSON, made by jwkset.
func (p *testProvider) jwks() []byte {
	p.mu.Lock()
	published := p.published
	p.mu.Unlock()
	store := jwkset.NewMemoryStorage()
	ctx := context.Background()
	for _, k := range published {
		jwk, err := jwkset.NewJWKFromKey(k.public(), jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: k.jwkAlg, USE: jwkset.UseSig},
		})
		if err != nil {
			p.t.Error(err)
			return nil
		}
		if err := store.KeyWrite(ctx, jwk); err != nil {
			p.t.Error(err)
		}
	}
	raw, err := store.JSONPublic(ctx)
	if err != nil {
		p.t.Error(err)
	}
	return raw
}

// claims are a valid token's claims for p, at clock's time.
func (p *testProvider) claims(clock *testClock) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": p.URL(),
		"aud": "api",
		"sub": "user-1",
		"exp": clock.In(10 * time.Minute),
		"iat": clock.In(-time.Minute),
	}
}

// sign makes a token of claims with k, its kid in the header; edit may
// change the token before it is signed.
func sign(t testing.TB, k *testKey, claims jwt.MapClaims, edit ...func(*jwt.Token)) string {
	t.Helper()
	tok := jwt.NewWithClaims(k.method, claims)
	tok.Header["kid"] = k.kid
	for _, e := range edit {
		e(tok)
	}
	s, err := tok.SignedString(k.private)
	if err != nil {
		t.Error(err) // not Fatal: sign is also called from worker goroutines
	}
	return s
}

// testConfig is the default auth.jwt section with the given issuers.
func testConfig(issuers ...Issuer) JWTConfig {
	cfg := DefaultJWTConfig()
	cfg.Issuers = issuers
	cfg.Audiences = []string{"api"}
	cfg.UnknownKIDRefresh = time.Second
	return cfg
}

// startVerifier builds a verifier, runs it until the test ends and waits
// until it is ready.
func startVerifier(t testing.TB, cfg JWTConfig, opts VerifierOptions) *Verifier {
	t.Helper()
	v := newVerifier(t, cfg, opts)
	run(t, v)
	waitReady(t, v)
	return v
}

func newVerifier(t testing.TB, cfg JWTConfig, opts VerifierOptions) *Verifier {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	v, err := NewVerifier(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	v.retryMin = 10 * time.Millisecond
	v.retryMax = 50 * time.Millisecond
	return v
}

func run(t testing.TB, v *Verifier) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		v.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func waitReady(t testing.TB, v *Verifier) {
	t.Helper()
	waitFor(t, "verifier ready", func() bool { return v.Ready() == nil })
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// tokenError asserts that err is a *TokenError and returns it.
func tokenError(t testing.TB, err error) *TokenError {
	t.Helper()
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *TokenError", err, err)
	}
	return te
}

// logBuffer is a logger whose records a test can read.
type logBuffer struct{ logbuf.Buffer }

func (b *logBuffer) Contains(s string) bool { return strings.Contains(b.String(), s) }

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
