package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/multipartbody"
)

// receivedPart is a part of a multipart body as the upstream read it.
type receivedPart struct {
	name, filename, contentType, body string
}

// multipartUpstream records the multipart bodies it receives.
type multipartUpstream struct {
	mu            sync.Mutex
	n             int
	contentType   string
	contentLength string
	header        http.Header
	parts         []receivedPart
	err           error
}

func (u *multipartUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.n++
	u.contentType, u.contentLength, u.header, u.parts, u.err = r.Header.Get("Content-Type"), r.Header.Get("Content-Length"), r.Header.Clone(), nil, nil
	parts, err := multipartbody.Read(r)
	if err != nil {
		u.err = err
		return
	}
	for _, p := range parts {
		u.parts = append(u.parts, receivedPart{p.Name, p.Filename, p.ContentType, p.Body})
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"data":{"ok":true}}`)
}

// uploadGateway is the envelope stage with uploads on, a stand-in for the
// resolve and limits stages (mid), and the forward stage.
func uploadGateway(t *testing.T, mid func(*envelope.Batch)) (*httptest.Server, *multipartUpstream) {
	t.Helper()
	up := &multipartUpstream{}
	ts := httptest.NewServer(up)
	t.Cleanup(ts.Close)
	cfg := config.Default().Upstream
	cfg.URL = ts.URL
	p, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mid(envelope.BatchFrom(r.Context()))
		p.ServeHTTP(w, r)
	})
	gw := httptest.NewServer(&envelope.Handler{Limits: envelope.Limits{MaxUploadFiles: 2}, Next: next})
	t.Cleanup(gw.Close)
	return gw, up
}

func postUpload(t *testing.T, url string, header http.Header, parts ...receivedPart) *http.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.filename == "" {
			w, err = mw.CreateFormField(p.name)
		} else {
			h := map[string][]string{"Content-Disposition": {multipart.FileContentDisposition(p.name, p.filename)}, "Content-Type": {p.contentType}}
			w, err = mw.CreatePart(h)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, p.body)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url, &buf)
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

const storedText = "mutation Attach($file: Upload!, $note: String) { attach(file: $file, note: $note) }"

func TestUploadIsForwardedAsMultipart(t *testing.T) {
	gw, up := uploadGateway(t, func(b *envelope.Batch) {
		// What the resolve stage does: the id becomes the stored text.
		b.Requests[0].Query, b.Requests[0].DocumentID = storedText, ""
	})
	mapField := `{"0": ["variables.file"], "1": ["variables.more.0"]}`
	res := postUpload(t, gw.URL, http.Header{"X-Client": {"web"}},
		receivedPart{name: "operations", body: `{"documentId":"sha256:ab","variables":{"file":null,"note":"hi","more":[null]}}`},
		receivedPart{name: "map", body: mapField},
		receivedPart{name: "0", filename: "report.pdf", contentType: "application/pdf", body: "%PDF-1.7 \x00\xff binary"},
		receivedPart{name: "1", filename: "a \"quoted\" name.txt", contentType: "text/plain; charset=utf-8", body: "second"})
	if body, _ := io.ReadAll(res.Body); res.StatusCode != 200 || string(body) != `{"data":{"ok":true}}` {
		t.Fatalf("got %d %s", res.StatusCode, body)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.err != nil {
		t.Fatalf("the upstream could not read the body: %v", up.err)
	}
	mediaType, params, _ := mime.ParseMediaType(up.contentType)
	if mediaType != "multipart/form-data" || params["boundary"] == "" || strings.Contains(up.contentType, "test-boundary") {
		t.Errorf("upstream Content-Type %q", up.contentType)
	}
	if n, err := strconv.Atoi(up.contentLength); err != nil || n <= 0 {
		t.Errorf("upstream Content-Length %q", up.contentLength)
	}
	if up.header.Get("X-Client") != "web" {
		t.Errorf("client header not forwarded: %v", up.header)
	}
	want := []receivedPart{
		{name: "operations", body: `{"query":` + strconv.Quote(storedText) + `,"variables":{"file":null,"note":"hi","more":[null]}}`},
		{name: "map", body: mapField},
		{name: "0", filename: "report.pdf", contentType: "application/pdf", body: "%PDF-1.7 \x00\xff binary"},
		{name: "1", filename: "a \"quoted\" name.txt", contentType: "text/plain; charset=utf-8", body: "second"},
	}
	if len(up.parts) != len(want) {
		t.Fatalf("upstream got parts %+v", up.parts)
	}
	for i, w := range want {
		if up.parts[i] != w {
			t.Errorf("part %d = %+v, want %+v", i, up.parts[i], w)
		}
	}
	var ops map[string]any
	if err := json.Unmarshal([]byte(up.parts[0].body), &ops); err != nil {
		t.Errorf("operations are not JSON: %v", err)
	}
}

func TestUploadWhoseFileMovedIsRefused(t *testing.T) {
	gw, up := uploadGateway(t, func(b *envelope.Batch) {
		// A coercion that wrapped the object holding the file in a list.
		b.Requests[0].Variables = json.RawMessage(`{"input":[{"file":"(uploaded file)"}]}`)
	})
	res := postUpload(t, gw.URL, nil,
		receivedPart{name: "operations", body: `{"query":"mutation($input: [In!]!) { a(input: $input) }","variables":{"input":{"file":null}}}`},
		receivedPart{name: "map", body: `{"0":["variables.input.file"]}`},
		receivedPart{name: "0", filename: "a.txt", contentType: "text/plain", body: "x"})
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 400 || !strings.Contains(string(body), "BAD_REQUEST") || !strings.Contains(string(body), "variables.input.file") {
		t.Errorf("got %d %s", res.StatusCode, body)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.n != 0 {
		t.Errorf("the upstream got %d requests", up.n)
	}
}
