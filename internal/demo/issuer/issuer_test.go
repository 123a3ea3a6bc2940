package issuer

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

const (
	testIssuer   = "http://127.0.0.1:8081"
	testAudience = "billing-api"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// testUsers are ada and grace with the demo's passwords, hashed at the
// lowest bcrypt cost to keep the tests quick.
func testUsers(t *testing.T) []User {
	t.Helper()
	hash := func(password string) []byte {
		h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	return []User{
		{Username: "ada", CustomerID: "c1", Name: "Ada Lovelace", PasswordHash: hash("ada-demo-password")},
		{Username: "grace", CustomerID: "c2", Name: "Grace Hopper", PasswordHash: hash("grace-demo-password")},
	}
}

func testOptions(t *testing.T) Options {
	return Options{
		Issuer:   testIssuer,
		Audience: testAudience,
		KeyFile:  filepath.Join(t.TempDir(), "issuer.key"),
		Users:    testUsers(t),
		Now:      func() time.Time { return testNow },
	}
}

func newIssuer(t *testing.T, opts Options) *Issuer {
	t.Helper()
	i, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// do sends a request to h and returns the response status, headers and
// body.
func do(h http.Handler, method, path, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func formBody(username, password string) string {
	return url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}.Encode()
}

// issue obtains a token for ada through the form body.
func issue(t *testing.T, i *Issuer) tokenResponse {
	t.Helper()
	rec := do(i.Handler(), "POST", "/token", "application/x-www-form-urlencoded", formBody("ada", "ada-demo-password"))
	if rec.Code != http.StatusOK {
		t.Fatalf("token: status %d, body %s", rec.Code, rec.Body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// fetchJWKS returns the key set the issuer publishes.
func fetchJWKS(t *testing.T, i *Issuer) []map[string]string {
	t.Helper()
	rec := do(i.Handler(), "GET", "/jwks.json", "", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("jwks: status %d", rec.Code)
	}
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	return set.Keys
}

// keyFromJWK rebuilds a P-256 public key from JWK members, as a verifier
// that knows nothing of this package would.
func keyFromJWK(t *testing.T, k map[string]string) *ecdsa.PublicKey {
	t.Helper()
	x, errX := base64.RawURLEncoding.DecodeString(k["x"])
	y, errY := base64.RawURLEncoding.DecodeString(k["y"])
	if err := errors.Join(errX, errY); err != nil {
		t.Fatal(err)
	}
	if len(x) != 32 || len(y) != 32 {
		t.Fatalf("coordinates are %d and %d bytes, want 32 each", len(x), len(y))
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestDiscovery(t *testing.T) {
	rec := do(newIssuer(t, testOptions(t)).Handler(), "GET", "/.well-known/openid-configuration", "", "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                                testIssuer,
		"jwks_uri":                              testIssuer + "/jwks.json",
		"token_endpoint":                        testIssuer + "/token",
		"id_token_signing_alg_values_supported": []any{"ES256"},
		"response_types_supported":              []any{"token"},
		"subject_types_supported":               []any{"public"},
		"grant_types_supported":                 []any{"password"},
		"token_endpoint_auth_methods_supported": []any{"none"},
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("discovery document\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestJWKSKeyVerifiesIssuedToken(t *testing.T) {
	i := newIssuer(t, testOptions(t))
	keys := fetchJWKS(t, i)
	if len(keys) != 1 {
		t.Fatalf("%d keys, want 1", len(keys))
	}
	k := keys[0]
	for member, want := range map[string]string{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256"} {
		if k[member] != want {
			t.Errorf("%s = %q, want %q", member, k[member], want)
		}
	}
	// RFC 7638: the thumbprint of the required members, computed here
	// independently (json.Marshal sorts map keys and adds no whitespace).
	canonical, _ := json.Marshal(map[string]string{"crv": k["crv"], "kty": k["kty"], "x": k["x"], "y": k["y"]})
	sum := sha256.Sum256(canonical)
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); k["kid"] != want {
		t.Errorf("kid = %q, want the RFC 7638 thumbprint %q", k["kid"], want)
	}

	pub := keyFromJWK(t, k)
	token, err := jwt.Parse(issue(t, i).AccessToken, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(func() time.Time { return testNow }))
	if err != nil {
		t.Fatalf("the published key does not verify an issued token: %v", err)
	}
	if token.Header["kid"] != k["kid"] {
		t.Errorf("token kid = %v, want the JWK's %q", token.Header["kid"], k["kid"])
	}
}

func TestTokenClaims(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Hour} {
		opts := testOptions(t)
		opts.TTL = ttl
		i := newIssuer(t, opts)
		wantTTL := ttl
		if ttl == 0 {
			wantTTL = DefaultTTL
		}
		tr := issue(t, i)
		if tr.TokenType != "Bearer" || tr.ExpiresIn != int64(wantTTL/time.Second) {
			t.Errorf("TTL %v: token_type %q, expires_in %d; want Bearer, %d", ttl, tr.TokenType, tr.ExpiresIn, int64(wantTTL/time.Second))
		}
		var c claims
		_, err := jwt.ParseWithClaims(tr.AccessToken, &c, func(*jwt.Token) (any, error) { return &i.key.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES256"}),
			jwt.WithIssuer(testIssuer), jwt.WithAudience(testAudience),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
			jwt.WithTimeFunc(func() time.Time { return testNow }))
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != "c1" || c.Name != "Ada Lovelace" {
			t.Errorf("sub %q, name %q; want ada's customer c1 and her name", c.Subject, c.Name)
		}
		if !c.IssuedAt.Equal(testNow) || !c.NotBefore.Equal(testNow) || !c.ExpiresAt.Equal(testNow.Add(wantTTL)) {
			t.Errorf("iat %v, nbf %v, exp %v; want now, now, now+%v", c.IssuedAt, c.NotBefore, c.ExpiresAt, wantTTL)
		}
		if len(c.ID) < 20 {
			t.Errorf("jti %q is too short to be unique", c.ID)
		}
		if second := issue(t, i); second.AccessToken == tr.AccessToken {
			t.Error("two tokens issued at the same instant are identical; jti must differ")
		}
	}
}

func TestTokenRequests(t *testing.T) {
	const form, jsonType = "application/x-www-form-urlencoded", "application/json"
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		status      int
		errorCode   string // "" when a token is issued
		sub         string
	}{
		{"form body with the right password gets a token", "POST", form, formBody("ada", "ada-demo-password"), 200, "", "c1"},
		{"JSON body with the right password gets a token", "POST", jsonType, `{"username":"grace","password":"grace-demo-password"}`, 200, "", "c2"},
		{"JSON body may name the password grant", "POST", jsonType + "; charset=utf-8", `{"grant_type":"password","username":"ada","password":"ada-demo-password"}`, 200, "", "c1"},
		{"wrong password is refused", "POST", form, formBody("ada", "grace-demo-password"), 401, "invalid_grant", ""},
		{"wrong password in JSON is refused", "POST", jsonType, `{"username":"ada","password":"nope"}`, 401, "invalid_grant", ""},
		{"unknown user is refused like a wrong password", "POST", form, formBody("mallory", "ada-demo-password"), 401, "invalid_grant", ""},
		{"form without grant_type is a bad request", "POST", form, "username=ada&password=ada-demo-password", 400, "invalid_request", ""},
		{"other grant types are unsupported", "POST", form, "grant_type=client_credentials&username=ada&password=ada-demo-password", 400, "unsupported_grant_type", ""},
		{"other grant types in JSON are unsupported", "POST", jsonType, `{"grant_type":"refresh_token","username":"ada","password":"ada-demo-password"}`, 400, "unsupported_grant_type", ""},
		{"repeated parameters are a bad request", "POST", form, formBody("ada", "ada-demo-password") + "&username=grace", 400, "invalid_request", ""},
		{"missing password is a bad request", "POST", form, "grant_type=password&username=ada", 400, "invalid_request", ""},
		{"malformed JSON is a bad request", "POST", jsonType, `{"username":"ada",`, 400, "invalid_request", ""},
		{"text/plain is refused", "POST", "text/plain", formBody("ada", "ada-demo-password"), 415, "invalid_request", ""},
		{"missing Content-Type is refused", "POST", "", formBody("ada", "ada-demo-password"), 415, "invalid_request", ""},
		{"body over 16 KiB is refused", "POST", form, formBody("ada", "ada-demo-password") + "&pad=" + strings.Repeat("a", 16<<10), 413, "invalid_request", ""},
		{"GET on the token endpoint is not allowed", "GET", "", "", 405, "", ""},
	}
	h := newIssuer(t, testOptions(t)).Handler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, tt.method, "/token", tt.contentType, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == http.StatusMethodNotAllowed {
				return
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			var body struct {
				Error       string `json:"error"`
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body.Error != tt.errorCode {
				t.Errorf("error %q, want %q", body.Error, tt.errorCode)
			}
			if tt.status == http.StatusUnauthorized && strings.TrimSpace(rec.Body.String()) != `{"error":"invalid_grant"}` {
				t.Errorf("401 body %s says more than invalid_grant", rec.Body)
			}
			if tt.sub == "" {
				return
			}
			c := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(body.AccessToken, c); err != nil {
				t.Fatal(err)
			}
			if c["sub"] != tt.sub {
				t.Errorf("sub %v, want %s", c["sub"], tt.sub)
			}
		})
	}
}

func TestOtherMethodsAreNotAllowed(t *testing.T) {
	h := newIssuer(t, testOptions(t)).Handler()
	for _, r := range []struct{ method, path string }{
		{"POST", "/.well-known/openid-configuration"},
		{"PUT", "/jwks.json"},
		{"DELETE", "/token"},
		{"GET", "/token"},
	} {
		if rec := do(h, r.method, r.path, "", ""); rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: status %d, want 405", r.method, r.path, rec.Code)
		}
	}
}

func TestUnknownUsersCostABcryptComparison(t *testing.T) {
	opts := testOptions(t)
	slow, err := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost+2)
	if err != nil {
		t.Fatal(err)
	}
	opts.Users = append(opts.Users, User{Username: "slow", CustomerID: "c3", PasswordHash: slow})
	i := newIssuer(t, opts)
	if cost, err := bcrypt.Cost(i.dummy); err != nil || cost != bcrypt.MinCost+2 {
		t.Errorf("dummy hash cost %d (%v), want the highest user cost %d", cost, err, bcrypt.MinCost+2)
	}
}

func TestKeyFileIsCreatedPrivateAndReused(t *testing.T) {
	opts := testOptions(t)
	first := newIssuer(t, opts)
	info, err := os.Stat(opts.KeyFile)
	if err != nil {
		t.Fatalf("no key file after the first run: %v", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	pemBytes, _ := os.ReadFile(opts.KeyFile)
	if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Errorf("key file is not PKCS#8 PEM:\n%s", pemBytes)
	}

	second := newIssuer(t, opts)
	if first.kid != second.kid {
		t.Errorf("second run has kid %s, first %s: the key was not reused", second.kid, first.kid)
	}
	if again, _ := os.ReadFile(opts.KeyFile); !bytes.Equal(again, pemBytes) {
		t.Error("the second run rewrote the key file")
	}
	// A token from the first run verifies with the second run's key set.
	pub := keyFromJWK(t, fetchJWKS(t, second)[0])
	if _, err := jwt.Parse(issue(t, first).AccessToken, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithTimeFunc(func() time.Time { return testNow })); err != nil {
		t.Errorf("token from the first run fails with the second run's key: %v", err)
	}
}

func TestCorruptKeyFileIsReplacedWithAWarning(t *testing.T) {
	// The Ed25519 key of RFC 8410 section 10.3: valid PKCS#8, wrong algorithm.
	ed25519PKCS8 := "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n"
	for name, content := range map[string]string{
		"not PEM":          "garbage",
		"truncated DER":    "-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n-----END PRIVATE KEY-----\n",
		"an Ed25519 key":   ed25519PKCS8,
		"an empty file":    "",
		"wrong block type": "-----BEGIN CERTIFICATE-----\nMC4CAQAw\n-----END CERTIFICATE-----\n",
	} {
		t.Run(name, func(t *testing.T) {
			opts := testOptions(t)
			if err := os.WriteFile(opts.KeyFile, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			i := newIssuer(t, opts)

			var record struct{ Level, File string }
			if err := json.Unmarshal(logs.Bytes(), &record); err != nil || record.Level != "WARN" || record.File != opts.KeyFile {
				t.Errorf("want one WARN record naming %s, got %s", opts.KeyFile, logs.Bytes())
			}
			data, err := os.ReadFile(opts.KeyFile)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parseKey(data); err != nil {
				t.Errorf("the replaced key file does not hold a key: %v", err)
			}
			opts.Logger = nil
			if again := newIssuer(t, opts); again.kid != i.kid {
				t.Error("the replacement key was not reused by the next run")
			}
		})
	}
}

func TestUnreadableKeyFileIsAnError(t *testing.T) {
	opts := testOptions(t)
	opts.KeyFile = t.TempDir() // a directory: exists, but cannot be read as a file
	_, err := New(opts)
	if err == nil || !strings.Contains(err.Error(), opts.KeyFile) {
		t.Fatalf("error %v, want one naming %s", err, opts.KeyFile)
	}
	if info, statErr := os.Stat(opts.KeyFile); statErr != nil || !info.IsDir() {
		t.Error("the unreadable key path was replaced")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Options)
		field  string
	}{
		{"missing issuer", func(o *Options) { o.Issuer = "" }, "Issuer"},
		{"relative issuer", func(o *Options) { o.Issuer = "127.0.0.1:8081" }, "Issuer"},
		{"issuer with a path", func(o *Options) { o.Issuer = "http://127.0.0.1:8081/idp" }, "Issuer"},
		{"missing audience", func(o *Options) { o.Audience = "" }, "Audience"},
		{"missing key file", func(o *Options) { o.KeyFile = "" }, "KeyFile"},
		{"negative TTL", func(o *Options) { o.TTL = -time.Minute }, "TTL"},
		{"fractional TTL", func(o *Options) { o.TTL = 1500 * time.Millisecond }, "TTL"},
		{"no users", func(o *Options) { o.Users = nil }, "Users"},
		{"user without a username", func(o *Options) { o.Users[1].Username = "" }, "Users[1].Username"},
		{"duplicate username", func(o *Options) { o.Users[1].Username = "ada" }, "Users[1].Username"},
		{"user without a customer", func(o *Options) { o.Users[0].CustomerID = "" }, "Users[0].CustomerID"},
		{"plain-text password", func(o *Options) { o.Users[0].PasswordHash = []byte("ada-demo-password") }, "Users[0].PasswordHash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			tt.modify(&opts)
			_, err := New(opts)
			if err == nil || !strings.Contains(err.Error(), "issuer: "+tt.field+":") {
				t.Fatalf("error %v, want one naming %s", err, tt.field)
			}
			if _, statErr := os.Stat(opts.KeyFile); opts.KeyFile != "" && statErr == nil {
				t.Error("a key file was written for options that were refused")
			}
		})
	}
}

func TestDemoUsers(t *testing.T) {
	t.Parallel() // bcrypt at the default cost is slow under the race detector
	users, err := DemoUsers()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ username, customerID, password string }{
		{"ada", "c1", "ada-demo-password"},
		{"grace", "c2", "grace-demo-password"},
	}
	if len(users) != len(want) {
		t.Fatalf("%d users, want %d", len(users), len(want))
	}
	for n, w := range want {
		u := users[n]
		if u.Username != w.username || u.CustomerID != w.customerID || u.Name == "" {
			t.Errorf("user %d is %+v, want %s of customer %s with a name", n, u, w.username, w.customerID)
		}
		if err := bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(w.password)); err != nil {
			t.Errorf("%s: password does not match its hash: %v", w.username, err)
		}
		if cost, _ := bcrypt.Cost(u.PasswordHash); cost != bcrypt.DefaultCost {
			t.Errorf("%s: bcrypt cost %d, want %d", w.username, cost, bcrypt.DefaultCost)
		}
	}
}

func TestListenServesOnLoopback(t *testing.T) {
	ln, base, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.Issuer = base
	srv := httptest.NewUnstartedServer(newIssuer(t, opts).Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	resp, err := http.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc discoveryDocument
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != base || doc.TokenEndpoint != base+"/token" {
		t.Errorf("discovery over %s names issuer %q, token endpoint %q", base, doc.Issuer, doc.TokenEndpoint)
	}

	tokenResp, err := http.PostForm(doc.TokenEndpoint, url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"ada-demo-password"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tokenResp.Body.Close()
	if _, err := io.Copy(io.Discard, tokenResp.Body); err != nil || tokenResp.StatusCode != http.StatusOK {
		t.Errorf("token over HTTP: status %d, %v", tokenResp.StatusCode, err)
	}
}

func TestListenRefusesOtherAddresses(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		ln, _, err := Listen(addr)
		if err == nil {
			ln.Close()
		}
		if !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Listen(%q): %v, want ErrNotLoopback", addr, err)
		}
	}
}
