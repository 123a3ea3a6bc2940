package server

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/documents"
)

const (
	topUsersDoc = "query TopUsers($limit: Int!) { topUsers(first: $limit) { id } }"
	payDoc      = "mutation Pay($id: ID!) { payInvoice(id: $id) { id } }"
)

// strictGateway runs a gateway in strict mode with topUsersDoc and payDoc
// registered in its folder store.
func strictGateway(t *testing.T) (*gateway, *recordingUpstream, string) {
	t.Helper()
	up, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Documents.Mode = "strict"
	cfg.Documents.PollInterval = 50 * time.Millisecond
	cfg.Admin.Token = "test-admin-token-0123456789abcdef"
	for _, text := range []string{topUsersDoc, payDoc} {
		writeDoc(t, cfg.Documents.Dir, text)
	}
	return startGateway(t, cfg, ca), up, cfg.Documents.Dir
}

func writeDoc(t testing.TB, dir, text string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, documents.SHA256(text).Hash()+".graphql"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Errors []struct{ Extensions struct{ Code string } }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Extensions.Code
}

func TestStrictModeEndToEnd(t *testing.T) {
	g, up, _ := strictGateway(t)
	id := string(documents.SHA256(topUsersDoc))
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"trusted document runs", `{"documentId":"` + id + `","variables":{"limit":5}}`, 200, ""},
		{"free-form query is refused", `{"query":"{ topUsers(first: 5) { id } }"}`, 400, "PERSISTED_DOCUMENT_REQUIRED"},
		{"unknown id", `{"documentId":"sha256:` + strings.Repeat("0", 64) + `"}`, 400, "PERSISTED_DOCUMENT_NOT_FOUND"},
		{"malformed id", `{"documentId":"sha256:zz"}`, 400, "INVALID_DOCUMENT_ID"},
		{"attacker's huge limit", `{"documentId":"` + id + `","variables":{"limit":2147483647}}`, 400, "LIMIT_EXCEEDED"},
		{"variable of the wrong type", `{"documentId":"` + id + `","variables":{"limit":"ten"}}`, 400, "VARIABLES_INVALID"},
		{"Relay doc_id and id naming two documents", `{"doc_id":"` + id + `","id":"sha256:` + strings.Repeat("0", 64) + `","variables":{"limit":5}}`, 400, "BAD_REQUEST"},
		{"APQ registration", `{"query":"{ x }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + documents.SHA256("{ x }").Hash() + `"}}}`, 400, "PERSISTED_QUERY_NOT_SUPPORTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			res := g.post(t, tt.body)
			body := readBody(t, res)
			if res.StatusCode != tt.status || errorCode(t, body) != tt.code {
				t.Fatalf("got %d %s", res.StatusCode, body)
			}
			if tt.code != "" && up.count() != before {
				t.Error("a refused request reached the upstream")
			}
		})
	}
	_, sent := up.last(t)
	var fwd map[string]any
	_ = json.Unmarshal([]byte(sent), &fwd)
	if fwd["query"] != topUsersDoc || fwd["documentId"] != nil {
		t.Errorf("upstream got %s; want the stored text and no id", sent)
	}
}

func TestAPQRegistrationStoresNothing(t *testing.T) {
	g, _, dir := strictGateway(t)
	text := "{ secrets }"
	res := g.post(t, `{"query":"`+text+`","extensions":{"persistedQuery":{"version":1,"sha256Hash":"`+documents.SHA256(text).Hash()+`"}}}`)
	readBody(t, res)
	res = g.post(t, `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"`+documents.SHA256(text).Hash()+`"}}}`)
	if body := readBody(t, res); errorCode(t, body) != "PERSISTED_DOCUMENT_NOT_FOUND" {
		t.Errorf("after an APQ registration attempt the hash resolves: %s", body)
	}
	if _, err := os.Stat(filepath.Join(dir, documents.SHA256(text).Hash()+".graphql")); err == nil {
		t.Error("the APQ registration was written to the store")
	}
}

func TestGETCacheURLEndToEnd(t *testing.T) {
	g, _, _ := strictGateway(t)
	hash := documents.SHA256(topUsersDoc).Hash()
	get := func(path, inm string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, g.url(path), nil)
		req.Header.Set("Accept", "application/graphql-response+json")
		req.Header.Set("Apollo-Require-Preflight", "true")
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		res, err := g.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := get("/graphql/"+hash+"/TopUsers?variables=%7B%22limit%22%3A2%7D", "")
	body := readBody(t, res)
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || etag == "" || res.Header.Get("Cache-Control") != "private, max-age=60" ||
		!strings.Contains(res.Header.Get("Vary"), "Authorization") || !strings.Contains(body, "topUsers") {
		t.Fatalf("cache URL: %d ETag %q CC %q Vary %q %s", res.StatusCode, etag, res.Header.Get("Cache-Control"), res.Header.Get("Vary"), body)
	}
	res = get("/graphql/"+hash+"/TopUsers?variables=%7B%22limit%22%3A2%7D", etag)
	if readBody(t, res); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", res.StatusCode)
	}
	res = get("/graphql?documentId=sha256:"+hash+"&variables=%7B%22limit%22%3A2%7D", "")
	if readBody(t, res); res.StatusCode != 200 || res.Header.Get("ETag") != etag {
		t.Errorf("documentId GET: %d ETag %q, want the same %q", res.StatusCode, res.Header.Get("ETag"), etag)
	}
	res = get("/graphql/"+strings.Repeat("1", 64)+"/Nope", "")
	if body := readBody(t, res); res.StatusCode != 404 || errorCode(t, body) != "PERSISTED_DOCUMENT_NOT_FOUND" {
		t.Errorf("unknown cache URL: %d %s", res.StatusCode, body)
	}
	res = get("/graphql?documentId="+string(documents.SHA256(payDoc))+"&variables=%7B%22id%22%3A%221%22%7D", "")
	if body := readBody(t, res); res.StatusCode != 405 || res.Header.Get("Allow") != "POST" || errorCode(t, body) != "MUTATION_NOT_ALLOWED_OVER_GET" {
		t.Errorf("mutation over GET: %d %s", res.StatusCode, body)
	}
}

func TestDocumentCopiedInIsServedWithoutRestart(t *testing.T) {
	g, _, dir := strictGateway(t)
	text := "query Fresh { fresh }"
	body := `{"documentId":"` + string(documents.SHA256(text)) + `"}`
	if res := g.post(t, body); errorCode(t, readBody(t, res)) != "PERSISTED_DOCUMENT_NOT_FOUND" {
		t.Fatal("document served before it was added")
	}
	writeDoc(t, dir, text)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := g.post(t, body)
		if readBody(t, res); res.StatusCode == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a document copied into the folder was never served")
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestTamperedDocumentIsNeverServed(t *testing.T) {
	g, up, dir := strictGateway(t)
	text := "query Honest { honest }"
	path := filepath.Join(dir, documents.SHA256(text).Hash()+".graphql")
	if err := os.WriteFile(path, []byte("mutation Evil { dropAll }"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The store's background check of the file a poll found: from then on
	// the store knows the id, and a request must still not run it.
	waitLogged(t, g, `its content is not what its name says","file":"`+path+`"`)
	res := g.post(t, `{"documentId":"`+string(documents.SHA256(text))+`"}`)
	body := readBody(t, res)
	if res.StatusCode != 400 || errorCode(t, body) != "PERSISTED_DOCUMENT_NOT_FOUND" || up.count() != 0 {
		t.Fatalf("tampered document: %d %s; want it treated as unknown", res.StatusCode, body)
	}
	if !strings.Contains(g.logs.String(), "corrupt") {
		t.Errorf("the tampered file was not reported:\n%s", g.logs)
	}
}

func TestRegistrationAPIEndToEnd(t *testing.T) {
	g, _, _ := strictGateway(t)
	text := "query Registered { registered }"
	manifest := `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"` + documents.SHA256(text).Hash() + `","name":"Registered","type":"query","body":"` + text + `"}]}`
	put := func(token, body string) int {
		req, _ := http.NewRequest(http.MethodPut, "http://"+g.admin+"/v1/documents", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, res)
		return res.StatusCode
	}
	if code := put("", manifest); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code := put("wrong", manifest); code != 403 {
		t.Errorf("wrong token: %d", code)
	}
	tampered := strings.Replace(manifest, `"body":"query`, `"body":"mutation`, 1)
	if code := put("test-admin-token-0123456789abcdef", tampered); code != 400 {
		t.Errorf("tampered manifest: %d", code)
	}
	deep := "query Deep { a { b { c { d { e { f { g { h { i { j { k { l { m { n { o { p { q } } } } } } } } } } } } } } } } }"
	deepManifest := `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"` + documents.SHA256(deep).Hash() + `","name":"Deep","type":"query","body":"` + deep + `"}]}`
	if code := put("test-admin-token-0123456789abcdef", deepManifest); code != 422 {
		t.Errorf("document breaking the depth rule: %d", code)
	}
	// Larger than a request body (graphql.max_body_bytes, 1 MiB here).
	big := "query Big { big } #" + strings.Repeat("a", 1<<20)
	bigManifest := `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"` + documents.SHA256(big).Hash() + `","name":"Big","type":"query","body":"` + big + `"}]}`
	if code := put("test-admin-token-0123456789abcdef", bigManifest); code != 422 {
		t.Errorf("document larger than a request body: %d", code)
	}
	for range 2 { // idempotent
		if code := put("test-admin-token-0123456789abcdef", manifest); code != 200 {
			t.Fatalf("valid manifest: %d", code)
		}
	}
	res := g.post(t, `{"documentId":"`+string(documents.SHA256(text))+`"}`)
	if body := readBody(t, res); res.StatusCode != 200 {
		t.Errorf("registered document: %d %s", res.StatusCode, body)
	}
}

func TestCaptureModeEndToEnd(t *testing.T) {
	up, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Documents.Mode = "capture"
	cfg.Documents.Capture.FlushInterval = 50 * time.Millisecond
	cfg.Documents.FreeForm.MaxDepth = 3
	cfg.Documents.Capture.MaxTextBytes = 40
	g := startGateway(t, cfg, ca)
	// Over documents.capture.max_text_bytes: runs, is not recorded.
	big := "query Big { a b c d e f g h i j k l m n o p }"
	if res := g.post(t, `{"query":"`+big+`"}`); res.StatusCode != 200 {
		t.Fatalf("capture mode refused a free-form query over max_text_bytes: %s", readBody(t, res))
	}
	// Clients need not name the only operation; the record names it.
	for _, req := range []string{`{"query":"query Me { me { id } }"}`, `{"query":"query Me { me { id } }","operationName":"Me"}`, `{"query":"query Me { me { id } }"}`} {
		res := g.post(t, req, "apollographql-client-name", "web")
		if body := readBody(t, res); res.StatusCode != 200 {
			t.Fatalf("capture mode refused a free-form query: %s", body)
		}
	}
	res := g.post(t, `{"query":"{ a { b { c { d } } } }"}`)
	if body := readBody(t, res); errorCode(t, body) != "LIMIT_EXCEEDED" {
		t.Errorf("free-form depth limit: %s", body)
	}
	if up.count() != 4 {
		t.Errorf("upstream got %d requests", up.count())
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(cfg.Documents.Capture.Dir, documents.SHA256("query Me { me { id } }").Hash()+".json"))
		if err == nil && strings.Contains(string(data), `"count": 3`) && strings.Contains(string(data), `"web"`) && strings.Contains(string(data), `"Me"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("capture record: %s %v", data, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(cfg.Documents.Capture.Dir, documents.SHA256(big).Hash()+".graphql")); err == nil {
		t.Error("a document over documents.capture.max_text_bytes was recorded")
	}
}

func TestRegistrationRefusesToRebindACustomID(t *testing.T) {
	g, up, dir := strictGateway(t)
	put := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, "http://"+g.admin+"/v1/documents", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer test-admin-token-0123456789abcdef")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, readBody(t, res)
	}
	const query, mutation = "query Evil { me { id } }", "mutation Evil { deleteAccount }"
	fresh := "query Fresh { fresh }"
	if code, body := put(`{"x-evil": "` + query + `"}`); code != 200 {
		t.Fatalf("first registration of x-evil: %d %s", code, body)
	}
	code, body := put(`{"x-evil": "` + mutation + `", "` + string(documents.SHA256(fresh)) + `": "` + fresh + `"}`)
	var answer struct {
		Error string
		Code  string
		IDs   []string
	}
	_ = json.Unmarshal([]byte(body), &answer)
	if code != http.StatusConflict || answer.Code != "DOCUMENT_ID_CONFLICT" || len(answer.IDs) != 1 || answer.IDs[0] != "x-evil" || !strings.Contains(answer.Error, "x-evil") {
		t.Errorf("re-binding x-evil: %d %s; want 409 DOCUMENT_ID_CONFLICT naming x-evil", code, body)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "x-evil.graphql")); string(data) != query {
		t.Errorf("x-evil.graphql holds %q after the refusal, want %q", data, query)
	}
	if _, err := os.Stat(filepath.Join(dir, documents.SHA256(fresh).Hash()+".graphql")); err == nil {
		t.Error("the refused batch stored its other document")
	}
	res := g.post(t, `{"documentId":"x-evil"}`)
	if body := readBody(t, res); res.StatusCode != 200 {
		t.Fatalf("x-evil after the refusal: %d %s", res.StatusCode, body)
	}
	if _, sent := up.last(t); !strings.Contains(sent, "query Evil") {
		t.Errorf("upstream got %s, want the text first registered", sent)
	}
	if code, body := put(`{"x-evil": "` + query + `"}`); code != 200 {
		t.Errorf("the same text again: %d %s, want 200", code, body)
	}
}

func TestFolderDocumentThatDoesNotValidateAgainstTheSchemaIsRefused(t *testing.T) {
	up, ts := newUpstream(t)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Documents.Mode = "strict"
	cfg.Documents.Schema = filepath.Join(t.TempDir(), "schema.graphql")
	writeFile(t, cfg.Documents.Schema, "type Query { topUsers(first: Int!): [User!]! }\ntype User { id: ID! }\n")
	// Copied into the folder by hand, so never checked by a registration.
	const unknownField = "query Emails { topUsers(first: 5) { id email } }"
	writeDoc(t, cfg.Documents.Dir, topUsersDoc)
	writeDoc(t, cfg.Documents.Dir, unknownField)
	g := startGateway(t, cfg, ca)

	for range 2 {
		res := g.post(t, `{"documentId":"`+string(documents.SHA256(unknownField))+`"}`)
		body := readBody(t, res)
		if res.StatusCode != 400 || errorCode(t, body) != "GRAPHQL_VALIDATION_FAILED" || !strings.Contains(body, string(documents.SHA256(unknownField))) {
			t.Fatalf("document selecting a field the schema lacks: %d %s; want 400 GRAPHQL_VALIDATION_FAILED naming it", res.StatusCode, body)
		}
		if strings.Contains(body, "email") {
			t.Errorf("the answer names schema details: %s", body)
		}
	}
	if up.count() != 0 {
		t.Errorf("the upstream got %d requests, want none", up.count())
	}
	logs := g.logs.String()
	if n := strings.Count(logs, `"msg":"trusted document refused"`); n != 1 || !strings.Contains(logs, `Cannot query field \"email\" on type \"User\"`) {
		t.Errorf("the refusal was logged %d times, want once with the validation error:\n%s", n, logs)
	}
	res := g.post(t, `{"documentId":"`+string(documents.SHA256(topUsersDoc))+`","variables":{"limit":5}}`)
	if body := readBody(t, res); res.StatusCode != 200 {
		t.Errorf("a document that validates: %d %s", res.StatusCode, body)
	}
}
