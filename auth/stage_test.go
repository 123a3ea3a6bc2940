package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/envelope"
)

// fakeVerifier accepts the tokens "good" and "good2", and remembers the
// tokens it accepted as a cache would.
type fakeVerifier struct {
	calls    int
	verified map[string]bool
}

func (f *fakeVerifier) Verify(_ context.Context, token string) (*envelope.Principal, error) {
	f.calls++
	if token == "good" || token == "good2" {
		if f.verified == nil {
			f.verified = map[string]bool{}
		}
		f.verified[token] = true
		return &envelope.Principal{Method: "jwt", Subject: "c1"}, nil
	}
	return nil, &TokenError{Description: "the token has expired", Err: errors.New("exp")}
}

func (f *fakeVerifier) Cached(token string) *envelope.Principal {
	if f.verified[token] {
		return &envelope.Principal{Method: "jwt", Subject: "c1"}
	}
	return nil
}

// countingLimiter allows allow failures, then blocks.
type countingLimiter struct{ fails, allow int }

func (l *countingLimiter) Fail(netip.Addr) (bool, time.Duration) {
	l.fails++
	return l.fails <= l.allow, 1500 * time.Millisecond
}

func (l *countingLimiter) Blocked(netip.Addr) (bool, time.Duration) {
	return l.fails > l.allow, 1500 * time.Millisecond
}

// bareChallenge is the challenge without an error attribute, for requests
// that sent no bearer token.
const bareChallenge = `Bearer realm="GraphQL"`

func TestAuthenticator(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		headers   []string
		cookie    string
		anonymous bool
		status    int
		challenge string
		principal string
	}{
		{"valid bearer token", "/graphql", []string{"Bearer good"}, "", false, 200, "", "c1"},
		{"scheme is case-insensitive", "/graphql", []string{"bearer good"}, "", false, 200, "", "c1"},
		{"no token, anonymous not allowed", "/graphql", nil, "", false, 401, bareChallenge, ""},
		{"no token, anonymous allowed", "/graphql", nil, "", true, 200, "", ""},
		{"expired token", "/graphql", []string{"Bearer bad"}, "", true, 401, `Bearer realm="GraphQL", error="invalid_token", error_description="the token has expired"`, ""},
		{"two Authorization headers", "/graphql", []string{"Bearer good", "Bearer good"}, "", false, 401, `error="invalid_request"`, ""},
		{"token in the URL", "/graphql?access_token=good", nil, "", true, 401, `error="invalid_request"`, ""},
		{"Basic scheme gets a bare challenge", "/graphql", []string{"Basic dXNlcjpwYXNz"}, "", false, 401, bareChallenge, ""},
		{"Basic scheme is refused even where anonymous access is allowed", "/graphql", []string{"Basic dXNlcjpwYXNz"}, "", true, 401, bareChallenge, ""},
		{"oversized token is an invalid token", "/graphql", []string{"Bearer " + strings.Repeat("a", 9000)}, "", false, 401, `error="invalid_token", error_description="the token is too large"`, ""},
		{"empty bearer token is an invalid token", "/graphql", []string{"Bearer "}, "", false, 401, `error="invalid_token", error_description="the token is empty"`, ""},
		{"Bearer without a token is an invalid token", "/graphql", []string{"Bearer"}, "", false, 401, `error="invalid_token", error_description="the token is empty"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &fakeVerifier{}
			var got *envelope.Principal
			var anon bool
			a := &Authenticator{Verifier: v, Anonymous: tt.anonymous, Next: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got, anon = envelope.PrincipalFrom(r.Context()), Anonymous(r.Context())
			})}
			r := httptest.NewRequest(http.MethodPost, tt.url, nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			w := httptest.NewRecorder()
			a.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			c := w.Header().Get("WWW-Authenticate")
			if !strings.Contains(c, tt.challenge) || (tt.status == 401 && !strings.HasPrefix(c, bareChallenge)) {
				t.Errorf("WWW-Authenticate %q, want %q", c, tt.challenge)
			}
			if tt.challenge == bareChallenge && c != bareChallenge {
				t.Errorf("WWW-Authenticate %q, want the bare challenge %q", c, bareChallenge)
			}
			if tt.status == 200 {
				if (got != nil && got.Subject != tt.principal) || (got == nil && tt.principal != "") || anon != (tt.principal == "") {
					t.Errorf("principal %+v anonymous %v", got, anon)
				}
			}
			if strings.Contains(tt.name, "oversized") && v.calls != 0 {
				t.Error("an oversized token was parsed")
			}
		})
	}
}

func TestCookieToken(t *testing.T) {
	var got *envelope.Principal
	a := &Authenticator{Verifier: &fakeVerifier{}, Cookie: "session", Next: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = envelope.PrincipalFrom(r.Context())
	})}
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: "good"})
	a.ServeHTTP(httptest.NewRecorder(), r)
	if got == nil || got.Subject != "c1" {
		t.Errorf("cookie token not used: %+v", got)
	}
}

// authenticate sends token to a from one client address.
func authenticate(a *Authenticator, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	r = r.WithContext(envelope.WithInfo(r.Context(), &envelope.Info{ClientIP: netip.MustParseAddr("192.0.2.9")}))
	w := httptest.NewRecorder()
	a.ServeHTTP(w, r)
	return w
}

func TestFailedAuthenticationsAreRateLimited(t *testing.T) {
	lim := &countingLimiter{allow: 2}
	a := &Authenticator{Verifier: &fakeVerifier{}, Limiter: lim, Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	do := func(token string) *httptest.ResponseRecorder { return authenticate(a, token) }
	if w := do("good"); w.Code != 200 {
		t.Fatalf("valid token: %d", w.Code)
	}
	for i := range 2 {
		if w := do("bad"); w.Code != 401 {
			t.Fatalf("failure %d: %d", i, w.Code)
		}
	}
	w := do("bad")
	if w.Code != 429 || w.Header().Get("Retry-After") != "2" || !strings.Contains(w.Body.String(), "RATE_LIMITED") {
		t.Errorf("third failure: %d Retry-After %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if w := do("good"); w.Code != 200 {
		t.Errorf("a valid token was slowed down: %d", w.Code)
	}
}

func TestBlockedAddressGetsNoSignatureCheck(t *testing.T) {
	v := &fakeVerifier{}
	lim := &countingLimiter{allow: 1}
	a := &Authenticator{Verifier: v, Limiter: lim, Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	if w := authenticate(a, "good"); w.Code != 200 {
		t.Fatalf("valid token: %d", w.Code)
	}
	authenticate(a, "bad")
	authenticate(a, "bad") // the second failure blocks the address
	v.calls = 0
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"a new bad token is refused unchecked", "forged", 429},
		{"a new good token waits like any other", "good2", 429},
		{"a token verified before still passes", "good", 200},
	}
	for _, tt := range tests {
		w := authenticate(a, tt.token)
		if w.Code != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.status)
		}
		if tt.status == 429 && (w.Header().Get("Retry-After") != "2" || !strings.Contains(w.Body.String(), "RATE_LIMITED")) {
			t.Errorf("%s: Retry-After %q %s", tt.name, w.Header().Get("Retry-After"), w.Body)
		}
	}
	if v.calls != 0 {
		t.Errorf("%d tokens verified from a blocked address", v.calls)
	}
}

func TestBlockedAddressIsNotVerifiedByTheVerifier(t *testing.T) {
	clock := newTestClock()
	k1 := rsaKey(t, "k1")
	p := newTestProvider(t, k1)
	v := startVerifier(t, testConfig(Issuer{Issuer: p.URL()}), VerifierOptions{Now: clock.Now})
	lim := &countingLimiter{allow: 0}
	a := &Authenticator{Verifier: v, Limiter: lim, Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	seen := sign(t, k1, p.claims(clock))
	if w := authenticate(a, seen); w.Code != 200 {
		t.Fatalf("valid token: %d %s", w.Code, w.Body)
	}
	authenticate(a, seen[:len(seen)-4]+"AAAA") // blocks the address
	checks := v.signatureChecks.Load()
	claims := p.claims(clock)
	claims["sub"] = "user-2"
	if w := authenticate(a, sign(t, k1, claims)); w.Code != 429 {
		t.Errorf("new token from a blocked address: %d", w.Code)
	}
	if w := authenticate(a, seen); w.Code != 200 {
		t.Errorf("cached token from a blocked address: %d", w.Code)
	}
	if n := v.signatureChecks.Load() - checks; n != 0 {
		t.Errorf("%d signatures checked for a blocked address", n)
	}
}

func TestPublicOnly(t *testing.T) {
	public := &documents.Document{Entry: documents.Entry{Meta: documents.Meta{Public: true}}}
	private := &documents.Document{}
	anon := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	anon = anon.WithContext(withAnonymous(anon.Context()))
	authed := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	tests := []struct {
		name string
		r    *http.Request
		res  documents.Resolved
		ok   bool
	}{
		{"anonymous, public trusted document", anon, documents.Resolved{Document: public, Trusted: true}, true},
		{"anonymous, private trusted document", anon, documents.Resolved{Document: private, Trusted: true}, false},
		{"anonymous, free-form text whose hash is public", anon, documents.Resolved{Document: public}, false},
		{"authenticated, private document", authed, documents.Resolved{Document: private, Trusted: true}, true},
	}
	for _, tt := range tests {
		err := PublicOnly(tt.r, tt.res)
		var e *envelope.Error
		if (err == nil) != tt.ok || (err != nil && (!errors.As(err, &e) || e.Code != envelope.CodeUnauthenticated)) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestClientCertificateInPlaceOfToken(t *testing.T) {
	for _, accept := range []bool{true, false} {
		called := false
		a := &Authenticator{Verifier: &fakeVerifier{}, ClientCertificates: accept,
			Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })}
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r = envelope.AttachPrincipal(r, &envelope.Principal{Method: "mtls", Subject: "CN=billing-worker"})
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		if called != accept || (!accept && w.Code != 401) {
			t.Errorf("client_certificates=%v: called=%v status %d", accept, called, w.Code)
		}
	}
}

func TestMissingSigningKeysAreUnavailableNotUnauthenticated(t *testing.T) {
	clock := newTestClock()
	k1 := rsaKey(t, "k1")
	p := newTestProvider(t, k1)
	p.down.Store(true)
	v := newVerifier(t, testConfig(Issuer{Issuer: p.URL()}), VerifierOptions{Now: clock.Now})
	lim := &countingLimiter{allow: 1}
	called := false
	a := &Authenticator{Verifier: v, Limiter: lim, Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })}
	token := sign(t, k1, p.claims(clock))
	for i := range 5 {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Accept", envelope.MediaTypeGraphQLResponse)
		r = r.WithContext(envelope.WithInfo(r.Context(), &envelope.Info{ClientIP: netip.MustParseAddr("192.0.2.9")}))
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), string(envelope.CodeAuthUnavailable)) {
			t.Fatalf("request %d: %d %s, want 503 %s", i, w.Code, w.Body, envelope.CodeAuthUnavailable)
		}
		if w.Header().Get("Retry-After") == "" {
			t.Errorf("request %d: no Retry-After", i)
		}
		if c := w.Header().Get("WWW-Authenticate"); c != "" {
			t.Errorf("request %d: WWW-Authenticate %q tells the client its token is bad", i, c)
		}
	}
	if called {
		t.Error("a token was let through without signing keys")
	}
	if lim.fails != 0 {
		t.Errorf("%d failed authentications counted for a provider outage", lim.fails)
	}
}

func TestRefusalsThatCountAsFailedAuthentications(t *testing.T) {
	tests := []struct {
		name    string
		header  []string
		counted bool
	}{
		{"a bad token counts", []string{"Bearer bad"}, true},
		{"an oversized token counts", []string{"Bearer " + strings.Repeat("a", 9000)}, true},
		{"an empty token counts", []string{"Bearer "}, true},
		{"two Authorization headers count", []string{"Bearer a", "Bearer b"}, true},
		{"no token does not count", nil, false},
		{"another scheme does not count", []string{"Basic dXNlcjpwYXNz"}, false},
	}
	for _, tt := range tests {
		lim := &countingLimiter{allow: 10}
		a := &Authenticator{Verifier: &fakeVerifier{}, Limiter: lim, Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		for _, h := range tt.header {
			r.Header.Add("Authorization", h)
		}
		r = r.WithContext(envelope.WithInfo(r.Context(), &envelope.Info{ClientIP: netip.MustParseAddr("192.0.2.9")}))
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		if w.Code != 401 || (lim.fails == 1) != tt.counted {
			t.Errorf("%s: %d, %d failures counted", tt.name, w.Code, lim.fails)
		}
	}
}
