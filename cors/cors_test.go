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
	h, _ := handler(t, Options{AllowedOrigins: []string{"https://example.com", "https://*.example.com", "http://localhost:3000"}, AllowCredentials: true})
	tests := []struct {
		origin string
		ok     bool
	}{
		{"https://example.com", true},
		{"https://app.example.com", true},
		{"https://a.b.example.com", true},
		{"HTTPS://APP.EXAMPLE.COM", true},
		{"http://localhost:3000", true},
		{"null", false},
		{"https://evil-example.com", false},
		{"https://example.com.evil.net", false},
		{"https://evilexample.com", false},
		{"http://example.com", false},
		{"http://app.example.com", false},
		{"https://example.com:8443", false},
		{"https://.example.com", false},
		{"https://user@app.example.com", false},
		{"http://localhost:3001", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			got := w.Header().Get("Access-Control-Allow-Origin")
			if (got != "") != tt.ok {
				t.Errorf("Access-Control-Allow-Origin %q, allowed=%v", got, tt.ok)
			}
			if tt.ok && (got != tt.origin || w.Header().Get("Access-Control-Allow-Credentials") != "true") {
				t.Errorf("allowed origin echoed as %q, credentials %q", got, w.Header().Get("Access-Control-Allow-Credentials"))
			}
			if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Origin") {
				t.Errorf("Vary %q lacks Origin", w.Header().Values("Vary"))
			}
		})
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
