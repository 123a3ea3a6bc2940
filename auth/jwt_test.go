package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fixture is two providers and a verifier trusting both: A by discovery
// with RSA, EC P-256 and Ed25519 keys, B by jwks_url with one RSA key.
type fixture struct {
	clock          *testClock
	a, b           *testProvider
	rsaA, ecA, edA *testKey
	rsaB           *testKey
	v              *Verifier
}

func newFixture(t *testing.T, edit ...func(*JWTConfig)) *fixture {
	t.Helper()
	f := &fixture{
		clock: newTestClock(),
		rsaA:  rsaKey(t, "rsa-a"),
		ecA:   ecKey(t, "ec-a"),
		edA:   edKey(t, "ed-a"),
		rsaB:  rsaKey(t, "rsa-b"),
	}
	f.a = newTestProvider(t, f.rsaA, f.ecA, f.edA)
	f.b = newTestProvider(t, f.rsaB)
	cfg := testConfig(
		Issuer{Issuer: f.a.URL()},
		Issuer{Issuer: f.b.URL(), JWKSURL: f.b.URL() + "/jwks.json"},
	)
	for _, e := range edit {
		e(&cfg)
	}
	f.v = startVerifier(t, cfg, VerifierOptions{Now: f.clock.Now})
	return f
}

// b64 encodes a token segment.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerifyAcceptsEachKeyType(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		p    *testProvider
		key  *testKey
	}{
		{"RS256 from the discovered key set", f.a, f.rsaA},
		{"ES256 on P-256", f.a, f.ecA},
		{"EdDSA with Ed25519", f.a, f.edA},
		{"RS256 from a jwks_url key set", f.b, f.rsaB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := tc.p.claims(f.clock)
			token := sign(t, tc.key, claims)
			p, err := f.v.Verify(context.Background(), token)
			if err != nil {
				t.Fatal(err)
			}
			if p.Method != "jwt" || p.Subject != "user-1" {
				t.Errorf("principal = %+v", p)
			}
			if !p.Expires.Equal(claims["exp"].(*jwt.NumericDate).Time) {
				t.Errorf("Expires = %v, want %v", p.Expires, claims["exp"])
			}
			if p.Claims["iss"] != tc.p.URL() || p.Claims["aud"] != "api" {
				t.Errorf("Claims = %v", p.Claims)
			}
		})
	}
}

func TestPrincipalCarriesThePayloadAsSignedOnOneLine(t *testing.T) {
	f := newFixture(t)
	// Key order and a large integer that a float64 would round: what the
	// upstream receives is what the provider signed. Whitespace between
	// tokens, newlines included, is dropped so that the claims fit in one
	// header; DEL inside a string is escaped.
	payload := "{ \"sub\":\"user-7\",\n\t\"iss\":\"" + f.a.URL() + "\", \"aud\":[\"other\",\r\n \"api\"]," +
		" \"exp\":" + jsonNumber(f.clock.In(time.Hour)) + ", \"account\":9007199254740993, \"note\":\"a b\x7f\" }\n"
	want := `{"sub":"user-7","iss":"` + f.a.URL() + `","aud":["other","api"],"exp":` + jsonNumber(f.clock.In(time.Hour)) +
		`,"account":9007199254740993,"note":"a b\u007f"}`
	header := `{"alg":"RS256","kid":"rsa-a","typ":"JWT"}`
	signing := b64(header) + "." + b64(payload)
	sig, err := jwt.SigningMethodRS256.Sign(signing, f.rsaA.private)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.v.Verify(context.Background(), signing+"."+base64.RawURLEncoding.EncodeToString(sig))
	if err != nil {
		t.Fatal(err)
	}
	if p.ClaimsJSON != want {
		t.Errorf("ClaimsJSON = %q, want %q", p.ClaimsJSON, want)
	}
	if p.Subject != "user-7" {
		t.Errorf("Subject = %q", p.Subject)
	}
	if got := p.Claims["account"]; got != json.Number("9007199254740993") {
		t.Errorf(`Claims["account"] = %v (%T), want the number as written`, got, got)
	}
}

func jsonNumber(d *jwt.NumericDate) string {
	b, _ := d.MarshalJSON()
	return string(b)
}

func TestVerifyRefusesAttacks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	valid := func() jwt.MapClaims { return f.a.claims(f.clock) }
	without := func(name string) jwt.MapClaims {
		c := valid()
		delete(c, name)
		return c
	}
	with := func(name string, v any) jwt.MapClaims {
		c := valid()
		c[name] = v
		return c
	}
	rsaDER, err := x509.MarshalPKIXPublicKey(f.rsaA.public())
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaDER})
	hmacWith := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, valid())
		tok.Header["kid"] = f.rsaA.kid
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	payloadJSON, _ := json.Marshal(valid())
	stranger := rsaKey(t, "stranger")
	otherEC := ecKey(t, "other-ec")

	for _, tc := range []struct {
		name  string
		token string
		desc  string
		is    error // also wrapped, when set
	}{
		{
			name:  "alg none with an empty signature",
			token: b64(`{"alg":"none","typ":"JWT"}`) + "." + base64.RawURLEncoding.EncodeToString(payloadJSON) + ".",
			desc:  descAlgorithm,
		},
		{
			name:  "alg none naming a real kid",
			token: b64(`{"alg":"none","kid":"rsa-a"}`) + "." + base64.RawURLEncoding.EncodeToString(payloadJSON) + ".",
			desc:  descAlgorithm,
		},
		{name: "HS256 with the RSA public key PEM as the secret", token: hmacWith(rsaPEM), desc: descAlgorithm},
		{name: "HS256 with the RSA public key DER as the secret", token: hmacWith(rsaDER), desc: descAlgorithm},
		{
			name:  "alg outside the allowlist (PS256 when only RS256 is allowed)",
			token: sign(t, &testKey{kid: "rsa-a", method: jwt.SigningMethodPS256, private: f.rsaA.private}, valid()),
			desc:  descAlgorithm,
		},
		{
			name:  "made-up alg",
			token: b64(`{"alg":"XS256","kid":"rsa-a"}`) + "." + base64.RawURLEncoding.EncodeToString(payloadJSON) + ".c2ln",
			desc:  descAlgorithm,
		},
		{
			name:  "RS256 header on an EC key",
			token: sign(t, &testKey{kid: f.ecA.kid, method: jwt.SigningMethodRS256, private: f.rsaA.private}, valid()),
			desc:  descKeyMismatch,
		},
		{
			name:  "ES256 header on an Ed25519 key",
			token: sign(t, &testKey{kid: f.edA.kid, method: jwt.SigningMethodES256, private: f.ecA.private}, valid()),
			desc:  descKeyMismatch,
		},
		{name: "issuer not configured", token: sign(t, f.rsaA, with("iss", "https://evil.example")), desc: descIssuer, is: ErrUntrustedIssuer},
		{name: "no issuer", token: sign(t, f.rsaA, without("iss")), desc: descIssuer, is: ErrUntrustedIssuer},
		{
			name:  "issuer A's token signed by issuer B's key (kid only in B's set)",
			token: sign(t, f.rsaB, valid()),
			desc:  descUnknownKey,
			is:    ErrUnknownKey,
		},
		{
			name:  "issuer A's token signed by B's key under A's kid",
			token: sign(t, &testKey{kid: f.rsaA.kid, method: jwt.SigningMethodRS256, private: f.rsaB.private}, valid()),
			desc:  descSignature,
			is:    jwt.ErrTokenSignatureInvalid,
		},
		{name: "audience of another API", token: sign(t, f.rsaA, with("aud", "billing")), desc: descAudience, is: jwt.ErrTokenInvalidAudience},
		{name: "no audience", token: sign(t, f.rsaA, without("aud")), desc: descMissingClaim},
		{name: "expired beyond the clock skew", token: sign(t, f.rsaA, with("exp", f.clock.In(-2*time.Minute))), desc: descExpired, is: jwt.ErrTokenExpired},
		{name: "no exp", token: sign(t, f.rsaA, without("exp")), desc: descMissingClaim},
		{name: "not valid yet (nbf)", token: sign(t, f.rsaA, with("nbf", f.clock.In(5*time.Minute))), desc: descNotYetValid, is: jwt.ErrTokenNotValidYet},
		{name: "issued in the future (iat)", token: sign(t, f.rsaA, with("iat", f.clock.In(5*time.Minute))), desc: descIssuedFuture, is: jwt.ErrTokenUsedBeforeIssued},
		{name: "unknown kid", token: sign(t, stranger, valid()), desc: descUnknownKey, is: ErrUnknownKey},
		{
			name:  "tampered payload keeps the signature",
			token: tamper(t, sign(t, f.rsaA, valid()), "sub", "admin"),
			desc:  descSignature,
			is:    jwt.ErrTokenSignatureInvalid,
		},
		{
			name:  "tampered EC payload keeps the signature",
			token: tamper(t, sign(t, f.ecA, valid()), "sub", "admin"),
			desc:  descSignature,
		},
		{
			name:  "EC signature by another key under the published kid",
			token: sign(t, &testKey{kid: f.ecA.kid, method: jwt.SigningMethodES256, private: otherEC.private}, valid()),
			desc:  descSignature,
		},
		{
			name:  "oversized token",
			token: sign(t, f.rsaA, with("pad", strings.Repeat("x", 9000))),
			desc:  descTooLarge,
			is:    ErrTokenTooLarge,
		},
		{name: "missing required claim (sub)", token: sign(t, f.rsaA, without("sub")), desc: descMissingClaim, is: errMissingClaim},
		{name: "sub that is not a string", token: sign(t, f.rsaA, with("sub", 42)), desc: descClaimType},
		{name: "empty sub", token: sign(t, f.rsaA, with("sub", "")), desc: descMissingClaim, is: errMissingClaim},
		{name: "blank sub", token: sign(t, f.rsaA, with("sub", " \t ")), desc: descMissingClaim, is: errMissingClaim},
		// sub goes upstream as X-User-Id (the default headers).
		{name: "sub with a control character", token: sign(t, f.rsaA, with("sub", "c1\u0007")), desc: descUnforwardable, is: errUnforwardable},
		{name: "sub with a line break", token: sign(t, f.rsaA, with("sub", "c1\r\nX-Admin: 1")), desc: descUnforwardable, is: errUnforwardable},
		{name: "sub padded with a space, which HTTP strips", token: sign(t, f.rsaA, with("sub", " c1")), desc: descUnforwardable, is: errUnforwardable},
		{
			name:  "no kid while the key set has several keys",
			token: sign(t, f.rsaA, valid(), func(tok *jwt.Token) { delete(tok.Header, "kid") }),
			desc:  descKIDRequired,
		},
		{
			name:  "critical header parameter",
			token: sign(t, f.rsaA, valid(), func(tok *jwt.Token) { tok.Header["crit"] = []string{"exp"} }),
			desc:  descCritical,
		},
		{name: "not a JWT", token: "not-a-token", desc: descMalformed, is: jwt.ErrTokenMalformed},
		{name: "empty", token: "", desc: descMalformed},
		{
			name:  "padded base64",
			token: strings.Replace(sign(t, f.rsaA, valid()), ".", "=.", 1),
			desc:  descMalformed,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := f.v.Verify(ctx, tc.token)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if p != nil {
				t.Errorf("principal %+v returned with an error", p)
			}
			te := tokenError(t, err)
			if te.Description != tc.desc {
				t.Errorf("Description = %q, want %q (err: %v)", te.Description, tc.desc, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

// tamper changes one claim of token and keeps its signature.
func tamper(t *testing.T, token, claim string, value any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	claims[claim] = value
	raw, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

func TestVerifyToleratesClockSkew(t *testing.T) {
	f := newFixture(t)
	for name, c := range map[string]jwt.MapClaims{
		"expired 30s ago":       {"exp": f.clock.In(-30 * time.Second)},
		"nbf 30s ahead":         {"nbf": f.clock.In(30 * time.Second)},
		"iat 30s ahead":         {"iat": f.clock.In(30 * time.Second)},
		"aud among several":     {"aud": []string{"other", "api"}},
		"extra claims are kept": {"scope": "read"},
	} {
		t.Run(name, func(t *testing.T) {
			claims := f.a.claims(f.clock)
			for k, v := range c {
				claims[k] = v
			}
			if _, err := f.v.Verify(context.Background(), sign(t, f.rsaA, claims)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTokenWithoutKIDUsesTheOnlyKey(t *testing.T) {
	f := newFixture(t)
	// Issuer B publishes one key; a token that does not name it is checked
	// against it.
	token := sign(t, f.rsaB, f.b.claims(f.clock), func(tok *jwt.Token) { delete(tok.Header, "kid") })
	if _, err := f.v.Verify(context.Background(), token); err != nil {
		t.Fatal(err)
	}
}

func TestRequiredClaimsAreConfigurable(t *testing.T) {
	f := newFixture(t, func(c *JWTConfig) { c.RequiredClaims = []string{"sub", "tenant"} })
	claims := f.a.claims(f.clock)
	_, err := f.v.Verify(context.Background(), sign(t, f.rsaA, claims))
	if te := tokenError(t, err); te.Description != descMissingClaim || !strings.Contains(err.Error(), "tenant") {
		t.Errorf("err = %v", err)
	}
	claims["tenant"] = nil
	_, err = f.v.Verify(context.Background(), sign(t, f.rsaA, claims))
	if te := tokenError(t, err); te.Description != descMissingClaim {
		t.Errorf("a null claim counted as present: %v", err)
	}
	claims["tenant"] = "acme"
	if _, err := f.v.Verify(context.Background(), sign(t, f.rsaA, claims)); err != nil {
		t.Fatal(err)
	}
}

func TestRequiredForwardedClaimsMustBeHeaderValues(t *testing.T) {
	f := newFixture(t, func(c *JWTConfig) {
		c.RequiredClaims = []string{"sub", "name"}
		c.Headers = map[string]string{"sub": "X-User-Id", "name": "X-User-Name", "groups": "X-Groups"}
	})
	for _, tc := range []struct {
		name  string
		claim string
		value any
		desc  string // "" when the token is accepted
	}{
		{"a required forwarded name", "name", "Ada Lovelace", ""},
		{"a required forwarded number", "name", 7, ""},
		{"a required forwarded name padded with a space", "name", "Ada ", descUnforwardable},
		{"a required forwarded name with a line break", "name", "Ada\nX-Admin: 1", descUnforwardable},
		{"a required forwarded list", "name", []string{"Ada"}, descUnforwardable},
		{"a required forwarded name that is empty", "name", "", descMissingClaim},
		// The proxy leaves it out, as if the token did not hold it.
		{"an optional forwarded list", "groups", []string{"admin"}, ""},
		{"an optional forwarded value padded with a space", "groups", " admin", ""},
		{"a claim that is not forwarded may hold anything", "note", "line\nbreak ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := f.a.claims(f.clock)
			claims["name"] = "Ada"
			claims[tc.claim] = tc.value
			p, err := f.v.Verify(context.Background(), sign(t, f.rsaA, claims))
			if tc.desc == "" {
				if err != nil || p == nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if te := tokenError(t, err); te.Description != tc.desc || !strings.Contains(err.Error(), tc.claim) {
				t.Errorf("err = %v, want %q", err, tc.desc)
			}
		})
	}
}

func TestNewVerifierRefusesUnsafeConfig(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := func() JWTConfig { return testConfig(Issuer{Issuer: "https://id.example.com"}) }
	for _, tc := range []struct {
		name string
		edit func(*JWTConfig)
		key  string
	}{
		{"no issuer", func(c *JWTConfig) { c.Issuers = nil }, "auth.jwt.issuers"},
		{"no audience", func(c *JWTConfig) { c.Audiences = nil }, "auth.jwt.audiences"},
		{"HMAC allowed", func(c *JWTConfig) { c.Algorithms = []string{"RS256", "HS256"} }, "auth.jwt.algorithms[1]"},
		{"none allowed", func(c *JWTConfig) { c.Algorithms = []string{"none"} }, "auth.jwt.algorithms[0]"},
		{"no algorithm", func(c *JWTConfig) { c.Algorithms = nil }, "auth.jwt.algorithms"},
		{"issuer twice", func(c *JWTConfig) { c.Issuers = append(c.Issuers, c.Issuers[0]) }, "auth.jwt.issuers[1].issuer"},
		{"plain http key set", func(c *JWTConfig) { c.Issuers[0].JWKSURL = "http://id.example.com/jwks" }, "auth.jwt.issuers[0].jwks_url"},
		{"unreadable ca_file", func(c *JWTConfig) { c.Issuers[0].CAFile = filepath.Join(t.TempDir(), "missing.pem") }, "auth.jwt.issuers[0].ca_file"},
		{"ca_file without certificates", func(c *JWTConfig) { c.Issuers[0].CAFile = caFile }, "auth.jwt.issuers[0].ca_file"},
		{"negative cache size", func(c *JWTConfig) { c.CacheSize = -1 }, "auth.jwt.cache_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.edit(&cfg)
			_, err := NewVerifier(cfg, VerifierOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.key+":") {
				t.Errorf("err = %v, want one naming %s", err, tc.key)
			}
		})
	}
}

func TestNewVerifierContactsNoProvider(t *testing.T) {
	p := newTestProvider(t, rsaKey(t, "rsa-a"))
	v, err := NewVerifier(testConfig(Issuer{Issuer: p.URL()}), VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.discoveryHits.Load()+p.jwksHits.Load() != 0 {
		t.Error("NewVerifier fetched from the provider")
	}
	if v.Ready() == nil {
		t.Error("ready before Run")
	}
	_, err = v.Verify(context.Background(), sign(t, rsaKey(t, "rsa-a"), p.claims(newTestClock())))
	if !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("err = %v, want ErrKeysUnavailable", err)
	}
}

func TestKeyFitsOnlyItsAlgorithms(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub := rsaKey(t, "rsa-a").public().(*rsa.PublicKey)
	for _, tc := range []struct {
		name string
		key  *verificationKey
		alg  string
		want bool
	}{
		{"RSA verifies RS256", &verificationKey{public: rsaPub}, "RS256", true},
		{"RSA verifies PS512", &verificationKey{public: rsaPub}, "PS512", true},
		{"RSA published for RS256 refuses PS256", &verificationKey{public: rsaPub, alg: "RS256"}, "PS256", false},
		{"RSA is never an HMAC secret", &verificationKey{public: rsaPub}, "HS256", false},
		{"RSA refuses ES256", &verificationKey{public: rsaPub}, "ES256", false},
		{"P-256 verifies ES256", &verificationKey{public: ecKey(t, "ec-a").public()}, "ES256", true},
		{"P-256 refuses ES384", &verificationKey{public: ecKey(t, "ec-a").public()}, "ES384", false},
		{"P-384 refuses ES256", &verificationKey{public: &p384.PublicKey}, "ES256", false},
		{"P-384 verifies ES384", &verificationKey{public: &p384.PublicKey}, "ES384", true},
		{"Ed25519 verifies EdDSA", &verificationKey{public: edKey(t, "ed-a").public()}, "EdDSA", true},
		{"Ed25519 refuses ES256", &verificationKey{public: edKey(t, "ed-a").public()}, "ES256", false},
		{"nothing fits none", &verificationKey{public: rsaPub}, "none", false},
	} {
		if got := tc.key.fits(tc.alg); got != tc.want {
			t.Errorf("%s: fits = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTokenErrorDescriptionsAreHeaderSafe(t *testing.T) {
	for _, d := range []string{descMalformed, descTooLarge, descAlgorithm, descSignature, descIssuer, descUnknownKey,
		descKIDRequired, descKeyMismatch, descKeysMissing, descCritical, descExpired, descNotYetValid,
		descIssuedFuture, descAudience, descMissingClaim, descClaimType, descUnforwardable, descInvalid} {
		for _, r := range d {
			// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E.
			if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
				t.Errorf("%q has %q, not allowed in error_description", d, r)
			}
		}
	}
}

func FuzzVerify(f *testing.F) {
	clock := newTestClock()
	rk := rsaKey(f, "rsa-a")
	ek := ecKey(f, "ec-a")
	p := newTestProvider(f, rk, ek)
	v := startVerifier(f, testConfig(Issuer{Issuer: p.URL()}), VerifierOptions{Now: clock.Now})
	claims := p.claims(clock)
	claims["sub"] = "fuzz-user"
	f.Add(sign(f, rk, claims))
	f.Add(sign(f, ek, claims))
	f.Add("a.b.c")
	f.Add(b64(`{"alg":"none"}`) + "." + b64(`{}`) + ".")
	f.Fuzz(func(t *testing.T, token string) {
		pr, err := v.Verify(context.Background(), token)
		if err != nil {
			tokenError(t, err)
			return
		}
		// Only the seeds carry a valid signature (and an ECDSA signature's
		// mirror image, which is equally valid): whatever verifies must say
		// what they say.
		if pr.Subject != "fuzz-user" || pr.Method != "jwt" {
			t.Errorf("accepted %q as %+v", token, pr)
		}
	})
}
