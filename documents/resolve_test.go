package documents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/envelope"
)

// memStore is a Store for tests.
type memStore struct {
	mu   sync.Mutex
	m    map[ID]Entry
	gets int
	fail error
}

func (s *memStore) Get(_ context.Context, id ID) (Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.fail != nil {
		return Entry{}, s.fail
	}
	e, ok := s.m[id]
	if !ok {
		return Entry{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	return e, nil
}

func (s *memStore) Put(_ context.Context, es []Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		if err := e.ID.Verify(e.Text); err != nil {
			return err
		}
	}
	for _, e := range es {
		s.m[e.ID] = e
	}
	return nil
}

func (s *memStore) List(_ context.Context, fn func(Entry) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.m {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

type recorder struct {
	mu      sync.Mutex
	records []string
}

func (r *recorder) Record(id ID, text, op, client string, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, fmt.Sprintf("%s %s %s", id, op, client))
}

const (
	topUsers = "query TopUsers($limit: Int!) { topUsers(first: $limit) { id } }"
	multiOp  = "query A { a } mutation B { b }"
	payDoc   = "mutation Pay($id: ID!) { payInvoice(id: $id) { id } }"
)

type result struct {
	status   int
	code     envelope.Code
	called   bool
	forward  envelope.Request
	resolved []Resolved
	header   http.Header
}

func run(t *testing.T, rs *Resolver, r *http.Request) result {
	t.Helper()
	var res result
	rs.Next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res.called = true
		res.forward = envelope.BatchFrom(r.Context()).Requests[0]
		res.resolved = ResolvedFrom(r.Context())
	})
	h := &envelope.Handler{CachePrefix: "/graphql/", Next: rs}
	info := &envelope.Info{}
	r = r.WithContext(envelope.WithInfo(r.Context(), info))
	r.Header.Set("Accept", envelope.MediaTypeGraphQLResponse)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res.status, res.code, res.header = w.Code, info.Code, w.Header()
	return res
}

func newResolver(mode Mode) (*Resolver, *memStore, *recorder) {
	st := &memStore{m: map[ID]Entry{}}
	for _, text := range []string{topUsers, multiOp, payDoc} {
		st.m[SHA256(text)] = Entry{ID: SHA256(text), Text: text}
	}
	rec := &recorder{}
	return &Resolver{Mode: mode, Store: st, Cache: NewCache(10), FreeFormCache: NewCache(10), Recorder: rec, ClientHeader: "apollographql-client-name"}, st, rec
}

func postJSON(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestResolveWireFormats(t *testing.T) {
	id := SHA256(topUsers)
	hash := id.Hash()
	tests := []struct {
		name string
		req  *http.Request
	}{
		{"documentId with prefix", postJSON(`{"documentId":"` + string(id) + `","variables":{"limit":3}}`)},
		{"bare 64-hex documentId (Apollo style)", postJSON(`{"documentId":"` + strings.ToUpper(hash) + `"}`)},
		{"Apollo extensions.persistedQuery", postJSON(`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"},"traceId":"t1"}}`)},
		{"Relay doc_id", postJSON(`{"doc_id":"` + hash + `"}`)},
		{"Relay id", postJSON(`{"id":"` + hash + `"}`)},
		{"GET documentId", httptest.NewRequest(http.MethodGet, "/graphql?documentId="+string(id), nil)},
		{"GET cache URL", httptest.NewRequest(http.MethodGet, "/graphql/"+hash+"/TopUsers?variables="+url.QueryEscape(`{"limit":1}`), nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, _, _ := newResolver(Strict)
			res := run(t, rs, tt.req)
			if !res.called {
				t.Fatalf("refused with %d %s", res.status, res.code)
			}
			f := res.forward
			if f.Query != topUsers || f.DocumentID != "" || f.DocID != "" {
				t.Errorf("forwarded %+v", f)
			}
			if strings.Contains(string(f.Extensions), "persistedQuery") {
				t.Errorf("persistedQuery extension forwarded: %s", f.Extensions)
			}
			if tt.name == "Apollo extensions.persistedQuery" && string(f.Extensions) != `{"traceId":"t1"}` {
				t.Errorf("other extensions lost: %s", f.Extensions)
			}
			if len(res.resolved) != 1 || !res.resolved[0].Trusted || res.resolved[0].Operation.Name != "TopUsers" {
				t.Errorf("resolved %+v", res.resolved)
			}
		})
	}
}

func TestResolveRefusals(t *testing.T) {
	hash := SHA256(topUsers).Hash()
	unknown := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		mode   Mode
		req    *http.Request
		status int
		code   envelope.Code
	}{
		{"free-form query in strict mode", Strict, postJSON(`{"query":"{ a }"}`), 400, envelope.CodePersistedDocumentRequired},
		{"APQ registration in strict mode", Strict, postJSON(`{"query":"{ a }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + SHA256("{ a }").Hash() + `"}}}`), 400, envelope.CodePersistedQueryUnsupported},
		{"APQ registration with a hash of no accepted form", Strict, postJSON(`{"query":"{ a }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`), 400, envelope.CodePersistedQueryUnsupported},
		{"APQ registration in capture mode", Capture, postJSON(`{"query":"{ a }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + SHA256("{ a }").Hash() + `"}}}`), 400, envelope.CodePersistedQueryUnsupported},
		{"unknown id", Strict, postJSON(`{"documentId":"sha256:` + unknown + `"}`), 400, envelope.CodePersistedDocumentNotFound},
		{"unknown id on a GET cache URL is 404", Strict, httptest.NewRequest(http.MethodGet, "/graphql/"+unknown+"/Q", nil), 404, envelope.CodePersistedDocumentNotFound},
		{"malformed id", Strict, postJSON(`{"documentId":"sha256:xyz"}`), 400, envelope.CodeInvalidDocumentID},
		{"malformed Apollo hash", Strict, postJSON(`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"nothex"}}}`), 400, envelope.CodeInvalidDocumentID},
		{"two different ids", Strict, postJSON(`{"documentId":"sha256:` + hash + `","doc_id":"` + unknown + `"}`), 400, envelope.CodeBadRequest},
		{"query and id together", Capture, postJSON(`{"query":"{ a }","documentId":"sha256:` + hash + `"}`), 400, envelope.CodeBadRequest},
		{"operationName not in the document", Strict, postJSON(`{"documentId":"` + string(SHA256(topUsers)) + `","operationName":"Other"}`), 400, envelope.CodeOperationNotFound},
		{"multi-operation document without operationName", Strict, postJSON(`{"documentId":"` + string(SHA256(multiOp)) + `"}`), 400, envelope.CodeOperationNotFound},
		{"mutation over GET", Strict, httptest.NewRequest(http.MethodGet, "/graphql?documentId="+string(SHA256(payDoc)), nil), 405, envelope.CodeMutationNotAllowedOverGET},
		{"selected mutation over a GET cache URL", Strict, httptest.NewRequest(http.MethodGet, "/graphql/"+SHA256(multiOp).Hash()+"/B", nil), 405, envelope.CodeMutationNotAllowedOverGET},
		{"POST to a cache URL", Strict, func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/graphql/"+hash+"/TopUsers", strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}(), 405, envelope.CodeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, st, _ := newResolver(tt.mode)
			res := run(t, rs, tt.req)
			if res.called || res.status != tt.status || res.code != tt.code {
				t.Errorf("called=%v %d %s, want %d %s", res.called, res.status, res.code, tt.status, tt.code)
			}
			if tt.code == envelope.CodeMutationNotAllowedOverGET && res.header.Get("Allow") != "POST" {
				t.Errorf("Allow %q", res.header.Get("Allow"))
			}
			if strings.HasPrefix(tt.name, "APQ") && len(st.m) != 3 {
				t.Errorf("APQ registration stored something: %d entries", len(st.m))
			}
		})
	}
}

func TestKnownDocumentIsParsedOnce(t *testing.T) {
	rs, st, _ := newResolver(Strict)
	prepared := 0
	rs.Prepare = func(d *Document) error { prepared++; d.Plan = "plan"; return nil }
	for range 5 {
		res := run(t, rs, postJSON(`{"documentId":"`+string(SHA256(topUsers))+`"}`))
		if !res.called || res.resolved[0].Document.Plan != "plan" {
			t.Fatal("not resolved with its plan")
		}
	}
	if prepared != 1 || st.gets != 1 {
		t.Errorf("prepared %d times, store read %d times; want once each", prepared, st.gets)
	}
}

func TestStoreFailureIs503(t *testing.T) {
	rs, st, _ := newResolver(Strict)
	st.fail = errors.New("disk on fire")
	res := run(t, rs, postJSON(`{"documentId":"`+string(SHA256(topUsers))+`"}`))
	if res.status != 503 || res.code != envelope.CodeDocumentStoreUnavailable {
		t.Errorf("got %d %s", res.status, res.code)
	}
}

func TestCaptureModeRunsAndRecords(t *testing.T) {
	rs, _, rec := newResolver(Capture)
	rs.FreeForm = func(d *Document) error {
		if strings.Contains(d.Text, "deep") {
			return envelope.Errorf(envelope.CodeLimitExceeded, "too deep")
		}
		return nil
	}
	r := postJSON(`{"query":"query Me { me { id } }","operationName":"Me"}`)
	r.Header.Set("apollographql-client-name", "web")
	res := run(t, rs, r)
	if !res.called || res.forward.Query != "query Me { me { id } }" || res.resolved[0].Trusted {
		t.Fatalf("capture mode: %+v", res)
	}
	if len(rec.records) != 1 || rec.records[0] != string(SHA256("query Me { me { id } }"))+" Me web" {
		t.Errorf("records %q", rec.records)
	}
	if res := run(t, rs, postJSON(`{"query":"{ deep }"}`)); res.called || res.code != envelope.CodeLimitExceeded {
		t.Errorf("free-form limit not applied: %+v", res)
	}
	// A client's text is never taken for a trusted document of the same hash.
	text := "query Sneaky { secrets }"
	run(t, rs, postJSON(`{"query":"`+text+`"}`))
	if res := run(t, rs, postJSON(`{"documentId":"`+string(SHA256(text))+`"}`)); res.called {
		t.Error("a captured free-form document was served as a trusted document")
	}
}

// A request refused after its document was read (by the authorizer, for a
// missing operation, a mutation over GET) is not recorded: an anonymous
// caller cannot fill the capture folder.
func TestCaptureRecordsOnlyWhatRuns(t *testing.T) {
	rs, _, rec := newResolver(Capture)
	rs.FreeForm = func(*Document) error { return nil }
	rs.Authorize = func(r *http.Request, _ Resolved) error {
		if r.Header.Get("Authorization") == "" {
			return envelope.Errorf(envelope.CodeUnauthenticated, "sign in")
		}
		return nil
	}
	refused := []*http.Request{
		postJSON(`{"query":"query Anon { a }"}`),
		httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape("mutation M { m }"), nil),
	}
	refused[1].Header.Set("Authorization", "Bearer t")
	for _, r := range refused {
		if res := run(t, rs, r); res.called {
			t.Fatalf("%s %s ran", r.Method, r.URL)
		}
	}
	if len(rec.records) != 0 {
		t.Errorf("refused requests recorded: %q", rec.records)
	}
	r := postJSON(`{"query":"query Me { me }"}`)
	r.Header.Set("Authorization", "Bearer t")
	if res := run(t, rs, r); !res.called || len(rec.records) != 1 {
		t.Errorf("an allowed request: ran %v, records %q", res.called, rec.records)
	}
}

func TestOffModeDoesNotRecord(t *testing.T) {
	rs, _, rec := newResolver(Off)
	if res := run(t, rs, postJSON(`{"query":"{ a }"}`)); !res.called {
		t.Fatalf("off mode refused: %+v", res)
	}
	if len(rec.records) != 0 {
		t.Errorf("off mode recorded %q", rec.records)
	}
}

func TestBatchResolvesEveryRequest(t *testing.T) {
	rs, _, _ := newResolver(Strict)
	var got []Resolved
	rs.Next = http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = ResolvedFrom(r.Context()) })
	body, _ := json.Marshal([]map[string]string{{"documentId": string(SHA256(topUsers))}, {"documentId": string(SHA256(payDoc))}})
	h := &envelope.Handler{Limits: envelope.Limits{MaxBatch: 5}, Next: rs}
	h.ServeHTTP(httptest.NewRecorder(), postJSON(string(body)))
	if len(got) != 2 || got[1].Operation.Name != "Pay" {
		t.Fatalf("got %+v", got)
	}
}

func TestFreeFormIsBoundedBeforeParsingAndCheckedOnce(t *testing.T) {
	rs, _, _ := newResolver(Off)
	parsed, checked := 0, 0
	rs.Prepare = func(*Document) error { parsed++; return nil }
	rs.FreeFormText = func(text string) error {
		if len(text) > 50 {
			return envelope.Errorf(envelope.CodeLimitExceeded, "too many tokens")
		}
		return nil
	}
	rs.FreeForm = func(*Document) error { checked++; return nil }
	huge := `{"query":"{ ` + strings.Repeat("a ", 100) + `}"}`
	if res := run(t, rs, postJSON(huge)); res.called || res.code != envelope.CodeLimitExceeded || parsed != 0 {
		t.Fatalf("oversized text: called=%v code=%s parsed=%d", res.called, res.code, parsed)
	}
	for range 3 {
		if res := run(t, rs, postJSON(`{"query":"{ a }"}`)); !res.called {
			t.Fatalf("refused: %+v", res)
		}
	}
	if parsed != 1 || checked != 1 {
		t.Errorf("a repeated free-form text was parsed %d and checked %d times; want once", parsed, checked)
	}
}

// pausingStore is a memStore whose Get, once armed, stops after reading an
// entry until the test lets it return it.
type pausingStore struct {
	*memStore
	read    chan struct{} // receives once Get has read the entry
	proceed chan struct{} // Get returns once this is closed
}

func (s *pausingStore) Get(ctx context.Context, id ID) (Entry, error) {
	e, err := s.memStore.Get(ctx, id)
	s.read <- struct{}{}
	<-s.proceed
	return e, err
}

func TestDocumentRemovedWhileReadIsNotCached(t *testing.T) {
	rs, mem, _ := newResolver(Strict)
	st := &pausingStore{memStore: mem, read: make(chan struct{}, 1), proceed: make(chan struct{})}
	rs.Store = st
	id := SHA256(topUsers)
	body := `{"documentId":"` + string(id) + `","variables":{"limit":1}}`
	done := make(chan result)
	go func() { done <- run(t, rs, postJSON(body)) }()

	// The request has read the document; a poll now finds its file gone
	// and tells the cache, as the store's OnChange does.
	<-st.read
	removed := make(chan struct{})
	go func() {
		mem.mu.Lock()
		delete(mem.m, id)
		mem.mu.Unlock()
		rs.Cache.Remove(id)
		close(removed)
	}()
	<-removed
	close(st.proceed)
	if res := <-done; !res.called {
		t.Fatalf("the request that read the document before its removal: %d %s", res.status, res.code)
	}

	if _, ok := rs.Cache.Get(id); ok {
		t.Fatal("a document removed while it was read stays cached")
	}
	go func() { <-st.read }()
	if res := run(t, rs, postJSON(body)); res.called || res.code != envelope.CodePersistedDocumentNotFound {
		t.Errorf("after the removal: called %v, %d %s; want PERSISTED_DOCUMENT_NOT_FOUND", res.called, res.status, res.code)
	}
}

func TestCacheAddIfCurrent(t *testing.T) {
	c := NewCache(4)
	a, b := &Document{Entry: Entry{ID: "x-a"}}, &Document{Entry: Entry{ID: "x-a"}}
	gen := c.Generation()
	if got := c.AddIfCurrent("x-a", a, gen); got != a {
		t.Fatal("AddIfCurrent with the current generation did not cache")
	}
	c.Remove("x-other")
	if got := c.AddIfCurrent("x-b", b, gen); got != b {
		t.Error("AddIfCurrent with an old generation did not return the document")
	}
	if _, ok := c.Get("x-b"); ok {
		t.Error("AddIfCurrent with an old generation cached the document")
	}
	if got := c.AddIfCurrent("x-a", b, gen); got != a {
		t.Error("AddIfCurrent with an old generation did not return the document cached since")
	}
}

func TestInvalidTrustedDocumentIsRefusedAndCheckedOnce(t *testing.T) {
	rs, st, _ := newResolver(Strict)
	refusal := envelope.Errorf(envelope.CodeGraphQLValidationFailed, "does not validate")
	validated, prepared := 0, 0
	rs.Validate = func(d *Document) error {
		validated++
		if d.ID == SHA256(payDoc) {
			return refusal
		}
		return nil
	}
	rs.Prepare = func(*Document) error { prepared++; return nil }
	for range 3 {
		res := run(t, rs, postJSON(`{"documentId":"`+string(SHA256(payDoc))+`","variables":{"id":"1"}}`))
		if res.called || res.status != 400 || res.code != envelope.CodeGraphQLValidationFailed {
			t.Fatalf("invalid trusted document: called %v, %d %s; want 400 GRAPHQL_VALIDATION_FAILED, never forwarded", res.called, res.status, res.code)
		}
	}
	if validated != 1 || prepared != 0 || st.gets != 1 {
		t.Errorf("validated %d, prepared %d, store read %d times; want one validation, no preparation, one read", validated, prepared, st.gets)
	}
	if res := run(t, rs, postJSON(`{"documentId":"`+string(SHA256(topUsers))+`","variables":{"limit":1}}`)); !res.called {
		t.Errorf("a valid trusted document: %d %s", res.status, res.code)
	}
	// A change to the document checks it again.
	rs.Cache.Remove(SHA256(payDoc))
	run(t, rs, postJSON(`{"documentId":"`+string(SHA256(payDoc))+`"}`))
	if validated != 3 {
		t.Errorf("validated %d times after the store reported a change, want 3", validated)
	}
}

// TestRefusalsAreToldOnlyToWhoMayRun: a caller the authorizer turns away
// learns nothing of a stored document that cannot run, as of an unknown one.
func TestRefusalsAreToldOnlyToWhoMayRun(t *testing.T) {
	rs, _, _ := newResolver(Strict)
	rs.Validate = func(*Document) error {
		return envelope.Errorf(envelope.CodeGraphQLValidationFailed, "does not validate")
	}
	rs.Authorize = func(*http.Request, Resolved) error { return envelope.Errorf(envelope.CodeUnauthenticated, "no token") }
	for _, id := range []string{string(SHA256(payDoc)), "sha256:" + strings.Repeat("ab", 32)} {
		if res := run(t, rs, postJSON(`{"documentId":"`+id+`"}`)); res.called || res.code != envelope.CodeUnauthenticated {
			t.Errorf("%s: called %v, %d %s; want UNAUTHENTICATED", id, res.called, res.status, res.code)
		}
	}
}
