package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
)

// formPart is one part of a test upload: a text field when filename is
// empty, else a file.
type formPart struct {
	name, filename, contentType, body string
	header                            map[string]string
}

func field(name, body string) formPart { return formPart{name: name, body: body} }

func file(name, filename, contentType, body string) formPart {
	return formPart{name: name, filename: filename, contentType: contentType, body: body}
}

// multipartBody encodes parts with a fixed boundary.
func multipartBody(t testing.TB, parts ...formPart) string {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary("test-boundary"); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.filename != "" {
			h.Set("Content-Disposition", multipart.FileContentDisposition(p.name, p.filename))
		} else {
			h.Set("Content-Disposition", `form-data; name="`+p.name+`"`)
		}
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		for k, v := range p.header {
			h.Set(k, v)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write([]byte(p.body))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func uploadRequest(body string) *http.Request {
	return post(body, "multipart/form-data; boundary=test-boundary")
}

var uploadLimits = Limits{MaxUploadFiles: 3, MaxUploadBytes: 4096}

const singleOps = `{"documentId":"sha256:ab","variables":{"file":null,"n":1}}`

func TestParseUploadAccepts(t *testing.T) {
	tests := []struct {
		name      string
		parts     []formPart
		lim       Limits
		variables []string
		files     []Upload
	}{
		{"one file", []formPart{field("operations", singleOps), field("map", `{"0":["variables.file"]}`), file("0", "a.txt", "text/plain", "hello")}, uploadLimits,
			[]string{`{"file":"(uploaded file)","n":1}`},
			[]Upload{{Field: "0", Filename: "a.txt", ContentType: "text/plain", Data: []byte("hello"), Targets: []Target{{0, []string{"file"}}}}}},
		{"a list of files", []formPart{
			field("operations", `{"query":"mutation($files: [Upload!]!) { a(files: $files) }","variables":{"files":[null, null]}}`),
			field("map", `{"x":["variables.files.1"],"y":["variables.files.0"]}`),
			file("x", "b.bin", "application/octet-stream", "\x00\x01"), file("y", "c.png", "image/png", "png")}, uploadLimits,
			[]string{`{"files":["(uploaded file)", "(uploaded file)"]}`},
			[]Upload{{Field: "x", Filename: "b.bin", ContentType: "application/octet-stream", Data: []byte("\x00\x01"), Targets: []Target{{0, []string{"files", "1"}}}},
				{Field: "y", Filename: "c.png", ContentType: "image/png", Data: []byte("png"), Targets: []Target{{0, []string{"files", "0"}}}}}},
		{"one file in two places, inside an input object, spaced out", []formPart{
			field("operations", `{"query":"{a}","variables":{ "input" : { "a" : null , "b" :[ 1, null ] } }}`),
			field("map", `{"0":["variables.input.a","variables.input.b.1"]}`), file("0", "a.txt", "", "")}, uploadLimits,
			[]string{`{ "input" : { "a" : "(uploaded file)" , "b" :[ 1, "(uploaded file)" ] } }`},
			[]Upload{{Field: "0", Filename: "a.txt", Data: []byte{}, Targets: []Target{{0, []string{"input", "a"}}, {0, []string{"input", "b", "1"}}}}}},
		{"a batch", []formPart{
			field("operations", `[{"query":"{a}","variables":{"a":null}},{"documentId":"sha256:cd","variables":{"b":[null]}}]`),
			field("map", `{"0":["1.variables.b.0"],"1":["0.variables.a"]}`),
			file("0", "one", "text/plain", "1"), file("1", "two", "text/plain", "2")}, Limits{MaxBatch: 2, MaxUploadFiles: 2},
			[]string{`{"a":"(uploaded file)"}`, `{"b":["(uploaded file)"]}`},
			[]Upload{{Field: "0", Filename: "one", ContentType: "text/plain", Data: []byte("1"), Targets: []Target{{1, []string{"b", "0"}}}},
				{Field: "1", Filename: "two", ContentType: "text/plain", Data: []byte("2"), Targets: []Target{{0, []string{"a"}}}}}},
		{"a member named like an index", []formPart{field("operations", `{"query":"{a}","variables":{"0":{"1":null}}}`), field("map", `{"0":["variables.0.1"]}`), file("0", "f", "", "z")}, uploadLimits,
			[]string{`{"0":{"1":"(uploaded file)"}}`}, []Upload{{Field: "0", Filename: "f", Data: []byte("z"), Targets: []Target{{0, []string{"0", "1"}}}}}},
		{"directories are dropped from a file name", []formPart{field("operations", singleOps), field("map", `{"0":["variables.file"]}`), file("0", "../../etc/passwd", "", "x")}, uploadLimits,
			[]string{`{"file":"(uploaded file)","n":1}`}, []Upload{{Field: "0", Filename: "passwd", Data: []byte("x"), Targets: []Target{{0, []string{"file"}}}}}},
		{"an empty map", []formPart{field("operations", singleOps), field("map", `{}`)}, uploadLimits, []string{`{"file":null,"n":1}`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := multipartBody(t, tt.parts...)
			b, err := Parse(uploadRequest(body), tt.lim)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if b.Uploads == nil || len(b.Requests) != len(tt.variables) {
				t.Fatalf("got %d requests, uploads %v", len(b.Requests), b.Uploads)
			}
			for i, want := range tt.variables {
				if got := string(b.Requests[i].Variables); got != want {
					t.Errorf("request %d variables = %s, want %s", i, got, want)
				}
			}
			if string(b.Uploads.Map) != tt.parts[1].body {
				t.Errorf("map = %s, want it as sent", b.Uploads.Map)
			}
			if len(b.Uploads.Files) != len(tt.files) {
				t.Fatalf("got %d files, want %d", len(b.Uploads.Files), len(tt.files))
			}
			for i, want := range tt.files {
				got := b.Uploads.Files[i]
				if got.Field != want.Field || got.Filename != want.Filename || got.ContentType != want.ContentType || !bytes.Equal(got.Data, want.Data) || !sameTargets(got.Targets, want.Targets) {
					t.Errorf("file %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}
}

func sameTargets(a, b []Target) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Request != b[i].Request || strings.Join(a[i].Path, ".") != strings.Join(b[i].Path, ".") {
			return false
		}
	}
	return true
}

func TestParseUploadRefuses(t *testing.T) {
	ops, fileMap, f := field("operations", singleOps), field("map", `{"0":["variables.file"]}`), file("0", "a.txt", "text/plain", "hello")
	body := func(parts ...formPart) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request { return uploadRequest(multipartBody(t, parts...)) }
	}
	withMap := func(m string) func(t *testing.T) *http.Request { return body(ops, field("map", m), f) }
	withOps := func(o, m string) func(t *testing.T) *http.Request {
		return body(field("operations", o), field("map", m), f)
	}
	raw := func(contentType, s string) func(t *testing.T) *http.Request {
		return func(*testing.T) *http.Request { return post(s, contentType) }
	}
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		lim    Limits
		code   Code
		status int
		msg    string
	}{
		{"uploads while they are disabled", body(ops, fileMap, f), Limits{}, CodeUnsupportedMediaType, 415, "file uploads (multipart/form-data) are disabled"},
		{"no boundary", raw("multipart/form-data", "x"), uploadLimits, CodeBadRequest, 400, "no boundary"},
		{"body over the upload limit", body(ops, fileMap, file("0", "a", "", strings.Repeat("x", 5000))), uploadLimits, CodePayloadTooLarge, 413, "larger than the limit of 4096 bytes"},
		{"operations over the body limit", body(field("operations", `{"query":"`+strings.Repeat("a", 2000)+`"}`), fileMap, f), Limits{MaxBodyBytes: 1024, MaxUploadFiles: 1}, CodePayloadTooLarge, 413, "operations field is larger than the limit of 1024"},
		{"a body that is not multipart", raw("multipart/form-data; boundary=test-boundary", "just text"), uploadLimits, CodeBadRequest, 400, "not valid multipart/form-data"},
		{"a body cut short", raw("multipart/form-data; boundary=test-boundary", "--test-boundary\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}"), uploadLimits, CodeBadRequest, 400, "not valid multipart/form-data"},
		{"no parts", raw("multipart/form-data; boundary=test-boundary", "--test-boundary--\r\n"), uploadLimits, CodeBadRequest, 400, "no operations field"},
		{"map first", body(fileMap, ops, f), uploadLimits, CodeBadRequest, 400, `first part of a file upload must be the operations field, not "map"`},
		{"file before the map", body(ops, f, fileMap), uploadLimits, CodeBadRequest, 400, `second part of a file upload must be the map field, not "0"`},
		{"no map", body(ops), uploadLimits, CodeBadRequest, 400, "no map field"},
		{"operations that are not JSON", withOps(`{"query":`, `{}`), uploadLimits, CodeBadRequest, 400, "in the operations field: the request body is not valid JSON"},
		{"operations without a document", withOps(`{"variables":{}}`, `{}`), uploadLimits, CodeBadRequest, 400, "in the operations field: the request has no query"},
		{"a batch while batching is disabled", withOps(`[{"query":"{a}"}]`, `{}`), uploadLimits, CodeBadRequest, 400, "in the operations field: batched requests"},
		{"a map that is a list", withMap(`["variables.file"]`), uploadLimits, CodeBadRequest, 400, "map field must be a JSON object"},
		{"a map of strings", withMap(`{"0":"variables.file"}`), uploadLimits, CodeBadRequest, 400, "map field must be a JSON object"},
		{"a map that is not JSON", withMap(`{"0":["variables.file"]`), uploadLimits, CodeBadRequest, 400, "map field must be a JSON object"},
		{"a map with trailing data", withMap(`{"0":["variables.file"]} {}`), uploadLimits, CodeBadRequest, 400, "map field must be a JSON object"},
		{"a field mapped twice", withMap(`{"0":["variables.file"],"0":["variables.n"]}`), uploadLimits, CodeBadRequest, 400, `file field "0" more than once`},
		{"a file named operations", withMap(`{"operations":["variables.file"]}`), uploadLimits, CodeBadRequest, 400, "may not name the operations field"},
		{"a file field without paths", withMap(`{"0":[]}`), uploadLimits, CodeBadRequest, 400, `file field "0" no paths`},
		{"an empty file field name", withMap(`{"":["variables.file"]}`), uploadLimits, CodeBadRequest, 400, "empty or holds control characters"},
		{"more files than allowed", withOps(`{"query":"{a}","variables":{"a":null,"b":null,"c":null,"d":null}}`, `{"0":["variables.a"],"1":["variables.b"],"2":["variables.c"],"3":["variables.d"]}`), uploadLimits, CodeLimitExceeded, 400, "more than 3 files"},
		{"a path outside the variables", withMap(`{"0":["query"]}`), uploadLimits, CodeBadRequest, 400, `"query" must point inside the variables`},
		{"a path to the variables themselves", withMap(`{"0":["variables"]}`), uploadLimits, CodeBadRequest, 400, "must point inside the variables"},
		{"a batch path without an index", withOps(`[{"query":"{a}","variables":{"file":null}}]`, `{"0":["variables.file"]}`), Limits{MaxBatch: 2, MaxUploadFiles: 1}, CodeBadRequest, 400, "must start with the index of an operation"},
		{"a batch path with a padded index", withOps(`[{"query":"{a}","variables":{"file":null}}]`, `{"0":["00.variables.file"]}`), Limits{MaxBatch: 2, MaxUploadFiles: 1}, CodeBadRequest, 400, "must start with the index of an operation"},
		{"a batch path past the batch", withOps(`[{"query":"{a}","variables":{"file":null}}]`, `{"0":["1.variables.file"]}`), Limits{MaxBatch: 2, MaxUploadFiles: 1}, CodeBadRequest, 400, "names operation 1; the batch has 1"},
		{"a path to a missing variable", withMap(`{"0":["variables.other"]}`), uploadLimits, CodeBadRequest, 400, `"variables.other" leads to no value`},
		{"a path into operations without variables", withOps(`{"query":"{a}"}`, `{"0":["variables.file"]}`), uploadLimits, CodeBadRequest, 400, "leads to no value"},
		{"a path past the end of a list", withOps(`{"query":"{a}","variables":{"f":[null]}}`, `{"0":["variables.f.1"]}`), uploadLimits, CodeBadRequest, 400, "leads to no value"},
		{"a path into a scalar", withOps(`{"query":"{a}","variables":{"f":"x"}}`, `{"0":["variables.f.0"]}`), uploadLimits, CodeBadRequest, 400, "leads to no value"},
		{"a path below another file", withOps(`{"query":"{a}","variables":{"f":null}}`, `{"0":["variables.f"],"1":["variables.f.a"]}`), uploadLimits, CodeBadRequest, 400, `"variables.f.a" leads to no value`},
		{"a path to a value that is not null", withMap(`{"0":["variables.n"]}`), uploadLimits, CodeBadRequest, 400, `"variables.n" leads to a value that is not null`},
		{"a path listed twice", withOps(`{"query":"{a}","variables":{"f":null}}`, `{"0":["variables.f"],"1":["variables.f"]}`), uploadLimits, CodeBadRequest, 400, "lists the path \"variables.f\" twice"},
		{"a path through a repeated member", withOps(`{"query":"{a}","variables":{"f":null,"f":null}}`, `{"0":["variables.f"]}`), uploadLimits, CodeBadRequest, 400, "repeats a member name"},
		{"a path with an empty segment", withMap(`{"0":["variables..file"]}`), uploadLimits, CodeBadRequest, 400, "empty segment"},
		{"a path too deep", withMap(`{"0":["variables` + strings.Repeat(".a", 64) + `"]}`), uploadLimits, CodeBadRequest, 400, "more than 64 levels deep"},
		{"a mapped file that is not sent", body(field("operations", `{"query":"{a}","variables":{"file":null,"other":null}}`), field("map", `{"0":["variables.file"],"1":["variables.other"]}`), f), uploadLimits, CodeBadRequest, 400, `file field "1", but the request has no part`},
		{"a file the map does not list", body(ops, fileMap, f, file("1", "b.txt", "", "x")), uploadLimits, CodeBadRequest, 400, `part "1" is not in the map`},
		{"a text field after the map", body(ops, fileMap, f, field("extra", "x")), uploadLimits, CodeBadRequest, 400, `part "extra" is not in the map`},
		{"a file sent twice", body(ops, fileMap, f, f), uploadLimits, CodeBadRequest, 400, `part "0" is sent more than once`},
		{"a file part without a file name", body(ops, fileMap, field("0", "hello")), uploadLimits, CodeBadRequest, 400, "not a file"},
		{"a file name with a line break", body(ops, fileMap, formPart{name: "0", body: "x", header: map[string]string{"Content-Disposition": `form-data; name="0"; filename*=UTF-8''a%0D%0Ab`}}), uploadLimits, CodeBadRequest, 400, "control characters"},
		{"a transfer encoding", body(ops, fileMap, formPart{name: "0", filename: "a", body: "aGVsbG8=", header: map[string]string{"Content-Transfer-Encoding": "base64"}}), uploadLimits, CodeBadRequest, 400, `Content-Transfer-Encoding "base64"`},
		{"a quoted-printable operations field", body(formPart{name: "operations", body: singleOps, header: map[string]string{"Content-Transfer-Encoding": "quoted-printable"}}, fileMap, f), uploadLimits, CodeBadRequest, 400, "Content-Transfer-Encoding"},
		{"a malformed file Content-Type", body(ops, fileMap, file("0", "a", "text/", "x")), uploadLimits, CodeBadRequest, 400, "malformed Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.req(t), tt.lim)
			wantError(t, err, tt.code, tt.status, tt.msg)
		})
	}
}

func TestUploadContentLengthOverLimitIsRefusedBeforeReading(t *testing.T) {
	r := uploadRequest("")
	r.ContentLength = 1 << 20
	r.Body = errReader{}
	_, err := Parse(r, uploadLimits)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodePayloadTooLarge {
		t.Fatalf("got %v, want PAYLOAD_TOO_LARGE", err)
	}
}

func TestHandlerPassesUploadsOn(t *testing.T) {
	var got *Batch
	h := &Handler{Limits: uploadLimits, Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = BatchFrom(r.Context()) })}
	body := multipartBody(t, field("operations", singleOps), field("map", `{"0":["variables.file"]}`), file("0", "a.txt", "text/plain", "hello"))
	h.ServeHTTP(httptest.NewRecorder(), uploadRequest(body))
	if got == nil || got.Uploads == nil || len(got.Uploads.Files) != 1 {
		t.Fatalf("next got %+v", got)
	}
}

func TestNulledPutsNullWhereFilesGo(t *testing.T) {
	body := multipartBody(t,
		field("operations", `[{"query":"{a}","variables":{"a":null,"n":1}},{"query":"{b}","variables":{"list":[null,2],"one":null}}]`),
		field("map", `{"0":["0.variables.a","1.variables.list.0"],"1":["1.variables.one"]}`),
		file("0", "a", "", "x"), file("1", "b", "", "y"))
	b, err := Parse(uploadRequest(body), Limits{MaxBatch: 2, MaxUploadFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		request int
		vars    string
		want    string
	}{
		{"as parsed", 0, string(b.Requests[0].Variables), `{"a":null,"n":1}`},
		{"two places in one request", 1, string(b.Requests[1].Variables), `{"list":[null,2],"one":null}`},
		{"after coercion wrapped a file in a list", 1, `{"list":["(uploaded file)",2],"one":["(uploaded file)"]}`, `{"list":[null,2],"one":null}`},
		{"after coercion added a default", 0, `{"a":"(uploaded file)","n":1,"d":true}`, `{"a":null,"n":1,"d":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.Uploads.Nulled(tt.request, json.RawMessage(tt.vars))
			if err != nil || string(got) != tt.want {
				t.Errorf("Nulled = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
	_, err = b.Uploads.Nulled(1, json.RawMessage(`[{"list":[null,2],"one":null}]`))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeBadRequest || !strings.Contains(e.Message, "variables.list.0") {
		t.Errorf("a moved place: got %v, want BAD_REQUEST naming variables.list.0", err)
	}
}

func FuzzParseMultipart(f *testing.F) {
	seeds := [][]formPart{
		{field("operations", singleOps), field("map", `{"0":["variables.file"]}`), file("0", "a.txt", "text/plain", "hello")},
		{field("operations", `[{"query":"{a}","variables":{"a":[null,{"b":null}]}}]`), field("map", `{"0":["0.variables.a.0"],"1":["0.variables.a.1.b"]}`), file("0", "a", "", ""), file("1", "b", "", "")},
		{field("operations", `{"query":"{a}","variables":{"a":null,"a":null}}`), field("map", `{"0":["variables.a"]}`), file("0", "a", "", "")},
		{field("map", `{}`), field("operations", `{}`)},
	}
	for _, s := range seeds {
		f.Add([]byte(multipartBody(f, s...)))
	}
	f.Add([]byte("--test-boundary\r\nContent-Disposition: form-data; name=\"operations\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--test-boundary--"))
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := Limits{MaxBodyBytes: 2048, MaxBatch: 3, MaxUploadFiles: 3, MaxUploadBytes: 8192}
		b, err := Parse(uploadRequest(string(body)), lim)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("non-contract error %T: %v", err, err)
			}
			if _, ok := contract[e.Code]; !ok {
				t.Fatalf("unknown code %q", e.Code)
			}
			return
		}
		if b.Uploads == nil || len(b.Uploads.Files) > lim.MaxUploadFiles || len(b.Requests) == 0 || len(b.Requests) > lim.MaxBatch {
			t.Fatalf("accepted %d requests with uploads %+v", len(b.Requests), b.Uploads)
		}
		total := 0
		for _, u := range b.Uploads.Files {
			total += len(u.Data)
			if u.Filename == "" || len(u.Targets) == 0 {
				t.Fatalf("accepted file %+v", u)
			}
			for _, tg := range u.Targets {
				if tg.Request < 0 || tg.Request >= len(b.Requests) {
					t.Fatalf("target %+v outside the batch", tg)
				}
			}
		}
		if total > int(lim.MaxUploadBytes) {
			t.Fatalf("accepted %d bytes of files", total)
		}
		for i, req := range b.Requests {
			if req.Variables != nil && !json.Valid(req.Variables) {
				t.Fatalf("request %d variables are not JSON: %s", i, req.Variables)
			}
			vars, err := b.Uploads.Nulled(i, req.Variables)
			if err != nil {
				t.Fatalf("Nulled(%d) of the parsed variables: %v", i, err)
			}
			if vars != nil && !json.Valid(vars) {
				t.Fatalf("Nulled(%d) = %s, not JSON", i, vars)
			}
		}
	})
}
