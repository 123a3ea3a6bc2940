package server

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/tokenissuer"
)

// tokenIssuer runs the demo's OpenID provider on loopback and returns its
// URL and a function that signs a user in.
func tokenIssuer(t testing.TB) (string, func(user string) string) {
	t.Helper()
	return tokenissuer.Start(t, "billing-api")
}

const (
	statusDoc  = "query Status { status { ok } }"
	invoiceDoc = "query Invoices { invoices { number } }"
)

// authGateway runs a strict gateway that authenticates with the test
// issuer; statusDoc is public, invoiceDoc private.
func authGateway(t *testing.T, mut func(*config.Config)) (*gateway, *recordingUpstream, func(string) string) {
	t.Helper()
	return authGatewayWith(t, nil, mut)
}

// authGatewayWith is authGateway whose issuer also signs in the users of
// subjects (username: sub; see tokenissuer.StartWith).
func authGatewayWith(t *testing.T, subjects map[string]string, mut func(*config.Config)) (*gateway, *recordingUpstream, func(string) string) {
	t.Helper()
	base, login := tokenissuer.StartWith(t, "billing-api", subjects)
	up, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Documents.Mode = "strict"
	writeDoc(t, cfg.Documents.Dir, statusDoc)
	writeDoc(t, cfg.Documents.Dir, invoiceDoc)
	writeFile(t, filepath.Join(cfg.Documents.Dir, documents.SHA256(statusDoc).Hash()+".json"), `{"public":true}`)
	cfg.Auth.JWT.Issuers = []config.Issuer{{Issuer: base}}
	cfg.Auth.JWT.Audiences = []string{"billing-api"}
	cfg.Auth.JWT.ClaimsHeader = "X-User-Claims"
	cfg.Auth.FailureLimit = config.RateLimit{Rate: 0.01, Burst: 3}
	if mut != nil {
		mut(cfg)
	}
	g := startGateway(t, cfg, ca)
	waitReady(t, g)
	return g, up, login
}

func waitReady(t testing.TB, g *gateway) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var last string
		res, err := http.Get("http://" + g.admin + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
			last = string(body)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %s", last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAuthenticatedRequestCarriesIdentity(t *testing.T) {
	g, up, login := authGateway(t, nil)
	token := login("ada")
	res := g.post(t, `{"documentId":"`+string(documents.SHA256(invoiceDoc))+`"}`,
		"Authorization", "Bearer "+token, "X-User-Id", "c2", "X-User-Claims", `{"sub":"c2"}`,
		"X_User_Id", "c2", "x_user_claims", `{"sub":"c2"}`, "X_Forwarded_For", "10.0.0.1")
	if body := readBody(t, res); res.StatusCode != 200 {
		t.Fatalf("valid token: %d %s", res.StatusCode, body)
	}
	req, _ := up.last(t)
	if got := req.Header.Values("X-User-Id"); len(got) != 1 || got[0] != "c1" {
		t.Errorf("X-User-Id %q, want the verified c1 only", got)
	}
	// CGI-style servers read X_User_Id as X-User-Id: such copies never pass.
	for name := range req.Header {
		if strings.Contains(name, "_") {
			t.Errorf("the client's %s reached the upstream", name)
		}
	}
	var claims map[string]any
	if err := json.Unmarshal([]byte(req.Header.Get("X-User-Claims")), &claims); err != nil || claims["sub"] != "c1" || claims["aud"] == nil {
		t.Errorf("claims header %q", req.Header.Get("X-User-Claims"))
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("the token was forwarded although forward_token is off")
	}
	res = g.post(t, `{"documentId":"sha256:`+strings.Repeat("ab", 32)+`"}`, "Authorization", "Bearer "+token)
	if body := readBody(t, res); res.StatusCode != 400 || errorCode(t, body) != "PERSISTED_DOCUMENT_NOT_FOUND" {
		t.Errorf("unknown id with a valid token: %d %s, want 400 PERSISTED_DOCUMENT_NOT_FOUND", res.StatusCode, body)
	}
}

// A verified token whose sub cannot reach the upstream intact as X-User-Id
// is refused: forwarded without it, or trimmed, the request would reach an
// upstream that trusts the header with no identity, or someone else's.
func TestTokensWhoseIdentityCannotBeForwardedAreRefused(t *testing.T) {
	subjects := map[string]string{"bell": "c1\u0007", "blank": "   ", "padded": " c1", "crlf": "c1\r\nX-Admin: 1"}
	g, up, login := authGatewayWith(t, subjects, func(c *config.Config) { c.Auth.FailureLimit.Burst = 20 })
	for user := range subjects {
		t.Run(user, func(t *testing.T) {
			res := g.post(t, `{"documentId":"`+string(documents.SHA256(invoiceDoc))+`"}`, "Authorization", "Bearer "+login(user))
			body := readBody(t, res)
			if c := res.Header.Get("WWW-Authenticate"); res.StatusCode != 401 || !strings.Contains(c, `error="invalid_token"`) || errorCode(t, body) != "UNAUTHENTICATED" {
				t.Errorf("got %d %q %s, want 401 invalid_token", res.StatusCode, c, body)
			}
		})
	}
	if up.count() != 0 {
		t.Errorf("tokens without a forwardable identity reached the upstream %d times", up.count())
	}
	if res := g.post(t, `{"documentId":"`+string(documents.SHA256(invoiceDoc))+`"}`, "Authorization", "Bearer "+login("ada")); res.StatusCode != 200 {
		t.Errorf("a good token beside them: %d %s", res.StatusCode, readBody(t, res))
	}
}

func TestAuthenticationRefusals(t *testing.T) {
	g, up, login := authGateway(t, func(c *config.Config) { c.Auth.FailureLimit.Burst = 20 })
	private := string(documents.SHA256(invoiceDoc))
	tests := []struct {
		name      string
		body      string
		header    []string
		status    int
		challenge string
	}{
		{"no token for a private document", `{"documentId":"` + private + `"}`, nil, 401, `Bearer realm="GraphQL"`},
		{"operationName of a public operation does not open a private document", `{"documentId":"` + private + `","operationName":"Status"}`, nil, 401, `Bearer realm="GraphQL"`},
		{"a bad token is refused before the body is read", `{"documentId":`, []string{"Authorization", "Bearer not.a.token"}, 401, `error="invalid_token"`},
		{"a tampered token", `{"documentId":"` + private + `"}`, []string{"Authorization", "Bearer " + login("grace") + "x"}, 401, `error="invalid_token"`},
		{"an unknown id is as closed as a private one to an anonymous caller", `{"documentId":"sha256:` + strings.Repeat("ab", 32) + `"}`, nil, 401, `Bearer realm="GraphQL"`},
		{"an oversized token was sent, so it is an invalid token", `{"documentId":"` + private + `"}`, []string{"Authorization", "Bearer " + strings.Repeat("a", 9000)}, 401, `error="invalid_token", error_description="the token is too large"`},
		{"an empty token was sent, so it is an invalid token", `{"documentId":"` + private + `"}`, []string{"Authorization", "Bearer "}, 401, `error="invalid_token", error_description="the token is empty"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := g.post(t, tt.body, tt.header...)
			body := readBody(t, res)
			c := res.Header.Get("WWW-Authenticate")
			if res.StatusCode != tt.status || !strings.Contains(c, tt.challenge) || errorCode(t, body) != "UNAUTHENTICATED" {
				t.Fatalf("got %d %q %s", res.StatusCode, c, body)
			}
			if tt.header == nil && strings.Contains(c, "error=") {
				t.Errorf("challenge without a token has an error attribute: %q", c)
			}
		})
	}
	if up.count() != 0 {
		t.Errorf("refused requests reached the upstream %d times", up.count())
	}
	res := g.post(t, `{"documentId":"`+string(documents.SHA256(statusDoc))+`"}`)
	if body := readBody(t, res); res.StatusCode != 200 {
		t.Errorf("anonymous public document: %d %s", res.StatusCode, body)
	}
}

func TestBruteForceIsRateLimited(t *testing.T) {
	g, _, login := authGateway(t, nil)
	good := login("ada")
	body := `{"documentId":"` + string(documents.SHA256(invoiceDoc)) + `"}`
	first := g.post(t, body, "Authorization", "Bearer "+good)
	if readBody(t, first); first.StatusCode != 200 {
		t.Fatalf("valid token: %d", first.StatusCode)
	}
	var last *http.Response
	for range 4 {
		last = g.post(t, body, "Authorization", "Bearer "+good[:len(good)-4]+"AAAA")
		readBody(t, last)
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth failure: %d Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
	res := g.post(t, body, "Authorization", "Bearer "+good)
	if readBody(t, res); res.StatusCode != 200 {
		t.Errorf("a valid token from the same client was slowed down: %d", res.StatusCode)
	}
	// A token not verified before is not checked while the address is
	// blocked: that is the work the limit sheds.
	res = g.post(t, body, "Authorization", "Bearer "+login("grace"))
	if readBody(t, res); res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Errorf("a new token from a blocked address: %d Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

func TestNoAnonymousAccessOutsideStrictMode(t *testing.T) {
	g, up, _ := authGateway(t, func(c *config.Config) { c.Documents.Mode = "capture" })
	res := g.post(t, `{"documentId":"`+string(documents.SHA256(statusDoc))+`"}`)
	if body := readBody(t, res); res.StatusCode != 401 {
		t.Errorf("anonymous request in capture mode: %d %s", res.StatusCode, body)
	}
	if up.count() != 0 {
		t.Error("the upstream was contacted")
	}
}

func TestUnreachableJWKSMeansNotReady(t *testing.T) {
	_, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Auth.JWT.Issuers = []config.Issuer{{Issuer: "http://" + listenAddrDead(t)}}
	cfg.Auth.JWT.Audiences = []string{"billing-api"}
	g := startGateway(t, cfg, ca)
	// Asked once a fetch has failed, not while the first may be under way.
	waitLogged(t, g, "tokens are refused until this succeeds")
	if body := g.adminGet(t, "/readyz"); !strings.Contains(body, "auth: not ready") {
		t.Errorf("readyz with the provider down: %s", body)
	}
}

func TestProviderOutageAtStartIsUnavailable(t *testing.T) {
	base, login := tokenIssuer(t)
	up, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Documents.Mode = "strict"
	writeDoc(t, cfg.Documents.Dir, invoiceDoc)
	// The tokens are the issuer's own, but its key set cannot be fetched.
	cfg.Auth.JWT.Issuers = []config.Issuer{{Issuer: base, JWKSURL: "http://" + listenAddrDead(t) + "/jwks.json"}}
	cfg.Auth.JWT.Audiences = []string{"billing-api"}
	cfg.Auth.FailureLimit = config.RateLimit{Rate: 0.01, Burst: 3}
	g := startGateway(t, cfg, ca)
	token := login("ada")
	body := `{"documentId":"` + string(documents.SHA256(invoiceDoc)) + `"}`
	for i := range 6 {
		res := g.post(t, body, "Authorization", "Bearer "+token)
		got := readBody(t, res)
		if res.StatusCode != 503 || !strings.Contains(got, "AUTH_UNAVAILABLE") || res.Header.Get("Retry-After") == "" {
			t.Fatalf("request %d: %d Retry-After %q %s, want 503 AUTH_UNAVAILABLE with Retry-After", i, res.StatusCode, res.Header.Get("Retry-After"), got)
		}
		if c := res.Header.Get("WWW-Authenticate"); c != "" {
			t.Errorf("request %d: WWW-Authenticate %q", i, c)
		}
	}
	if up.count() != 0 {
		t.Error("a request reached the upstream without a verified token")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
