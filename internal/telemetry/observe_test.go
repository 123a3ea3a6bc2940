package telemetry

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/clientip"
)

func TestRequestID(t *testing.T) {
	trusted := clientip.Trusted{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name     string
		peer     string
		incoming string
		kept     bool
	}{
		{"untrusted peer's id is replaced", "203.0.113.1:1", "abc-123", false},
		{"trusted proxy's id is kept", "10.1.1.1:1", "abc-123", true},
		{"trusted proxy's malformed id is replaced", "10.1.1.1:1", "a b\"c", false},
		{"trusted proxy's overlong id is replaced", "10.1.1.1:1", string(bytes.Repeat([]byte("a"), 129)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			var seen string
			o := &Observer{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Trusted: trusted,
				Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					seen = envelope.InfoFrom(r.Context()).ID
					envelope.WriteError(w, r, envelope.Errorf(envelope.CodeBadRequest, "no"))
				})}
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			r.RemoteAddr = tt.peer
			r.Header.Set("X-Request-Id", tt.incoming)
			w := httptest.NewRecorder()
			o.ServeHTTP(w, r)
			if (seen == tt.incoming) != tt.kept || w.Header().Get("X-Request-Id") != seen || seen == "" {
				t.Errorf("id %q (header %q), incoming %q, kept=%v", seen, w.Header().Get("X-Request-Id"), tt.incoming, tt.kept)
			}
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			if line["request_id"] != seen || line["outcome"] != "BAD_REQUEST" || line["status"] != 400.0 {
				t.Errorf("log line %v", line)
			}
		})
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	var s idSource
	seen := map[string]bool{}
	for range 1000 {
		id := s.next()
		if seen[id] || !validID(id) {
			t.Fatalf("id %q repeated or invalid", id)
		}
		seen[id] = true
	}
}

func TestAbortedResponseIsLogged(t *testing.T) {
	var logs bytes.Buffer
	o := &Observer{Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("partial"))
			panic(http.ErrAbortHandler)
		})}
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("panic %v was not passed on", p)
			}
		}()
		o.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/graphql", nil))
	}()
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line["status"] != 200.0 || line["error"] == nil {
		t.Errorf("access line %s (%v)", logs.String(), err)
	}
}

func TestPanicBeforeTheAnswerIsAnErrorResponse(t *testing.T) {
	var logs bytes.Buffer
	o := &Observer{Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("a bug in some stage: secret detail")
		})}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.Header.Set("Accept", "application/graphql-response+json")
	o.ServeHTTP(w, r)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"INTERNAL_SERVER_ERROR"`) {
		t.Fatalf("got %d %s, want 500 with the error contract", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "secret detail") {
		t.Errorf("the panic's text reached the client: %s", w.Body)
	}
	if !strings.Contains(logs.String(), "request handler panicked") || !strings.Contains(logs.String(), `"status":500`) {
		t.Errorf("logs %s", logs.String())
	}
}
