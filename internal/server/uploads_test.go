package server

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/multipartbody"
)

const (
	attachDoc      = "mutation Attach($file: Upload!, $limit: Int!) { attach(file: $file) { pages(first: $limit) } }"
	attachInputDoc = "mutation AttachInput($input: AttachInput!) { attachInput(input: $input) }"
	uploadSchema   = `scalar Upload
input AttachInput { file: Upload!, note: String! }
type Attachment { pages(first: Int): [Int] }
type Query { ok: Boolean }
type Mutation { attach(file: Upload!): Attachment, attachInput(input: AttachInput!): Boolean }
`
)

// uploadPart is one part of a multipart body, sent or received; a text
// field when filename is empty.
type uploadPart struct {
	name, filename, contentType, body string
}

// multipartRecorder is an upstream that reads multipart bodies as a GraphQL
// server with upload support does, with mime/multipart.
type multipartRecorder struct {
	mu    sync.Mutex
	n     int
	parts []uploadPart
	err   error
}

func (u *multipartRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") == "application/json" {
		// The health check.
		_, _ = io.WriteString(w, `{"data":{"__typename":"Query"}}`)
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.n++
	u.parts, u.err = nil, nil
	parts, err := multipartbody.Read(r)
	if err != nil {
		u.err = err
		return
	}
	for _, p := range parts {
		u.parts = append(u.parts, uploadPart{p.Name, p.Filename, p.ContentType, p.Body})
	}
	w.Header().Set("Content-Type", "application/graphql-response+json")
	_, _ = io.WriteString(w, `{"data":{"attach":{"pages":[1]}}}`)
}

func (u *multipartRecorder) received() (int, []uploadPart, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.n, u.parts, u.err
}

// uploadGateway runs a strict gateway with attachDoc and attachInputDoc
// trusted, file uploads as enabled says, and mod applied to the config.
func uploadGateway(t *testing.T, enabled bool, mod func(*config.Config)) (*gateway, *multipartRecorder) {
	t.Helper()
	up := &multipartRecorder{}
	ts := httptest.NewServer(up)
	t.Cleanup(ts.Close)
	cfg, ca := testConfig(t, ts.URL)
	cfg.Documents.Mode = "strict"
	cfg.GraphQL.Uploads.Enabled = enabled
	cfg.GraphQL.Uploads.MaxBytes = 1 << 20
	cfg.GraphQL.Uploads.MaxFiles = 2
	cfg.GraphQL.Batching.Enabled = true
	if mod != nil {
		mod(cfg)
	}
	for _, text := range []string{attachDoc, attachInputDoc} {
		writeDoc(t, cfg.Documents.Dir, text)
	}
	return startGateway(t, cfg, ca), up
}

// withUploadSchema gives the gateway uploadSchema as the upstream's schema.
func withUploadSchema(t *testing.T) func(*config.Config) {
	return func(cfg *config.Config) {
		path := filepath.Join(t.TempDir(), "schema.graphql")
		if err := os.WriteFile(path, []byte(uploadSchema), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg.Documents.Schema = path
	}
}

func (g *gateway) postUpload(t *testing.T, preflight bool, parts ...uploadPart) *http.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{"Content-Disposition": {`form-data; name="` + p.name + `"`}}
		if p.filename != "" {
			h.Set("Content-Disposition", multipart.FileContentDisposition(p.name, p.filename))
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, p.body)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, g.url("/graphql"), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/graphql-response+json")
	if preflight {
		req.Header.Set("Apollo-Require-Preflight", "true")
	}
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func docID(text string) string { return string(documents.SHA256(text)) }

func TestTrustedUploadIsForwardedAsMultipart(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*config.Config)
		parts   []uploadPart
		wantOps string
	}{
		{"a single request", nil, []uploadPart{
			{name: "operations", body: `{"documentId":"` + docID(attachDoc) + `","variables":{"file":null,"limit":5}}`},
			{name: "map", body: `{"0":["variables.file"]}`},
			{name: "0", filename: "scan.pdf", contentType: "application/pdf", body: "%PDF\x00\xff"}},
			`{"query":` + jsonString(attachDoc) + `,"variables":{"file":null,"limit":5}}`},
		{"a batch", nil, []uploadPart{
			{name: "operations", body: `[{"documentId":"` + docID(attachDoc) + `","variables":{"file":null,"limit":1}},{"documentId":"` + docID(attachDoc) + `","variables":{"file":null,"limit":2}}]`},
			{name: "map", body: `{"a":["1.variables.file"],"b":["0.variables.file"]}`},
			{name: "a", filename: "one.txt", contentType: "text/plain", body: "one"},
			{name: "b", filename: "two.txt", contentType: "text/plain", body: "two"}},
			`[{"query":` + jsonString(attachDoc) + `,"variables":{"file":null,"limit":1}},{"query":` + jsonString(attachDoc) + `,"variables":{"file":null,"limit":2}}]`},
		{"a file in an input object, checked against the schema", withUploadSchema(t), []uploadPart{
			{name: "operations", body: `{"documentId":"` + docID(attachInputDoc) + `","variables":{"input":{"file":null,"note":"n"}}}`},
			{name: "map", body: `{"0":["variables.input.file"]}`},
			{name: "0", filename: "a.png", contentType: "image/png", body: "png"}},
			`{"query":` + jsonString(attachInputDoc) + `,"variables":{"input":{"file":null,"note":"n"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, up := uploadGateway(t, true, tt.mod)
			res := g.postUpload(t, true, tt.parts...)
			if body := readBody(t, res); res.StatusCode != 200 {
				t.Fatalf("got %d %s", res.StatusCode, body)
			}
			n, parts, err := up.received()
			if n != 1 || err != nil {
				t.Fatalf("upstream got %d requests, read error %v", n, err)
			}
			want := append([]uploadPart{{name: "operations", body: tt.wantOps}}, tt.parts[1:]...)
			if len(parts) != len(want) {
				t.Fatalf("upstream got parts %+v, want %+v", parts, want)
			}
			for i := range want {
				if parts[i] != want[i] {
					t.Errorf("part %d = %+v, want %+v", i, parts[i], want[i])
				}
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestUploadRefusals(t *testing.T) {
	file := uploadPart{name: "0", filename: "a.txt", contentType: "text/plain", body: "hello"}
	fileMap := uploadPart{name: "map", body: `{"0":["variables.file"]}`}
	ops := func(vars string) uploadPart {
		return uploadPart{name: "operations", body: `{"documentId":"` + docID(attachDoc) + `","variables":` + vars + `}`}
	}
	tests := []struct {
		name      string
		enabled   bool
		preflight bool
		mod       func(*config.Config)
		parts     []uploadPart
		status    int
		code      string
		msg       string
	}{
		{"uploads disabled", false, true, nil, []uploadPart{ops(`{"file":null,"limit":5}`), fileMap, file}, 415, "UNSUPPORTED_MEDIA_TYPE", "graphql.uploads"},
		{"no preflight header", true, false, nil, []uploadPart{ops(`{"file":null,"limit":5}`), fileMap, file}, 400, "CSRF_PREFLIGHT_REQUIRED", "Apollo-Require-Preflight"},
		{"a pagination variable over its cap", true, true, nil, []uploadPart{ops(`{"file":null,"limit":1000}`), fileMap, file}, 400, "LIMIT_EXCEEDED", "$limit"},
		{"a variable of the wrong type", true, true, nil, []uploadPart{ops(`{"file":null,"limit":"five"}`), fileMap, file}, 400, "VARIABLES_INVALID", "$limit"},
		{"an Upload! variable no file fills", true, true, nil, []uploadPart{ops(`{"file":null,"limit":5}`), {name: "map", body: `{}`}}, 400, "VARIABLES_INVALID", "$file"},
		{"a map path to a value that is not null", true, true, nil, []uploadPart{ops(`{"file":"x","limit":5}`), fileMap, file}, 400, "BAD_REQUEST", "not null"},
		{"too many files", true, true, nil, []uploadPart{ops(`{"file":null,"limit":5}`), {name: "map", body: `{"0":["variables.file"],"1":["variables.a"],"2":["variables.b"]}`}}, 400, "LIMIT_EXCEEDED", "more than 2 files"},
		{"an input object field the schema lacks, beside a file", true, true, withUploadSchema(t), []uploadPart{
			{name: "operations", body: `{"documentId":"` + docID(attachInputDoc) + `","variables":{"input":{"file":null,"note":"n","extra":1}}}`},
			{name: "map", body: `{"0":["variables.input.file"]}`}, file}, 400, "VARIABLES_INVALID", "extra"},
		{"a body over graphql.uploads.max_bytes", true, true, nil, []uploadPart{ops(`{"file":null,"limit":5}`), fileMap, {name: "0", filename: "big", contentType: "text/plain", body: strings.Repeat("x", 1<<20)}}, 413, "PAYLOAD_TOO_LARGE", "1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, up := uploadGateway(t, tt.enabled, tt.mod)
			res := g.postUpload(t, tt.preflight, tt.parts...)
			body := readBody(t, res)
			if res.StatusCode != tt.status || errorCode(t, body) != tt.code || !strings.Contains(body, tt.msg) {
				t.Errorf("got %d %s, want %d %s mentioning %q", res.StatusCode, body, tt.status, tt.code, tt.msg)
			}
			if n, _, _ := up.received(); n != 0 {
				t.Errorf("the upstream got %d requests", n)
			}
		})
	}
}
