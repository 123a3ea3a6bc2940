package envelope

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func post(body, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// encoded gives r the Content-Encoding header ce.
func encoded(r *http.Request, ce string) *http.Request {
	r.Header.Set("Content-Encoding", ce)
	return r
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		req  *http.Request
		lim  Limits
		want Request
	}{
		{"POST application/json with every field", post(`{"query":"query Q($id: ID!) { a(id: $id) }","operationName":"Q","variables":{"id":"1"},"extensions":{"x":1},"documentId":"sha256:ab"}`, "application/json"), Limits{},
			Request{Query: "query Q($id: ID!) { a(id: $id) }", OperationName: "Q", Variables: []byte(`{"id":"1"}`), Extensions: []byte(`{"x":1}`), DocumentID: "sha256:ab"}},
		{"POST application/graphql-response+json", post(`{"query":"{a}"}`, "application/graphql-response+json"), Limits{}, Request{Query: "{a}"}},
		{"charset utf-8 in any case is accepted", post(`{"query":"{a}"}`, "Application/JSON; charset=UTF-8"), Limits{}, Request{Query: "{a}"}},
		{"null fields are absent", post(`{"query":"{a}","operationName":null,"variables":null,"extensions":null}`, "application/json"), Limits{}, Request{Query: "{a}"}},
		{"documentId alone is enough", post(`{"documentId":"sha256:00"}`, "application/json"), Limits{}, Request{DocumentID: "sha256:00"}},
		{"unknown fields are ignored", post(`{"query":"{a}","client":"web"}`, "application/json"), Limits{}, Request{Query: "{a}"}},
		{"Relay doc_id alone is enough", post(`{"doc_id":"1"}`, "application/json"), Limits{}, Request{DocID: "1"}},
		{"Relay id stands for doc_id", post(`{"id":"2"}`, "application/json"), Limits{}, Request{DocID: "2"}},
		{"GET with Relay id", httptest.NewRequest(http.MethodGet, "/graphql?id=3", nil), Limits{}, Request{DocID: "3"}},
		{"Relay doc_id and the same id", post(`{"doc_id":"4","id":"4"}`, "application/json"), Limits{}, Request{DocID: "4"}},
		{"body exactly at the limit", post(`{"query":"{a}"}`, "application/json"), Limits{MaxBodyBytes: int64(len(`{"query":"{a}"}`))}, Request{Query: "{a}"}},
		{"GET with URL parameters", httptest.NewRequest(http.MethodGet, "/graphql?"+url.Values{"query": {"{a}"}, "operationName": {"Q"}, "variables": {`{"n":1}`}, "extensions": {`{"e":true}`}}.Encode(), nil), Limits{},
			Request{Query: "{a}", OperationName: "Q", Variables: []byte(`{"n":1}`), Extensions: []byte(`{"e":true}`)}},
		{"GET with documentId", httptest.NewRequest(http.MethodGet, "/graphql?documentId=sha256:ff", nil), Limits{}, Request{DocumentID: "sha256:ff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse(tt.req, tt.lim)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(b.Requests) != 1 || b.Array {
				t.Fatalf("got %d requests, array=%v", len(b.Requests), b.Array)
			}
			got := b.Requests[0]
			if got.Query != tt.want.Query || got.OperationName != tt.want.OperationName || got.DocumentID != tt.want.DocumentID ||
				got.DocID != tt.want.DocID || string(got.Variables) != string(tt.want.Variables) || string(got.Extensions) != string(tt.want.Extensions) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	long := `{"query":"` + strings.Repeat("a", 100) + `"}`
	tests := []struct {
		name   string
		req    *http.Request
		lim    Limits
		code   Code
		status int
		msg    string
	}{
		{"body that is not JSON", post(`{"query":`, "application/json"), Limits{}, CodeBadRequest, 400, "not valid JSON"},
		{"body that is a JSON string", post(`"hello"`, "application/json"), Limits{}, CodeBadRequest, 400, "must be a JSON object"},
		{"query that is a number", post(`{"query":1}`, "application/json"), Limits{}, CodeBadRequest, 400, "query must be a string"},
		{"operationName that is an object", post(`{"query":"{a}","operationName":{}}`, "application/json"), Limits{}, CodeBadRequest, 400, "operationName must be a string"},
		{"variables that are a string", post(`{"query":"{a}","variables":"{}"}`, "application/json"), Limits{}, CodeBadRequest, 400, "variables must be a JSON object"},
		{"extensions that are an array", post(`{"query":"{a}","extensions":[]}`, "application/json"), Limits{}, CodeBadRequest, 400, "extensions must be a JSON object"},
		{"neither query nor documentId", post(`{"operationName":"Q"}`, "application/json"), Limits{}, CodeBadRequest, 400, "no query and no documentId"},
		{"batch while batching is disabled", post(`[{"query":"{a}"}]`, "application/json"), Limits{}, CodeBadRequest, 400, "batched requests"},
		{"batch larger than allowed", post(`[{"query":"{a}"},{"query":"{b}"},{"query":"{c}"}]`, "application/json"), Limits{MaxBatch: 2}, CodeBadRequest, 400, "between 1 and 2"},
		{"empty batch", post(`[]`, "application/json"), Limits{MaxBatch: 2}, CodeBadRequest, 400, "between 1 and 2"},
		{"bad element in a batch names its index", post(`[{"query":"{a}"},{"query":5}]`, "application/json"), Limits{MaxBatch: 2}, CodeBadRequest, 400, "[1].query"},
		{"text/plain body", post(`{"query":"{a}"}`, "text/plain"), Limits{}, CodeUnsupportedMediaType, 415, "application/json"},
		{"form body", post(`query=%7Ba%7D`, "application/x-www-form-urlencoded"), Limits{}, CodeUnsupportedMediaType, 415, "application/json"},
		{"missing Content-Type", post(`{"query":"{a}"}`, ""), Limits{}, CodeUnsupportedMediaType, 415, "Content-Type"},
		{"charset other than UTF-8", post(`{"query":"{a}"}`, "application/json; charset=latin1"), Limits{}, CodeUnsupportedMediaType, 415, "latin1"},
		{"compressed body", encoded(post("\x1f\x8b\x08", "application/json"), "gzip"), Limits{}, CodeUnsupportedMediaType, 415, "Content-Encoding: gzip"},
		{"compressed upload", encoded(post("--b\r\n", "multipart/form-data; boundary=b"), "br"), Limits{}, CodeUnsupportedMediaType, 415, "Content-Encoding: br"},
		{"body over the limit", post(long, "application/json"), Limits{MaxBodyBytes: 50}, CodePayloadTooLarge, 413, "50 bytes"},
		{"PUT", httptest.NewRequest(http.MethodPut, "/graphql", nil), Limits{}, CodeMethodNotAllowed, 405, "POST"},
		{"GET without query", httptest.NewRequest(http.MethodGet, "/graphql", nil), Limits{}, CodeBadRequest, 400, "no query"},
		{"GET with variables that are not JSON", httptest.NewRequest(http.MethodGet, "/graphql?query=%7Ba%7D&variables=%7Bx", nil), Limits{}, CodeBadRequest, 400, "variables is not valid JSON"},
		{"GET with variables that are an array", httptest.NewRequest(http.MethodGet, "/graphql?query=%7Ba%7D&variables=%5B%5D", nil), Limits{}, CodeBadRequest, 400, "must be a JSON object"},
		{"Relay doc_id and a different id", post(`{"doc_id":"1","id":"2"}`, "application/json"), Limits{}, CodeBadRequest, 400, "doc_id and id name two different document ids"},
		{"Relay doc_id and a different id, decoded by encoding/json", post(`{"doc_id":"1","id":"\u0032"}`, "application/json"), Limits{}, CodeBadRequest, 400, "two different document ids"},
		{"Relay doc_id and a different id in a batch", post(`[{"doc_id":"1"},{"doc_id":"1","id":"2"}]`, "application/json"), Limits{MaxBatch: 2}, CodeBadRequest, 400, "[1].doc_id and [1].id"},
		{"GET with doc_id and a different id", httptest.NewRequest(http.MethodGet, "/graphql?doc_id=1&id=2", nil), Limits{}, CodeBadRequest, 400, "two different document ids"},
		{"GET with a repeated parameter", httptest.NewRequest(http.MethodGet, "/graphql?query=%7Ba%7D&query=%7Bb%7D", nil), Limits{}, CodeBadRequest, 400, "more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.req, tt.lim)
			wantError(t, err, tt.code, tt.status, tt.msg)
		})
	}
}

// wantError fails unless err is the contract's *Error with code, status
// and a message holding msg.
func wantError(t *testing.T, err error, code Code, status int, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse error = %v, want *Error", err)
	}
	if e.Code != code || e.StatusFor(MediaTypeGraphQLResponse) != status || !strings.Contains(e.Message, msg) {
		t.Errorf("got %s %d %q, want %s %d containing %q", e.Code, e.StatusFor(MediaTypeGraphQLResponse), e.Message, code, status, msg)
	}
}

func TestParseBatchWhenEnabled(t *testing.T) {
	b, err := Parse(post(`[{"query":"{a}"},{"documentId":"sha256:1","variables":{"v":2}}]`, "application/json"), Limits{MaxBatch: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Array || len(b.Requests) != 2 || b.Requests[0].Query != "{a}" || b.Requests[1].DocumentID != "sha256:1" || string(b.Requests[1].Variables) != `{"v":2}` {
		t.Errorf("got %+v", b)
	}
}

func TestContentLengthOverLimitIsRefusedBeforeReading(t *testing.T) {
	r := post(`{"query":"{a}"}`, "application/json")
	r.ContentLength = 10 << 20
	r.Body = errReader{}
	_, err := Parse(r, Limits{})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodePayloadTooLarge {
		t.Fatalf("got %v, want PAYLOAD_TOO_LARGE", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("body must not be read") }
func (errReader) Close() error             { return nil }

func FuzzParse(f *testing.F) {
	for _, seed := range []string{`{"query":"{a}"}`, `[{"query":"{a}"}]`, `{"variables":{"a":[1,2]},"documentId":"x"}`, `{"query":null}`, `{"doc_id":"x"}`, `{"Id":"x"}`, `[`, `"x"`, ``, `{"extensions":{"persistedQuery":{"sha256Hash":"a"}}}`} {
		f.Add([]byte(seed), "application/json", "")
	}
	f.Add([]byte(nil), "", "query=%7Ba%7D&variables=%7B%7D")
	f.Add([]byte(nil), "", "id=x")
	f.Fuzz(func(t *testing.T, body []byte, contentType, rawQuery string) {
		sameAsStandard(t, body)
		r := post(string(body), contentType)
		if rawQuery != "" {
			r = httptest.NewRequest(http.MethodGet, "/graphql", nil)
			r.URL.RawQuery = rawQuery
		}
		b, err := Parse(r, Limits{MaxBodyBytes: 4096, MaxBatch: 3})
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
		if len(b.Requests) == 0 || len(b.Requests) > 3 {
			t.Fatalf("accepted %d requests", len(b.Requests))
		}
		for _, req := range b.Requests {
			if req.Query == "" && req.DocumentID == "" && req.DocID == "" && req.Extensions == nil {
				t.Fatalf("accepted a request with nothing to run: %+v", req)
			}
		}
	})
}

// sameAsStandard fails when the fast decoder accepts body and reads it
// otherwise than encoding/json does.
func sameAsStandard(t *testing.T, body []byte) {
	t.Helper()
	fast, ferr, ok := decodeFastRequest(body, "")
	if !ok {
		return
	}
	std, serr := decodeStandard(body, "")
	if fmt.Sprint(ferr) != fmt.Sprint(serr) {
		t.Fatalf("body %q: fast decoder error %v, encoding/json %v", body, ferr, serr)
	}
	if fast.Query != std.Query || fast.OperationName != std.OperationName || fast.DocumentID != std.DocumentID || fast.DocID != std.DocID ||
		!bytes.Equal(fast.Variables, std.Variables) || !bytes.Equal(fast.Extensions, std.Extensions) {
		t.Fatalf("body %q: fast decoder read %+v, encoding/json %+v", body, fast, std)
	}
}

func TestFastDecoderAgreesWithEncodingJSON(t *testing.T) {
	bodies := []string{
		`{"query":"{a}"}`,
		` { "query" : "{a}" , "operationName" : null , "variables" : { "a" : [1, {"b": "}"}] } } `,
		`{"documentId":"sha256:00","variables":{"s":"quote \" and brace }"},"extensions":{"e":[]}}`,
		`{"unknown":{"deep":[{"x":"]"}]},"query":"q","n":-1.5e3,"t":true,"f":false,"z":null}`,
		`{"Query":"{a}"}`,
		`{"QUERY":"{a}","query":"{b}"}`,
		`{"query":"{a}","query":"{b}"}`,
		`{"qu\u0065ry":"{a}"}`,
		`{"query":"caf\u00e9"}`,
		"{\"query\":\"\xff\"}",
		`{"query":1}`,
		`{"query":{"a":1}}`,
		`{"variables":[1]}`,
		`{"variables":"x","query":"q"}`,
		`{"doc_id":"1","id":"2"}`,
		`{"id":"2"}`,
		`{"doc_id":"","id":"2"}`,
		`{}`,
		`{"query":"q"} x`,
		`[{"query":"q"}]`,
		`"just a string"`,
		`{"query":"q",}`,
	}
	for _, body := range bodies {
		sameAsStandard(t, []byte(body))
	}
	// The common request takes the fast path.
	for _, body := range bodies[:4] {
		if _, _, ok := decodeFastRequest([]byte(body), ""); !ok {
			t.Errorf("%s took the slow path", body)
		}
	}
}

func TestParseAcceptsTheIdentityEncoding(t *testing.T) {
	if _, err := Parse(encoded(post(`{"query":"{a}"}`, "application/json"), "identity"), Limits{}); err != nil {
		t.Errorf("Content-Encoding: identity refused: %v", err)
	}
}

// failingBody fails every read, as a body whose stream the client reset.
type failingBody struct{}

func (failingBody) Read([]byte) (int, error) { return 0, errors.New("stream reset") }

// A body that breaks off because the client went away (HTTP/2 cancels the
// request's context on a reset) is the client's leaving, not a bad request;
// one that breaks off otherwise stays a bad request.
func TestBodyReadFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel bool
		code   Code
		status int
	}{
		{"the client went away", true, CodeClientClosedRequest, StatusClientClosedRequest},
		{"the body broke off", false, CodeBadRequest, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := httptest.NewRequest(http.MethodPost, "/graphql", io.NopCloser(failingBody{})).WithContext(ctx)
			r.Header.Set("Content-Type", "application/json")
			if tc.cancel {
				cancel()
			}
			_, err := Parse(r, Limits{})
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || e.StatusFor(MediaTypeGraphQLResponse) != tc.status {
				t.Errorf("Parse = %v; want %s", err, tc.code)
			}
		})
	}
}
