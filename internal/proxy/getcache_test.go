package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/envelope"
)

func TestGETCache(t *testing.T) {
	answer := `{"data":{"status":{"ok":true}}}`
	status := http.StatusOK
	body := answer
	h := GETCache("private, max-age=60", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	do := func(method, inm string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/graphql?documentId=x", nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		r = r.WithContext(envelope.WithBatch(r.Context(), &envelope.Batch{Method: method}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	first := do(http.MethodGet, "")
	etag := first.Header().Get("ETag")
	if first.Code != 200 || first.Body.String() != answer || !strings.HasPrefix(etag, `"`) || len(etag) < 40 {
		t.Fatalf("first GET: %d %q ETag %q", first.Code, first.Body, etag)
	}
	if first.Header().Get("Cache-Control") != "private, max-age=60" || first.Header().Get("Vary") != CacheVary {
		t.Errorf("Cache-Control %q Vary %q", first.Header().Get("Cache-Control"), first.Header().Get("Vary"))
	}
	for _, inm := range []string{etag, `"other", ` + etag, "W/" + etag, "*"} {
		if w := do(http.MethodGet, inm); w.Code != http.StatusNotModified || w.Body.Len() != 0 || w.Header().Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d %q", inm, w.Code, w.Body)
		}
	}
	if w := do(http.MethodGet, `"stale"`); w.Code != 200 || w.Body.String() != answer {
		t.Errorf("stale ETag: %d", w.Code)
	}
	if w := do(http.MethodPost, etag); w.Code != 200 || w.Header().Get("ETag") != "" || w.Header().Get("Cache-Control") != "" {
		t.Errorf("POST was treated as cacheable: %d %v", w.Code, w.Header())
	}
	body = `{"data":{"status":{"ok":false}}}`
	if w := do(http.MethodGet, etag); w.Code != 200 || w.Header().Get("ETag") == etag {
		t.Errorf("changed answer kept its ETag")
	}
	status, body = http.StatusBadGateway, `{"errors":[]}`
	if w := do(http.MethodGet, ""); w.Code != 502 || w.Header().Get("ETag") != "" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("error answer: %d ETag %q CC %q", w.Code, w.Header().Get("ETag"), w.Header().Get("Cache-Control"))
	}
	status, body = http.StatusOK, strings.Repeat("x", maxETagBody+10)
	if w := do(http.MethodGet, ""); w.Code != 200 || w.Body.Len() != len(body) || w.Header().Get("ETag") != "" {
		t.Errorf("large answer: %d len %d ETag %q", w.Code, w.Body.Len(), w.Header().Get("ETag"))
	}
}
