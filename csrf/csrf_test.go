package csrf

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/envelope"
)

func TestPrevention(t *testing.T) {
	headers := []string{"X-Apollo-Operation-Name", "Apollo-Require-Preflight", "GraphQL-Require-Preflight"}
	tests := []struct {
		name    string
		method  string
		types   []string
		headers map[string]string
		allowed bool
	}{
		{"application/json POST runs", "POST", []string{"application/json"}, nil, true},
		{"application/graphql-response+json POST runs", "POST", []string{"application/graphql-response+json"}, nil, true},
		{"text/plain POST without preflight header is refused", "POST", []string{"text/plain"}, nil, false},
		{"TEXT/PLAIN in upper case is refused", "POST", []string{"TEXT/PLAIN"}, nil, false},
		{"text/plain with a charset parameter is refused", "POST", []string{"text/plain; charset=utf-8"}, nil, false},
		{"text/plain with whitespace is refused", "POST", []string{"  text/plain ;charset=UTF-8"}, nil, false},
		{"form-urlencoded POST is refused", "POST", []string{"application/x-www-form-urlencoded"}, nil, false},
		{"multipart POST is refused", "POST", []string{"multipart/form-data; boundary=x"}, nil, false},
		{"POST without Content-Type is refused", "POST", nil, nil, false},
		{"GET without preflight header is refused", "GET", nil, nil, false},
		{"GET with Apollo-Require-Preflight runs", "GET", nil, map[string]string{"Apollo-Require-Preflight": "true"}, true},
		{"GET with X-Apollo-Operation-Name runs", "GET", nil, map[string]string{"X-Apollo-Operation-Name": "Q"}, true},
		{"text/plain POST with GraphQL-Require-Preflight runs", "POST", []string{"text/plain"}, map[string]string{"GraphQL-Require-Preflight": "1"}, true},
		{"empty preflight header does not count", "GET", nil, map[string]string{"Apollo-Require-Preflight": "  "}, false},
		{"repeated Content-Type headers do not parse and needed a preflight", "POST", []string{"text/plain", "application/json"}, nil, true},
		{"malformed parameters still make text/plain, as browsers read it", "POST", []string{"text/plain;;;=="}, nil, false},
		{"text/plain with a quoted, broken parameter is refused", "POST", []string{`text/plain; charset="utf-8`}, nil, false},
		{"form-urlencoded with tabs around it is refused", "POST", []string{"\tapplication/x-www-form-urlencoded\t"}, nil, false},
		{"Multipart/Form-Data in mixed case is refused", "POST", []string{"Multipart/Form-Data; boundary=--x"}, nil, false},
		{"a type a browser cannot parse needed a preflight", "POST", []string{"text/plain extra"}, nil, true},
		{"a type without a subtype needed a preflight", "POST", []string{"text/"}, nil, true},
		{"application/json with parameters runs", "POST", []string{"application/json; charset=utf-8"}, nil, true},
		{"OPTIONS passes to the CORS stage", "OPTIONS", nil, nil, true},
		{"a method browsers preflight is left to the method check", "DELETE", nil, nil, true},
		{"HEAD without a preflight header is refused", "HEAD", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			p := New(headers, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
			r := httptest.NewRequest(tt.method, "/graphql", strings.NewReader("{}"))
			for _, ct := range tt.types {
				r.Header.Add("Content-Type", ct)
			}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			info := &envelope.Info{}
			r = r.WithContext(envelope.WithInfo(r.Context(), info))
			w := httptest.NewRecorder()
			p.ServeHTTP(w, r)
			if called != tt.allowed {
				t.Fatalf("allowed=%v, want %v", called, tt.allowed)
			}
			if !tt.allowed {
				if w.Code != 400 || info.Code != envelope.CodeCSRFPreflightRequired || !strings.Contains(w.Body.String(), "Apollo-Require-Preflight") {
					t.Errorf("refusal %d %s %s", w.Code, info.Code, w.Body)
				}
			}
		})
	}
}
