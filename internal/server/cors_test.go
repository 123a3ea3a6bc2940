package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/documents"
)

// TestGatewayCORSPolicyIsTheOnlyOne runs a gateway that allows one origin in
// front of an upstream that reflects every origin.
func TestGatewayCORSPolicyIsTheOnlyOne(t *testing.T) {
	up, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Documents.Mode = "strict"
	cfg.CORS.AllowedOrigins = []string{"https://app.example.com"}
	cfg.CORS.AllowCredentials = true
	writeDoc(t, cfg.Documents.Dir, topUsersDoc)
	g := startGateway(t, cfg, ca)
	id := documents.SHA256(topUsersDoc)
	body := `{"documentId":"` + string(id) + `","variables":{"limit":1}}`

	t.Run("a disallowed origin gets no CORS header from the upstream", func(t *testing.T) {
		res := g.post(t, body, "Origin", "https://evil.example.net")
		readBody(t, res)
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"} {
			if v := res.Header.Values(h); len(v) != 0 {
				t.Errorf("%s: %q reached the browser", h, v)
			}
		}
	})
	t.Run("a spelling of the allowed origin that no browser sends is not echoed", func(t *testing.T) {
		for _, origin := range []string{"https://APP.example.com", "HTTPS://app.example.com", "https://app.example.com:443"} {
			res := g.post(t, body, "Origin", origin)
			readBody(t, res)
			for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"} {
				if v := res.Header.Values(h); len(v) != 0 {
					t.Errorf("Origin %s: %s: %q reached the browser", origin, h, v)
				}
			}
		}
	})
	t.Run("an allowed origin gets exactly the gateway's header", func(t *testing.T) {
		res := g.post(t, body, "Origin", "https://app.example.com")
		readBody(t, res)
		if v := res.Header.Values("Access-Control-Allow-Origin"); len(v) != 1 || v[0] != "https://app.example.com" {
			t.Errorf("Access-Control-Allow-Origin %q, want the allowed origin once", v)
		}
	})
	t.Run("a cacheable GET varies by Origin and by the caller", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, g.url("/graphql/"+id.Hash()+"/TopUsers?variables=%7B%22limit%22%3A1%7D"), nil)
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Apollo-Require-Preflight", "true")
		res, err := g.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, res)
		vary := strings.Join(res.Header.Values("Vary"), ",")
		if res.StatusCode != 200 || res.Header.Get("ETag") == "" {
			t.Fatalf("status %d, ETag %q", res.StatusCode, res.Header.Get("ETag"))
		}
		for _, want := range []string{"Origin", "Authorization", "Cookie", "Accept"} {
			if !strings.Contains(vary, want) {
				t.Errorf("Vary %q does not name %s", vary, want)
			}
		}
	})
	if up.count() == 0 {
		t.Error("the upstream was never called")
	}
}
