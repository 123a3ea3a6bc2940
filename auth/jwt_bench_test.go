package auth

import (
	"context"
	"testing"
)

// benchVerify measures Verify of one token signed with k, the key set
// fetched beforehand; cacheSize 0 makes every call check the signature.
func benchVerify(b *testing.B, k *testKey, cacheSize int) {
	clock := newTestClock()
	p := newTestProvider(b, k)
	cfg := testConfig(Issuer{Issuer: p.URL()})
	cfg.CacheSize = cacheSize
	v := startVerifier(b, cfg, VerifierOptions{Now: clock.Now})
	token := sign(b, k, p.claims(clock))
	ctx := context.Background()
	if _, err := v.Verify(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRS256 is the signature check the cache saves: RSA 2048.
func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, rsaKey(b, "bench-rsa"), 0) }

// BenchmarkVerifyES256 is the same with ECDSA P-256.
func BenchmarkVerifyES256(b *testing.B) { benchVerify(b, ecKey(b, "bench-ec"), 0) }

// BenchmarkVerifyCached is a repeated token answered from the cache.
func BenchmarkVerifyCached(b *testing.B) { benchVerify(b, rsaKey(b, "bench-rsa"), 10000) }

// BenchmarkVerifyCachedParallel is cache hits from every CPU at once, the
// shape of a busy gateway.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	clock := newTestClock()
	k := rsaKey(b, "bench-rsa")
	p := newTestProvider(b, k)
	v := startVerifier(b, testConfig(Issuer{Issuer: p.URL()}), VerifierOptions{Now: clock.Now})
	token := sign(b, k, p.claims(clock))
	if _, err := v.Verify(context.Background(), token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(context.Background(), token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
