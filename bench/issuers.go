package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gqlguard/gqlguard/internal/demo/issuer"
)

// audience is the aud of every token the bench uses.
const audience = "bench-api"

// tokenTTL is long enough for any run: the gateway caches a verified token
// until its exp, never past it.
const tokenTTL = 2 * time.Hour

// serveIssuer serves h on a loopback port; base is its URL.
func serveIssuer(h http.Handler) (base string, srv *http.Server, err error) {
	ln, base, err := issuer.Listen("127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return base, srv, nil
}

// startES256Issuer runs the demo's token issuer (ES256) and signs in as
// the demo user ada once. It returns the issuer URL and the access token.
func startES256Issuer(dir string) (string, string, *http.Server, error) {
	users, err := issuer.DemoUsers()
	if err != nil {
		return "", "", nil, err
	}
	ln, base, err := issuer.Listen("127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	iss, err := issuer.New(issuer.Options{
		Issuer: base, Audience: audience, KeyFile: filepath.Join(dir, "es256-issuer.pem"),
		Users: users, TTL: tokenTTL,
	})
	if err != nil {
		_ = ln.Close()
		return "", "", nil, err
	}
	srv := &http.Server{Handler: iss.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	form := url.Values{"grant_type": {"password"}, "username": {"ada"}, "password": {"ada-demo-password"}}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Post(base+"/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", srv, fmt.Errorf("ES256 issuer: %w", err)
	}
	defer res.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&tr); err != nil || res.StatusCode != http.StatusOK || tr.AccessToken == "" {
		return "", "", srv, fmt.Errorf("ES256 issuer: no token (status %d, %v)", res.StatusCode, err)
	}
	return base, tr.AccessToken, srv, nil
}

// startRS256Issuer runs a minimal OpenID issuer that signs with a 2048-bit
// RSA key: a discovery document and a JWK Set with one RS256 key. It
// returns the issuer URL and a token for sub c1, signed once.
func startRS256Issuer() (string, string, *http.Server, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", nil, err
	}
	const kid = "bench-rs256"
	mux := http.NewServeMux()
	base, srv, err := serveIssuer(mux)
	if err != nil {
		return "", "", nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	if err != nil {
		return "", "", srv, err
	}
	discovery, err := json.Marshal(map[string]any{
		"issuer": base, "jwks_uri": base + "/jwks.json",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
	})
	if err != nil {
		return "", "", srv, err
	}
	mux.Handle("GET /.well-known/openid-configuration", staticJSON(discovery))
	mux.Handle("GET /jwks.json", staticJSON(jwks))

	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": base, "sub": "c1", "aud": audience, "name": "Ada Lovelace",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(tokenTTL).Unix(),
	})
	t.Header["kid"] = kid
	token, err := t.SignedString(key)
	if err != nil {
		return "", "", srv, err
	}
	return base, token, srv, nil
}

func staticJSON(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}
