package server

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/internal/config"
)

// redirectCase is one plain-HTTP request and what the redirect listener
// must answer: a 308 to location, or 421 when location is empty.
type redirectCase struct {
	host, location string
}

// checkRedirects sends each case to the plain-HTTP listener's handler.
func checkRedirects(t *testing.T, srv *Server, cases []redirectCase) {
	t.Helper()
	h := srv.redirect.Handler
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodGet, "http://gateway/graphql?query=%7Ba%7D", nil)
		req.Host = c.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		loc := rec.Header().Get("Location")
		if c.location != "" {
			if rec.Code != http.StatusPermanentRedirect || loc != c.location {
				t.Errorf("Host %q: %d Location %q, want 308 to %s", c.host, rec.Code, loc, c.location)
			}
			continue
		}
		if rec.Code != http.StatusMisdirectedRequest || loc != "" {
			t.Errorf("Host %q: %d Location %q, want 421 and no redirect", c.host, rec.Code, loc)
		}
		if body := rec.Body.String(); !strings.Contains(body, `"code":"BAD_REQUEST"`) || strings.Contains(body, c.host) {
			t.Errorf("Host %q: body %s, want the error contract, not echoing the host", c.host, body)
		}
	}
}

func newServer(t *testing.T, cfg *config.Config) *Server {
	t.Helper()
	srv, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestRedirectGoesOnlyToTheCertificatesNames(t *testing.T) {
	cfg, _ := testConfig(t, "http://127.0.0.1:1/graphql")
	cfg.Listen.HTTPSPort = 8443
	srv := newServer(t, cfg)
	// The development certificate names localhost, 127.0.0.1 and ::1.
	checkRedirects(t, srv, []redirectCase{
		{"localhost", "https://localhost:8443/graphql?query=%7Ba%7D"},
		{"localhost:8080", "https://localhost:8443/graphql?query=%7Ba%7D"},
		{"LocalHost:8080", "https://localhost:8443/graphql?query=%7Ba%7D"},
		{"localhost.", "https://localhost:8443/graphql?query=%7Ba%7D"},
		{"127.0.0.1:8080", "https://127.0.0.1:8443/graphql?query=%7Ba%7D"},
		{"[::1]:8080", "https://[::1]:8443/graphql?query=%7Ba%7D"},
		{"[::1]", "https://[::1]:8443/graphql?query=%7Ba%7D"},
		{"evil.example", ""},
		{"evil.example:8080", ""},
		{"localhost.evil.example", ""},
		{"127.0.0.2", ""},
		{"[::2]:8080", ""},
	})
}

func TestRedirectToPort443NamesNoPort(t *testing.T) {
	cfg, _ := testConfig(t, "http://127.0.0.1:1/graphql")
	cfg.Listen.HTTPSPort = 443
	checkRedirects(t, newServer(t, cfg), []redirectCase{
		{"localhost:80", "https://localhost/graphql?query=%7Ba%7D"},
		{"evil.example", ""},
	})
}

func TestRedirectWithPublicHostsGoesOnlyToThem(t *testing.T) {
	cfg, _ := testConfig(t, "http://127.0.0.1:1/graphql")
	cfg.Listen.HTTPSPort = 443
	cfg.Server.PublicHosts = []string{"api.example.com", "192.0.2.7"}
	checkRedirects(t, newServer(t, cfg), []redirectCase{
		{"api.example.com", "https://api.example.com/graphql?query=%7Ba%7D"},
		{"API.Example.COM:8080", "https://api.example.com/graphql?query=%7Ba%7D"},
		{"192.0.2.7", "https://192.0.2.7/graphql?query=%7Ba%7D"},
		// The certificate's names, once public_hosts is set, are not
		// redirected to.
		{"localhost", ""},
		{"www.example.com", ""},
	})
}

// The certificate files' names are the ones loaded last: a reload that
// brings other names changes where the redirect goes.
func TestRedirectFollowsReloadedCertificateNames(t *testing.T) {
	ca := newTestCA(t, "redirect test CA")
	dir := t.TempDir()
	first, firstKey, _ := ca.issue(t, t.TempDir(), leafOpts{cn: "a.example.test", hosts: []string{"a.example.test", "*.wild.example.test"}})
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	copyFile(t, first, certFile)
	copyFile(t, firstKey, keyFile)
	cfg, _ := testConfig(t, "http://127.0.0.1:1/graphql")
	cfg.TLS.CertFile, cfg.TLS.KeyFile = certFile, keyFile
	cfg.Listen.HTTPSPort = 443
	srv := newServer(t, cfg)
	checkRedirects(t, srv, []redirectCase{
		{"a.example.test", "https://a.example.test/graphql?query=%7Ba%7D"},
		{"x.wild.example.test", "https://x.wild.example.test/graphql?query=%7Ba%7D"},
		// A wildcard stands for one label, as in certificate checks.
		{"x.y.wild.example.test", ""},
		{"wild.example.test", ""},
		{"b.example.test", ""},
		{"localhost", ""},
	})

	second, secondKey, _ := ca.issue(t, t.TempDir(), leafOpts{cn: "b.example.test", hosts: []string{"b.example.test"}})
	copyFile(t, secondKey, keyFile)
	copyFile(t, second, certFile)
	if err := srv.tls.files.Reload(); err != nil {
		t.Fatal(err)
	}
	checkRedirects(t, srv, []redirectCase{
		{"b.example.test", "https://b.example.test/graphql?query=%7Ba%7D"},
		{"a.example.test", ""},
		{"x.wild.example.test", ""},
	})
}

// With ACME, the configured domains are the names, before any certificate
// is obtained; HTTP-01 challenges are still answered, not redirected.
func TestRedirectWithACMEGoesOnlyToTheDomains(t *testing.T) {
	cfg := acmeConfig(t, "http://127.0.0.1:1/graphql", "gw.example.test", "https://127.0.0.1:1/dir", "http-01")
	cfg.Listen.HTTPSPort = 443
	srv := newServer(t, cfg)
	checkRedirects(t, srv, []redirectCase{
		{"gw.example.test", "https://gw.example.test/graphql?query=%7Ba%7D"},
		{"GW.example.test:80", "https://gw.example.test/graphql?query=%7Ba%7D"},
		{"evil.example", ""},
		{"localhost", ""},
	})
	req := httptest.NewRequest(http.MethodGet, "http://gw.example.test/.well-known/acme-challenge/token", nil)
	rec := httptest.NewRecorder()
	srv.redirect.Handler.ServeHTTP(rec, req)
	if rec.Code == http.StatusPermanentRedirect || rec.Code == http.StatusMisdirectedRequest {
		t.Errorf("challenge path answered %d; challenges are answered by ACME, never redirected or refused as misdirected", rec.Code)
	}
}

func TestRedirectWithoutHostIsBadRequest(t *testing.T) {
	cfg, _ := testConfig(t, "http://127.0.0.1:1/graphql")
	srv := newServer(t, cfg)
	req := httptest.NewRequest(http.MethodGet, "http://gateway/graphql", nil)
	req.Host = ""
	rec := httptest.NewRecorder()
	srv.redirect.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
		t.Errorf("no Host: %d Location %q, want 400", rec.Code, rec.Header().Get("Location"))
	}
}

// The plain-HTTP listener closes each connection after its one answer, so
// idle plain-HTTP connections cannot sit on the connection cap.
func TestPlainHTTPConnectionsAreNotKeptAlive(t *testing.T) {
	g := startFor(t, "http://127.0.0.1:1")
	req, _ := http.NewRequest(http.MethodGet, "http://"+g.http+"/graphql", nil)
	req.Host = "localhost"
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, res)
	if res.StatusCode != http.StatusPermanentRedirect || !res.Close {
		t.Errorf("status %d, Connection %q; want 308 and the connection closed", res.StatusCode, res.Header.Get("Connection"))
	}
}
