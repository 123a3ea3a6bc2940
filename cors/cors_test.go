package cors

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func handler(t *testing.T, o Options) (http.Handler, *int) {
	t.Helper()
	calls := 0
	h, err := New(o, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("X-Request-Id", "r1")
		_, _ = w.Write([]byte(`{"data":{}}`))
	}))
	if err != nil {
		t.Fatal(err)
	}
	return h, &calls
}

func TestOriginMatching(t *testing.T) {
	h, _ := handler(t, Options{AllowedOrigins: []string{"https://example.com", "https://*.example.com", "http://localhost:3000", "https://*.example.org:8443", "http://[::1]:8080"}, AllowCredentials: true})
	tests := []struct {
		origin string
		ok     bool
	}{
		{"https://example.com", true},
		{"https://app.example.com", true},
		{"https://app-2_x.example.com", true},
		{"http://localhost:3000", true},
		{"https://app.example.org:8443", true},
		{"http://[::1]:8080", true},
		// A wildcard stands for exactly one label.
		{"https://a.b.example.com", false},
		{"https://.example.com", false},
		{"https://example.org:8443", false},
		{"https://a.b.example.org:8443", false},
		// Browsers send scheme and host in lowercase and no default
		// port; any other spelling is forged and never echoed.
		{"HTTPS://APP.EXAMPLE.COM", false},
		{"https://APP.example.com", false},
		{"HTTPS://app.example.com", false},
		{"https://app.EXAMPLE.com", false},
		{"https://Example.com", false},
		{"https://example.com:443", false},
		{"https://app.example.com:443", false},
		{"https://example.com/", false},
		{"https://example.com.", false},
		{"http://LOCALHOST:3000", false},
		{"http://localhost:03000", false},
		{"http://[0:0:0:0:0:0:0:1]:8080", false},
		{"https://app.example.org", false},
		{"https://app.example.org:8444", false},
		// Look-alikes.
		{"null", false},
		{"https://evil-example.com", false},
		{"https://example.com.evil.net", false},
		{"https://app.example.com.evil.net", false},
		{"https://evilexample.com", false},
		{"http://example.com", false},
		{"http://app.example.com", false},
		{"https://example.com:8443", false},
		{"https://user@app.example.com", false},
		{"https://app.example.com:8443", false},
		{"http://localhost:3001", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			for _, method := range []string{http.MethodPost, http.MethodOptions} {
				r := httptest.NewRequest(method, "/graphql", nil)
				if tt.origin != "" {
					r.Header.Set("Origin", tt.origin)
				}
				if method == http.MethodOptions {
					r.Header.Set("Access-Control-Request-Method", "POST")
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				got := w.Header().Get("Access-Control-Allow-Origin")
				if (got != "") != tt.ok {
					t.Errorf("%s: Access-Control-Allow-Origin %q, allowed=%v", method, got, tt.ok)
				}
				if creds := w.Header().Get("Access-Control-Allow-Credentials"); tt.ok && (got != tt.origin || creds != "true") || !tt.ok && creds != "" {
					t.Errorf("%s: origin echoed as %q, credentials %q", method, got, creds)
				}
				if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Origin") {
					t.Errorf("%s: Vary %q lacks Origin", method, w.Header().Values("Vary"))
				}
			}
		})
	}
}

// Browsers send one Origin header; a request with two is forged, and
// rs/cors would echo both while checking the first.
func TestSeveralOriginHeadersMatchNothing(t *testing.T) {
	h, _ := handler(t, Options{AllowedOrigins: []string{"https://app.example.com"}, AllowCredentials: true})
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.Header["Origin"] = []string{"https://app.example.com", "https://evil.example.net"}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if v := w.Header().Values("Access-Control-Allow-Origin"); len(v) != 0 || w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("two Origin headers answered with %q, credentials %q", v, w.Header().Get("Access-Control-Allow-Credentials"))
	}
}

// "*" without credentials admits any page, and echoes only origins spelt
// as browsers send them.
func TestAnyOriginEchoesOnlyCanonicalOrigins(t *testing.T) {
	h, _ := handler(t, Options{AllowedOrigins: []string{"*"}})
	for origin, ok := range map[string]bool{"https://app.example.net": true, "http://127.0.0.1:3000": true,
		"HTTPS://app.example.net": false, "https://app.example.net:443": false, "null": false, "https://*.example.net": false} {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		r.Header.Set("Origin", origin)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Access-Control-Allow-Origin"); (got == origin) != ok || !ok && got != "" {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want allowed=%v", origin, got, ok)
		}
	}
}

func TestDefaultAllowsNoOrigin(t *testing.T) {
	h, calls := handler(t, Options{})
	r := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "POST")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Header().Get("Access-Control-Allow-Origin") != "" || *calls != 0 {
		t.Errorf("default config allowed a cross-origin preflight: %v (next called %d)", w.Header(), *calls)
	}
}

func TestPreflight(t *testing.T) {
	h, calls := handler(t, Options{AllowedOrigins: []string{"https://app.example.com"}, AllowCredentials: true,
		AllowedHeaders: []string{"Content-Type", "Authorization"}, ExposedHeaders: []string{"X-Request-Id"}, MaxAge: 10 * time.Minute})
	r := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if *calls != 0 {
		t.Error("a preflight reached the GraphQL stages")
	}
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		w.Header().Get("Access-Control-Max-Age") != "600" || !strings.Contains(strings.ToLower(w.Header().Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("preflight answer %d %v", w.Code, w.Header())
	}
	r = httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Header().Get("Access-Control-Expose-Headers") != "X-Request-Id" {
		t.Errorf("exposed headers %q", w.Header().Get("Access-Control-Expose-Headers"))
	}
}

func TestPrivateNetworkAccess(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		h, _ := handler(t, Options{AllowedOrigins: []string{"https://app.example.com"}, AllowPrivateNetwork: enabled})
		for _, origin := range []string{"https://app.example.com", "https://evil.example.net"} {
			r := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
			r.Header.Set("Origin", origin)
			r.Header.Set("Access-Control-Request-Method", "POST")
			r.Header.Set("Access-Control-Request-Private-Network", "true")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			want := enabled && origin == "https://app.example.com"
			if got := w.Header().Get("Access-Control-Allow-Private-Network") == "true"; got != want {
				t.Errorf("enabled=%v origin=%s: private network allowed=%v, want %v", enabled, origin, got, want)
			}
		}
	}
}

func TestWildcardWithCredentialsRefused(t *testing.T) {
	if _, err := New(Options{AllowedOrigins: []string{"*"}, AllowCredentials: true}, http.NotFoundHandler()); err == nil {
		t.Error("wildcard with credentials accepted")
	}
	if _, err := New(Options{AllowedOrigins: []string{"null"}}, http.NotFoundHandler()); err == nil {
		t.Error("null origin accepted")
	}
}

// An entry that is not spelt as browsers send origins would never match
// (matching is exact), so it is refused with the spelling to write.
func TestNonCanonicalAllowedOriginsAreRefused(t *testing.T) {
	for entry, want := range map[string]string{
		"https://App.example.com":     `write "https://app.example.com"`,
		"HTTPS://app.example.com":     `write "https://app.example.com"`,
		"https://app.example.com:443": `write "https://app.example.com"`,
		"http://localhost:80":         `write "http://localhost"`,
		"https://app.example.com/":    `write "https://app.example.com"`,
		"https://app.example.com/app": `write "https://app.example.com"`,
		"https://*.Example.com":       `write "https://*.example.com"`,
		"ftp://app.example.com":       "scheme",
		"https://a.*.example.com":     "wildcard",
		"https://*.com":               "registrable domain",
	} {
		_, err := New(Options{AllowedOrigins: []string{entry}}, http.NotFoundHandler())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %s", entry, err, want)
		}
	}
}
