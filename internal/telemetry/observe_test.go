package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

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

// A bug that panics after the head went out cuts the connection, never
// ending the partial answer cleanly, and is logged with its stack and
// counted as the gateway's failure, not as the status that went out.
func TestPanicAfterTheAnswerBeganIsAnInternalError(t *testing.T) {
	var logs bytes.Buffer
	o := &Observer{Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"data":`))
			panic("a bug in some stage")
		})}
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("panic %v; want http.ErrAbortHandler, so that net/http cuts the connection", p)
			}
		}()
		o.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/graphql", nil))
	}()
	var panicked, access map[string]any
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &panicked) != nil || json.Unmarshal([]byte(lines[1]), &access) != nil {
		t.Fatalf("want the panic's line and the access line:\n%s", logs.String())
	}
	if panicked["msg"] != "request handler panicked" || panicked["level"] != "ERROR" || !strings.Contains(fmt.Sprint(panicked["stack"]), "observe_test.go") {
		t.Errorf("panic line %s", lines[0])
	}
	if access["status"] != 500.0 || access["outcome"] != "INTERNAL_SERVER_ERROR" || access["level"] != "WARN" {
		t.Errorf("access line %s; want 500 INTERNAL_SERVER_ERROR at WARN", lines[1])
	}
}

// An outcome the access log and the metrics get from the stage that decided
// it: a refusal, an answer cut after its head (recorded, not written), and
// a dependency failure of a request whose client had already gone, which is
// the client's doing.
func TestOutcomeOfTheRequest(t *testing.T) {
	storeDown := &envelope.Error{Code: envelope.CodeDocumentStoreUnavailable, Message: "down"}
	tests := []struct {
		name      string
		cancelled bool
		next      func(w http.ResponseWriter, r *http.Request)
		status    float64
		outcome   string
		level     string
	}{
		{"a dependency failure", false, func(w http.ResponseWriter, r *http.Request) { envelope.WriteError(w, r, storeDown) }, 503, "DOCUMENT_STORE_UNAVAILABLE", "WARN"},
		{"a dependency failure after the client went away", true, func(w http.ResponseWriter, r *http.Request) { envelope.WriteError(w, r, storeDown) }, 499, "CLIENT_CLOSED_REQUEST", "INFO"},
		{"a refusal after the client went away keeps its code", true, func(w http.ResponseWriter, r *http.Request) {
			envelope.WriteError(w, r, envelope.Errorf(envelope.CodeBadRequest, "no"))
		}, 400, "BAD_REQUEST", "INFO"},
		{"an answer cut after its head", false, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"data":`))
			envelope.RecordError(r, &envelope.Error{Code: envelope.CodeUpstreamUnavailable, Message: "cut"})
			panic(http.ErrAbortHandler)
		}, 502, "UPSTREAM_UNAVAILABLE", "WARN"},
		{"an abort before anything was written, without a record", false, func(http.ResponseWriter, *http.Request) {
			panic(http.ErrAbortHandler)
		}, 499, "CLIENT_CLOSED_REQUEST", "INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			reg := prometheus.NewRegistry()
			o := &Observer{Logger: NewJSONLogger(&logs, slog.LevelInfo), Metrics: NewMetrics(reg, nil), Next: http.HandlerFunc(tt.next)}
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			if tt.cancelled {
				ctx, cancel := context.WithCancel(r.Context())
				cancel()
				r = r.WithContext(ctx)
			}
			func() {
				defer func() { _ = recover() }()
				o.ServeHTTP(httptest.NewRecorder(), r)
			}()
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("%v: %s", err, logs.String())
			}
			if line["status"] != tt.status || line["outcome"] != tt.outcome || line["level"] != tt.level {
				t.Errorf("access line %s; want %s, %v, %s", logs.String(), tt.level, tt.status, tt.outcome)
			}
			if got := requestCounts(t, reg); len(got) != 1 || got[fmt.Sprintf("%s %v", tt.outcome, tt.status)] != 1 {
				t.Errorf("gqlguard_requests_total %v; want %s %v counted once", got, tt.outcome, tt.status)
			}
		})
	}
}

// requestCounts returns gqlguard_requests_total from reg by "outcome status".
func requestCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "gqlguard_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			counts[labels["outcome"]+" "+labels["status"]] = m.GetCounter().GetValue()
		}
	}
	return counts
}
