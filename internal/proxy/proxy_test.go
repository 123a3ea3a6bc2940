package proxy

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

func TestEncodeBatchIsTheRequestAsJSON(t *testing.T) {
	tests := []struct {
		name string
		b    envelope.Batch
		want string
	}{
		{"all fields", envelope.Batch{Requests: []envelope.Request{{Query: "query Q { a }", OperationName: "Q", Variables: []byte(`{"x":[1,2]}`), Extensions: []byte(`{"e":{}}`), DocumentID: "sha256:ab"}}},
			`{"query":"query Q { a }","operationName":"Q","variables":{"x":[1,2]},"extensions":{"e":{}},"documentId":"sha256:ab"}`},
		{"absent fields are left out", envelope.Batch{Requests: []envelope.Request{{Query: "{ a }"}}}, `{"query":"{ a }"}`},
		{"escapes", envelope.Batch{Requests: []envelope.Request{{Query: "{ a(s: \"q\\\\\") }\n\t\x01"}}}, `{"query":"{ a(s: \"q\\\\\") }\n\t\u0001"}`},
		{"array", envelope.Batch{Array: true, Requests: []envelope.Request{{Query: "{ a }"}, {DocumentID: "x"}}}, `[{"query":"{ a }"},{"documentId":"x"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(encodeBatch(&tt.b)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\\n\r\t\x00\x1f", "é€😀", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q encoded to invalid JSON %s: %v", s, out, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q round-trips to %q, encoding/json gives %q", s, back, wantBack)
		}
	})
}

func TestTransportSpeaksHTTP2ToTLSUpstreams(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	cfg := config.Default().Upstream
	cfg.URL = ts.URL
	cfg.TLS.CAFile = writeCertPEM(t, ts.Certificate())
	tr, err := NewTransport(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	res, err := (&http.Client{Transport: tr}).Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.ProtoMajor != 2 || string(body) != "HTTP/2.0" {
		t.Errorf("spoke %s (upstream saw %s), want HTTP/2", res.Proto, body)
	}
}

func TestTransportIgnoresEnvironmentProxies(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	tr, err := NewTransport(config.Default().Upstream)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Proxy != nil {
		t.Error("upstream transport would follow HTTP_PROXY")
	}
}

func TestResponseIsStreamed(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "data: second\n\n")
	}))
	t.Cleanup(ts.Close)
	cfg := config.Default().Upstream
	cfg.URL = ts.URL
	p, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(&envelope.Handler{Next: p})
	t.Cleanup(gw.Close)
	res, err := http.Post(gw.URL, "application/json", strings.NewReader(`{"query":"subscription { s }"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 64)
	done := make(chan string, 1)
	go func() { n, _ := res.Body.Read(buf); done <- string(buf[:n]) }()
	select {
	case got := <-done:
		if got != "data: first\n\n" {
			t.Errorf("first chunk %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event was held back until the response ended")
	}
	close(release)
}

func TestTokenCookieIsNotForwarded(t *testing.T) {
	h := http.Header{"Cookie": {"theme=dark; session=secret-token", "lang=en"}}
	px := &Proxy{identity: Identity{Enabled: true, Cookie: "session"}}
	px.setIdentity(h, nil)
	if got := h.Get("Cookie"); got != "theme=dark; lang=en" {
		t.Errorf("Cookie %q", got)
	}
	h = http.Header{"Cookie": {"session=secret-token"}}
	px.setIdentity(h, nil)
	if _, ok := h["Cookie"]; ok {
		t.Errorf("Cookie header kept: %q", h.Get("Cookie"))
	}
	h = http.Header{"Cookie": {"session=secret-token"}}
	(&Proxy{identity: Identity{Enabled: true, Cookie: "session", ForwardToken: true}}).setIdentity(h, nil)
	if h.Get("Cookie") != "session=secret-token" {
		t.Error("forward_token did not forward the cookie")
	}
}

func TestClaimsThatCannotBeHeadersAreNotForwarded(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string // the header sent; "" for none
	}{
		{"plain value", "Ada Lovelace", "Ada Lovelace"},
		{"non-ASCII letters", "Zoë Ĳssel", "Zoë Ĳssel"},
		{"number", 42.5, "42.5"},
		{"boolean", true, "true"},
		{"carriage return and line feed", "ada\r\nX-Admin: 1", ""},
		{"NUL", "ada\x00", ""},
		{"tab", "ada\tlovelace", ""},
		{"DEL", "ada\x7f", ""},
		{"C1 control", "ada\u0085", ""},
		{"empty", "", ""},
		{"blank", "   ", ""},
		{"leading space, which HTTP would strip", " ada", ""},
		{"trailing space", "ada ", ""},
		{"list", []any{"a", "b"}, ""},
		{"object", map[string]any{"a": "b"}, ""},
	}
	for _, tt := range tests {
		logs := &logbuf.Buffer{}
		px := &Proxy{
			identity: Identity{Enabled: true, ClaimHeaders: map[string]string{"sub": "X-User-Id", "name": "X-User-Name"}},
			log:      slog.New(slog.NewJSONHandler(logs, nil)),
		}
		h := http.Header{}
		px.setIdentity(h, &envelope.Principal{Method: "jwt", Subject: "c1", Claims: map[string]any{"sub": "c1", "name": tt.value}})
		got, sent := h["X-User-Name"]
		if sent != (tt.want != "") || (sent && got[0] != tt.want) {
			t.Errorf("%s: X-User-Name %q, want %q", tt.name, got, tt.want)
		}
		if h.Get("X-User-Id") != "c1" {
			t.Errorf("%s: the other claim was dropped too", tt.name)
		}
		if warned := strings.Contains(logs.String(), "cannot be a header"); warned == sent {
			t.Errorf("%s: warned=%v\n%s", tt.name, warned, logs)
		}
		// The next request of the same token logs nothing more.
		before := logs.String()
		px.setIdentity(http.Header{}, &envelope.Principal{Method: "jwt", Subject: "c1", Claims: map[string]any{"sub": "c1", "name": tt.value}})
		if logs.String() != before {
			t.Errorf("%s: logged again:\n%s", tt.name, logs)
		}
	}
}
