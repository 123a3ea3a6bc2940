package envelope

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept string
		want   string
		ok     bool
	}{
		{"", MediaTypeJSON, true},
		{"application/json", MediaTypeJSON, true},
		{"application/graphql-response+json", MediaTypeGraphQLResponse, true},
		{"application/graphql-response+json, application/json;q=0.9", MediaTypeGraphQLResponse, true},
		{"application/json, application/graphql-response+json;q=0.5", MediaTypeJSON, true},
		{"*/*", MediaTypeGraphQLResponse, true},
		{"application/*;q=0.8, application/json", MediaTypeJSON, true},
		{"text/html", "", false},
		{"application/json;q=0", "", false},
		{"text/html, */*;q=0.1", MediaTypeGraphQLResponse, true},
	}
	for _, tt := range tests {
		got, ok := Negotiate(tt.accept)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Negotiate(%q) = %q, %v; want %q, %v", tt.accept, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name      string
		accept    string
		err       error
		status    int
		code      Code
		mediaType string
	}{
		{"request error to a graphql-response+json client keeps its status", MediaTypeGraphQLResponse, Errorf(CodeVariablesInvalid, "bad"), 400, CodeVariablesInvalid, MediaTypeGraphQLResponse},
		{"request error to a legacy client is 200", MediaTypeJSON, Errorf(CodeVariablesInvalid, "bad"), 200, CodeVariablesInvalid, MediaTypeJSON},
		{"transport refusal to a legacy client keeps its status", MediaTypeJSON, Errorf(CodePayloadTooLarge, "big"), 413, CodePayloadTooLarge, MediaTypeJSON},
		{"status override", MediaTypeGraphQLResponse, &Error{Code: CodeUpstreamUnavailable, Message: "slow", Status: 504}, 504, CodeUpstreamUnavailable, MediaTypeGraphQLResponse},
		{"foreign error hides its text", "", errors.New("dial tcp 10.0.0.7:5432: secret"), 500, CodeInternal, MediaTypeJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			r.Header.Set("Accept", tt.accept)
			info := &Info{}
			r = r.WithContext(WithInfo(r.Context(), info))
			w := httptest.NewRecorder()
			WriteError(w, r, tt.err)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != tt.mediaType+"; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			var body struct {
				Errors []struct {
					Message    string
					Extensions struct{ Code Code }
				}
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if body.Errors[0].Extensions.Code != tt.code || info.Code != tt.code {
				t.Errorf("code %q (info %q), want %q", body.Errors[0].Extensions.Code, info.Code, tt.code)
			}
			if body.Errors[0].Message == "" || (tt.code == CodeInternal && body.Errors[0].Message != "internal error; the gateway log has the details") {
				t.Errorf("message %q", body.Errors[0].Message)
			}
		})
	}
}

func TestWriteErrorHeaders(t *testing.T) {
	r := httptest.NewRequest(http.MethodPut, "/graphql", nil)
	w := httptest.NewRecorder()
	_, err := Parse(r, Limits{})
	WriteError(w, r, err)
	if w.Code != 405 || w.Header().Get("Allow") != "GET, POST" {
		t.Errorf("got %d Allow=%q", w.Code, w.Header().Get("Allow"))
	}
}

func TestHandlerRefusesUnacceptableAccept(t *testing.T) {
	h := &Handler{Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next called") })}
	r := post(`{"query":"{a}"}`, "application/json")
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 406 {
		t.Errorf("status %d, want 406", w.Code)
	}
}

func TestHandlerPassesBatch(t *testing.T) {
	var got *Batch
	h := &Handler{Next: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = BatchFrom(r.Context()) })}
	h.ServeHTTP(httptest.NewRecorder(), post(`{"query":"{a}"}`, "application/json"))
	if got == nil || got.Requests[0].Query != "{a}" {
		t.Fatalf("got %+v", got)
	}
}

func TestRepeatedAcceptHeadersCombine(t *testing.T) {
	h := &Handler{Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	r := post(`{"query":"{a}"}`, "application/json")
	r.Header.Add("Accept", "text/html")
	r.Header.Add("Accept", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("status %d; the second Accept line allows application/json", w.Code)
	}
}
