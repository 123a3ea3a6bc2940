// Package tokenissuer runs the demo's token issuer on loopback for tests
// that need real bearer tokens from a real OpenID provider.
package tokenissuer

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/demo/issuer"
	"golang.org/x/crypto/bcrypt"
)

// Start serves the demo issuer for audience on a loopback port until the
// test ends. It returns the issuer's URL and a function that signs a demo
// user (ada, grace) in and returns the access token.
func Start(t testing.TB, audience string) (base string, login func(user string) string) {
	t.Helper()
	return StartWith(t, audience, nil)
}

// StartWith is Start with more users: each username of subjects signs in
// with the password username + "-demo-password" and gets the sub claim
// subjects[username], whatever it holds.
func StartWith(t testing.TB, audience string, subjects map[string]string) (base string, login func(user string) string) {
	t.Helper()
	ln, base, err := issuer.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	users, err := issuer.DemoUsers()
	if err != nil {
		t.Fatal(err)
	}
	for username, sub := range subjects {
		hash, err := bcrypt.GenerateFromPassword([]byte(username+"-demo-password"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, issuer.User{Username: username, CustomerID: sub, Name: username, PasswordHash: hash})
	}
	iss, err := issuer.New(issuer.Options{Issuer: base, Audience: audience, KeyFile: filepath.Join(t.TempDir(), "key.pem"), Users: users})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: iss.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return base, func(user string) string {
		t.Helper()
		res, err := http.PostForm(base+"/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {user + "-demo-password"}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("token for %s: %v", user, err)
		}
		return tok.AccessToken
	}
}
