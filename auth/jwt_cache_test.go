package auth

import (
	"context"
	"testing"
	"time"
)

func TestCacheAnswersARepeatedToken(t *testing.T) {
	f := newFixture(t)
	token := sign(t, f.ecA, f.a.claims(f.clock))
	first, err := f.v.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	checks := f.v.signatureChecks.Load()
	for range 5 {
		again, err := f.v.Verify(context.Background(), token)
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Error("a repeated token got a new principal")
		}
	}
	if got := f.v.signatureChecks.Load(); got != checks {
		t.Errorf("repeated token re-verified: %d signature checks, want %d", got, checks)
	}
}

func TestCachedTokenIsNeverReturnedAfterExp(t *testing.T) {
	f := newFixture(t)
	claims := f.a.claims(f.clock)
	claims["exp"] = f.clock.In(30 * time.Second)
	token := sign(t, f.rsaA, claims)
	if _, err := f.v.Verify(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	checks := f.v.signatureChecks.Load()

	// Past exp but within the skew: the cache does not answer; the token is
	// verified again (and accepted, thanks to the skew) but not cached.
	f.clock.Advance(40 * time.Second)
	for range 2 {
		if _, err := f.v.Verify(context.Background(), token); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.v.signatureChecks.Load(); got != checks+2 {
		t.Errorf("signature checks = %d, want %d: an expired token was answered from the cache", got, checks+2)
	}

	// Past exp and the skew: refused.
	f.clock.Advance(time.Minute)
	_, err := f.v.Verify(context.Background(), token)
	if te := tokenError(t, err); te.Description != descExpired {
		t.Errorf("Description = %q, want %q", te.Description, descExpired)
	}
}

func TestCacheIsBounded(t *testing.T) {
	f := newFixture(t, func(c *JWTConfig) { c.CacheSize = 2 })
	var tokens []string
	for i := range 3 {
		claims := f.a.claims(f.clock)
		claims["jti"] = i
		tokens = append(tokens, sign(t, f.edA, claims))
	}
	for _, tok := range tokens {
		if _, err := f.v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.v.cache.len(); n != 2 {
		t.Errorf("cache holds %d tokens, want 2", n)
	}
	checks := f.v.signatureChecks.Load()
	if _, err := f.v.Verify(context.Background(), tokens[0]); err != nil { // evicted
		t.Fatal(err)
	}
	if _, err := f.v.Verify(context.Background(), tokens[2]); err != nil { // kept
		t.Fatal(err)
	}
	if got := f.v.signatureChecks.Load(); got != checks+1 {
		t.Errorf("signature checks = %d, want %d", got, checks+1)
	}
}

func TestCacheSizeZeroDisablesTheCache(t *testing.T) {
	f := newFixture(t, func(c *JWTConfig) { c.CacheSize = 0 })
	token := sign(t, f.rsaA, f.a.claims(f.clock))
	for range 3 {
		if _, err := f.v.Verify(context.Background(), token); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.v.signatureChecks.Load(); got != 3 {
		t.Errorf("signature checks = %d, want 3", got)
	}
}

func TestFailedTokensAreNotCached(t *testing.T) {
	f := newFixture(t)
	token := sign(t, f.rsaA, f.a.claims(f.clock))
	bad := tamper(t, token, "sub", "admin")
	for range 2 {
		if _, err := f.v.Verify(context.Background(), bad); err == nil {
			t.Fatal("tampered token accepted")
		}
	}
	if n := f.v.cache.len(); n != 0 {
		t.Errorf("cache holds %d entries after failures", n)
	}
}
