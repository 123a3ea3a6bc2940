package admin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gqlguard/gqlguard/documents"
)

type store struct {
	mu   sync.Mutex
	m    map[documents.ID]string
	puts int
}

func (s *store) Get(context.Context, documents.ID) (documents.Entry, error) {
	return documents.Entry{}, documents.ErrNotFound
}
func (s *store) List(context.Context, func(documents.Entry) error) error { return nil }
func (s *store) Put(_ context.Context, es []documents.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	for _, e := range es {
		s.m[e.ID] = e.Text
	}
	return nil
}

// decode reads {"<id>": "<text>"} and verifies every id.
func decode(r io.Reader) ([]documents.Entry, error) {
	var m map[string]string
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, err
	}
	var out []documents.Entry
	for k, v := range m {
		id, err := documents.ParseID(k)
		if err != nil {
			return nil, err
		}
		if err := id.Verify(v); err != nil {
			return nil, err
		}
		out = append(out, documents.Entry{ID: id, Text: v})
	}
	return out, nil
}

const testToken = "0123456789abcdef0123456789abcdef"

func TestRegistration(t *testing.T) {
	good := "query Q { a }"
	body := `{"` + string(documents.SHA256(good)) + `": "` + good + `"}`
	tampered := `{"` + string(documents.SHA256(good)) + `": "mutation { drop }"}`
	const token = testToken
	tests := []struct {
		name   string
		method string
		auth   []string
		body   string
		check  error
		status int
		stored bool
	}{
		{"valid token stores the batch", http.MethodPut, []string{"Bearer " + token}, body, nil, 200, true},
		{"no token", http.MethodPut, nil, body, nil, 401, false},
		{"wrong token", http.MethodPut, []string{"Bearer nope"}, body, nil, 403, false},
		{"basic auth", http.MethodPut, []string{"Basic " + token}, body, nil, 401, false},
		{"two Authorization headers", http.MethodPut, []string{"Bearer " + token, "Bearer " + token}, body, nil, 401, false},
		{"tampered entry", http.MethodPut, []string{"Bearer " + token}, tampered, nil, 400, false},
		{"safety rules broken", http.MethodPut, []string{"Bearer " + token}, body, errors.New("depth 30 > 15"), 422, false},
		{"GET", http.MethodGet, []string{"Bearer " + token}, "", nil, 405, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &store{m: map[documents.ID]string{}}
			reg := &Registration{Store: st, Token: token, Decode: decode, Logger: slog.New(slog.DiscardHandler)}
			if tt.check != nil {
				reg.Check = func([]documents.Entry) error { return tt.check }
			}
			r := httptest.NewRequest(tt.method, "/v1/documents", strings.NewReader(tt.body))
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			reg.ServeHTTP(w, r)
			if w.Code != tt.status || (len(st.m) > 0) != tt.stored {
				t.Errorf("got %d stored=%v (%s), want %d stored=%v", w.Code, len(st.m) > 0, w.Body, tt.status, tt.stored)
			}
			if tt.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestRegistrationDisabledWithoutToken(t *testing.T) {
	for _, tt := range []struct {
		name   string
		certs  bool
		auth   string
		status int
		says   string
	}{
		{"a token", false, "Bearer anything", 403, "set admin.token"},
		{"no credential", false, "", 403, "document registration is disabled: set admin.token, or admin.tls.client_ca_file"},
		{"no credential where certificates may register", true, "", 403, "send an allowed client certificate (registration by token is disabled"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := &Registration{Store: &store{m: map[documents.ID]string{}}, ClientCertificates: tt.certs, Decode: decode, Logger: slog.New(slog.DiscardHandler)}
			r := httptest.NewRequest(http.MethodPut, "/v1/documents", strings.NewReader(`{}`))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			reg.ServeHTTP(w, r)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.says) {
				t.Errorf("got %d %s, want %d saying %q", w.Code, w.Body, tt.status, tt.says)
			}
		})
	}
}

// withCertificate returns r as if the TLS handshake had verified a client
// certificate with the given names.
func withCertificate(r *http.Request, cn string, dns []string, uris ...string) *http.Request {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
	for _, u := range uris {
		pu, _ := url.Parse(u)
		c.URIs = append(c.URIs, pu)
	}
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}, VerifiedChains: [][]*x509.Certificate{{c}}}
	return r
}

func TestRegistrationByClientCertificate(t *testing.T) {
	good := "query Q { a }"
	body := `{"` + string(documents.SHA256(good)) + `": "` + good + `"}`
	tests := []struct {
		name    string
		enabled bool
		names   []string
		cert    func(*http.Request) *http.Request
		auth    string
		status  int
	}{
		{"an allowed common name", true, []string{"ci"}, func(r *http.Request) *http.Request { return withCertificate(r, "ci", nil) }, "", 200},
		{"an allowed DNS name", true, []string{"ci.example.com"}, func(r *http.Request) *http.Request { return withCertificate(r, "x", []string{"ci.example.com"}) }, "", 200},
		{"an allowed URI", true, []string{"spiffe://example.org/ci"}, func(r *http.Request) *http.Request {
			return withCertificate(r, "x", nil, "spiffe://example.org/ci")
		}, "", 200},
		{"any verified certificate when no names are listed", true, nil, func(r *http.Request) *http.Request { return withCertificate(r, "anyone", nil) }, "", 200},
		{"a name not listed is forbidden", true, []string{"ci"}, func(r *http.Request) *http.Request {
			return withCertificate(r, "laptop", []string{"laptop.example.com"})
		}, "", 403},
		{"names match exactly, not by prefix", true, []string{"ci"}, func(r *http.Request) *http.Request { return withCertificate(r, "ci-evil", nil) }, "", 403},
		{"an unverified certificate counts for nothing", true, nil, func(r *http.Request) *http.Request {
			r = withCertificate(r, "ci", nil)
			r.TLS.VerifiedChains = nil
			return r
		}, "", 401},
		{"certificates are ignored unless enabled", false, nil, func(r *http.Request) *http.Request { return withCertificate(r, "ci", nil) }, "", 401},
		{"the token works beside a forbidden certificate", true, []string{"ci"}, func(r *http.Request) *http.Request { return withCertificate(r, "laptop", nil) }, "Bearer " + testToken, 200},
		{"lower-case bearer scheme", false, nil, func(r *http.Request) *http.Request { return r }, "bearer " + testToken, 200},
		{"upper-case bearer scheme", false, nil, func(r *http.Request) *http.Request { return r }, "BEARER " + testToken, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &store{m: map[documents.ID]string{}}
			reg := &Registration{Store: st, Token: testToken, ClientCertificates: tt.enabled, ClientNames: tt.names, Decode: decode, Logger: slog.New(slog.DiscardHandler)}
			r := tt.cert(httptest.NewRequest(http.MethodPut, "/v1/documents", strings.NewReader(body)))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			reg.ServeHTTP(w, r)
			if w.Code != tt.status || (len(st.m) > 0) != (tt.status == 200) {
				t.Errorf("got %d stored=%v (%s), want %d", w.Code, len(st.m) > 0, w.Body, tt.status)
			}
		})
	}
}

// bindingStore refuses to re-bind an id, as every documents.Store does.
type bindingStore struct{ store }

func (s *bindingStore) Put(ctx context.Context, es []documents.Entry) error {
	s.mu.Lock()
	var ids []documents.ID
	for _, e := range es {
		if old, ok := s.m[e.ID]; ok && old != e.Text {
			ids = append(ids, e.ID)
		}
	}
	s.mu.Unlock()
	if ids != nil {
		return &documents.ConflictError{IDs: ids}
	}
	return s.store.Put(ctx, es)
}

func TestRegistrationRefusesToRebindAnID(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	st := &bindingStore{store{m: map[documents.ID]string{"x-evil": "query Evil { a }"}}}
	reg := &Registration{Store: st, Token: token, Logger: slog.New(slog.DiscardHandler),
		Decode: func(r io.Reader) ([]documents.Entry, error) {
			var m map[string]string
			if err := json.NewDecoder(r).Decode(&m); err != nil {
				return nil, err
			}
			var out []documents.Entry
			for k, v := range m {
				out = append(out, documents.Entry{ID: documents.ID(k), Text: v})
			}
			return out, nil
		}}
	put := func(body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPut, "/v1/documents", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		reg.ServeHTTP(w, r)
		return w
	}
	w := put(`{"x-evil": "mutation Evil { drop }"}`)
	var answer struct {
		Error string
		Code  string
		IDs   []documents.ID
	}
	if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
		t.Fatalf("answer %s: %v", w.Body, err)
	}
	if w.Code != http.StatusConflict || answer.Code != "DOCUMENT_ID_CONFLICT" || len(answer.IDs) != 1 || answer.IDs[0] != "x-evil" ||
		!strings.Contains(answer.Error, "x-evil") || !strings.Contains(answer.Error, "nothing was stored") {
		t.Errorf("re-binding x-evil: %d %s; want 409 DOCUMENT_ID_CONFLICT naming x-evil", w.Code, w.Body)
	}
	if st.m["x-evil"] != "query Evil { a }" {
		t.Errorf("x-evil holds %q after the refusal", st.m["x-evil"])
	}
	if w := put(`{"x-evil": "query Evil { a }"}`); w.Code != http.StatusOK {
		t.Errorf("the same text again: %d %s, want 200", w.Code, w.Body)
	}
}
