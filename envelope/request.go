package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
)

// Request is one GraphQL-over-HTTP request: the fields of the JSON body or of
// the URL parameters of a GET.
type Request struct {
	// Query is the document text; empty when the client sent only an id.
	Query string
	// OperationName selects an operation of the document; empty when absent.
	OperationName string
	// Variables is the JSON object of variables; nil when absent or null.
	Variables json.RawMessage
	// Extensions is the JSON object of extensions; nil when absent or null.
	Extensions json.RawMessage
	// DocumentID is the persisted document id; empty when absent.
	DocumentID string
	// DocID is a Relay persisted-query id, sent as doc_id (or id); empty
	// when absent.
	DocID string
}

// Batch is what one HTTP request asks for: a single Request, or several when
// batching is enabled and the body is a JSON array.
type Batch struct {
	// Requests holds at least one request.
	Requests []Request
	// Array reports that the body was a JSON array, so the answer is one too.
	Array bool
	// Method is GET or POST.
	Method string
	// CacheURL reports a GET of the form <path>/<id>/<operationName>.
	CacheURL bool

	one [1]Request // Requests' storage for a single request
	// Uploads holds the files of a multipart request; nil for any other.
	Uploads *Uploads
}

// single returns a batch of one request, in one allocation.
func single(req Request, method string) *Batch {
	b := &Batch{Method: method}
	b.one[0] = req
	b.Requests = b.one[:]
	return b
}

// Limits bounds what Parse accepts. The zero value refuses batches and file
// uploads and uses DefaultMaxBodyBytes.
type Limits struct {
	// MaxBodyBytes is the largest request body accepted; 0 means
	// DefaultMaxBodyBytes. In a file upload it bounds the operations and
	// map fields.
	MaxBodyBytes int64
	// MaxBatch is the largest JSON array accepted; 0 refuses batches.
	MaxBatch int
	// MaxUploadFiles is the most files a file upload (a multipart/form-data
	// request of the GraphQL multipart request spec) may carry; 0 refuses
	// file uploads.
	MaxUploadFiles int
	// MaxUploadBytes is the largest file upload body accepted, every part
	// included; 0 means DefaultMaxUploadBytes. The files are held in memory.
	MaxUploadBytes int64
}

// DefaultMaxBodyBytes is the body limit when Limits.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 1 << 20

// DefaultMaxUploadBytes is the file upload limit when Limits.MaxUploadBytes
// is zero.
const DefaultMaxUploadBytes = 10 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Parse reads r as a GraphQL-over-HTTP request: a POST with a JSON body
// (application/json or application/graphql-response+json), a GET with URL
// parameters, or, when Limits.MaxUploadFiles allows it, a file upload (see
// Uploads). Every failure is an *Error with the contract's code.
func Parse(r *http.Request, lim Limits) (*Batch, error) {
	switch r.Method {
	case http.MethodGet:
		req, err := parseQueryString(r.URL.Query())
		if err != nil {
			return nil, err
		}
		return single(req, http.MethodGet), nil
	case http.MethodPost:
		return parsePost(r, lim)
	default:
		return nil, &Error{
			Code:    CodeMethodNotAllowed,
			Message: fmt.Sprintf("method %s is not allowed; send GraphQL requests with POST (or GET for queries)", r.Method),
			Header:  http.Header{"Allow": {"GET, POST"}},
		}
	}
}

func parsePost(r *http.Request, lim Limits) (*Batch, error) {
	values := r.Header.Values("Content-Type")
	if len(values) != 1 {
		return nil, Errorf(CodeUnsupportedMediaType,
			"send exactly one Content-Type header: application/json")
	}
	// A compressed body would read as invalid JSON: say what is wrong.
	// (Compression also hides a body's size from the limit until it is
	// inflated.)
	if ce := r.Header.Values("Content-Encoding"); !IdentityEncoding(ce) {
		return nil, Errorf(CodeUnsupportedMediaType,
			"compressed request bodies are not accepted (Content-Encoding: %s); send the JSON as it is", truncate(strings.Join(ce, ", "), 64))
	}
	// The common case, application/json without parameters, needs no parse.
	if values[0] != MediaTypeJSON {
		mediaType, params, err := mime.ParseMediaType(values[0])
		if err == nil && mediaType == MediaTypeMultipart {
			return parseMultipart(r, params["boundary"], lim)
		}
		if err := checkContentType(values[0], mediaType, params, err); err != nil {
			return nil, err
		}
	}
	max := lim.maxBody()
	if r.ContentLength > max {
		return nil, tooLarge(max)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4*DefaultMaxBodyBytes {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	// One byte more than the limit tells "exactly at the limit" from "over".
	n, err := buf.ReadFrom(io.LimitReader(r.Body, max+1))
	switch {
	case err != nil && r.Context().Err() != nil:
		// The client reset its stream (HTTP/2 cancels the request's
		// context) while sending the body: nothing is wrong with what it
		// sent, it went away.
		return nil, &Error{Code: CodeClientClosedRequest, Message: "the client went away while sending the request body", Err: err}
	case err != nil:
		return nil, &Error{Code: CodeBadRequest, Message: "the request body could not be read", Err: err}
	}
	if n > max {
		return nil, tooLarge(max)
	}
	return parseBody(buf.Bytes(), lim.MaxBatch)
}

func (lim Limits) maxBody() int64 {
	if lim.MaxBodyBytes <= 0 {
		return DefaultMaxBodyBytes
	}
	return lim.MaxBodyBytes
}

func tooLarge(max int64) *Error {
	return Errorf(CodePayloadTooLarge, "the request body is larger than the limit of %d bytes", max)
}

// checkContentType accepts a JSON media type with an optional UTF-8 charset:
// value as mime.ParseMediaType read it.
func checkContentType(value, mediaType string, params map[string]string, err error) error {
	if err != nil || (mediaType != MediaTypeJSON && mediaType != MediaTypeGraphQLResponse) {
		return Errorf(CodeUnsupportedMediaType,
			"Content-Type %q is not supported; send the request body as application/json", truncate(value, 64))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return Errorf(CodeUnsupportedMediaType, "charset %q is not supported; send UTF-8", truncate(cs, 32))
	}
	return nil
}

func parseBody(body []byte, maxBatch int) (*Batch, error) {
	body = bytes.TrimLeft(body, " \t\r\n")
	if len(body) > 0 && body[0] == '[' {
		return parseArray(body, maxBatch)
	}
	req, err := decodeRequest(body, "")
	if err != nil {
		return nil, err
	}
	return single(req, http.MethodPost), nil
}

func parseArray(body []byte, maxBatch int) (*Batch, error) {
	if maxBatch <= 0 {
		return nil, Errorf(CodeBadRequest,
			"batched requests (a JSON array) are disabled; send one GraphQL request object per HTTP request")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, badJSON(err, "")
	}
	if len(items) == 0 || len(items) > maxBatch {
		return nil, Errorf(CodeBadRequest, "a batch must hold between 1 and %d requests; it holds %d", maxBatch, len(items))
	}
	b := &Batch{Requests: make([]Request, len(items)), Array: true, Method: http.MethodPost}
	for i, item := range items {
		req, err := decodeRequest(item, fmt.Sprintf("[%d].", i))
		if err != nil {
			return nil, err
		}
		b.Requests[i] = req
	}
	return b, nil
}

// wireRequest is the JSON form of a request. Strings decode straight into
// place (null leaves them nil); variables and extensions stay raw JSON and
// are forwarded as sent.
type wireRequest struct {
	Query         *string         `json:"query"`
	OperationName *string         `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
	DocumentID    *string         `json:"documentId"`
	DocID         *string         `json:"doc_id"`
	ID            *string         `json:"id"`
}

func decodeRequest(data []byte, prefix string) (Request, error) {
	if req, err, ok := decodeFastRequest(data, prefix); ok {
		return req, err
	}
	return decodeStandard(data, prefix)
}

// decodeFastRequest is decodeRequest through decodeFast; ok is false when
// decodeFast leaves the body to encoding/json.
func decodeFastRequest(data []byte, prefix string) (req Request, err error, ok bool) {
	w, ok := decodeFast(data)
	if !ok {
		return Request{}, nil, false
	}
	req = Request{Query: w.str[0], OperationName: w.str[1], DocumentID: w.str[2]}
	if req.DocID, err = relayID(w.str[3], w.str[4], prefix); err != nil {
		return req, err, true
	}
	req, err = finishRequest(req, w.raw[0], w.raw[1], prefix)
	return req, err, true
}

// decodeStandard is decodeRequest through encoding/json, for every body
// decodeFast leaves to it; its errors are the contract's.
func decodeStandard(data []byte, prefix string) (Request, error) {
	var w wireRequest
	if err := json.Unmarshal(data, &w); err != nil {
		return Request{}, badJSON(err, prefix)
	}
	req := Request{Query: deref(w.Query), OperationName: deref(w.OperationName), DocumentID: deref(w.DocumentID)}
	var err error
	if req.DocID, err = relayID(deref(w.DocID), deref(w.ID), prefix); err != nil {
		return req, err
	}
	return finishRequest(req, w.Variables, w.Extensions, prefix)
}

// relayID is the Relay document id of a request that may send it as doc_id,
// id or both. Two different values are refused, as every other pair of
// document ids is: running either one would let the request mean something
// other than what one of its readers (a log, a cache, the upstream) takes it
// for.
func relayID(docID, id, prefix string) (string, error) {
	switch {
	case docID == "":
		return id, nil
	case id != "" && id != docID:
		return "", Errorf(CodeBadRequest, "%sdoc_id and %sid name two different document ids; send one of them", prefix, prefix)
	}
	return docID, nil
}

// finishRequest checks the object fields and that the request names
// something to run.
func finishRequest(req Request, variables, extensions json.RawMessage, prefix string) (Request, error) {
	var err error
	if req.Variables, err = objectField(prefix+"variables", variables); err != nil {
		return req, err
	}
	if req.Extensions, err = objectField(prefix+"extensions", extensions); err != nil {
		return req, err
	}
	return req, req.check(prefix)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func badJSON(err error, prefix string) *Error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field != "" && typeErr.Type.Kind() == reflect.String {
			return &Error{Code: CodeBadRequest, Message: prefix + typeErr.Field + " must be a string", Err: err}
		}
		return &Error{Code: CodeBadRequest, Message: "the request body must be a JSON object with the fields query, operationName, variables, extensions or documentId", Err: err}
	}
	return &Error{Code: CodeBadRequest, Message: "the request body is not valid JSON", Err: err}
}

func (req *Request) check(prefix string) error {
	if req.Query == "" && req.DocumentID == "" && req.DocID == "" && req.Extensions == nil {
		return Errorf(CodeBadRequest, "the request has no %squery and no %sdocumentId; send one of them", prefix, prefix)
	}
	return nil
}

var null = []byte("null")

func objectField(name string, raw json.RawMessage) (json.RawMessage, error) {
	if raw == nil || bytes.Equal(raw, null) {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, Errorf(CodeBadRequest, "%s must be a JSON object", name)
	}
	return raw, nil
}

// parseQueryString reads the GET form: query, operationName, documentId as
// strings, variables and extensions as JSON-encoded objects.
func parseQueryString(q url.Values) (Request, error) {
	var req Request
	for _, name := range wireNames {
		if len(q[name]) > 1 {
			return req, Errorf(CodeBadRequest, "the URL parameter %s is given more than once", name)
		}
	}
	req.Query = q.Get("query")
	req.OperationName = q.Get("operationName")
	req.DocumentID = q.Get("documentId")
	var err error
	if req.DocID, err = relayID(q.Get("doc_id"), q.Get("id"), ""); err != nil {
		return req, err
	}
	if req.Variables, err = jsonParam("variables", q.Get("variables")); err != nil {
		return req, err
	}
	if req.Extensions, err = jsonParam("extensions", q.Get("extensions")); err != nil {
		return req, err
	}
	return req, req.check("")
}

// ParseCacheURL reads a GET cache URL, <prefix><id>/<operationName> (the
// operation name optional), with variables and extensions as URL
// parameters. It reports false when path is not below prefix.
func ParseCacheURL(r *http.Request, prefix string) (*Batch, bool, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || rest == "" {
		return nil, false, nil
	}
	if r.Method != http.MethodGet {
		return nil, true, &Error{
			Code:    CodeMethodNotAllowed,
			Message: fmt.Sprintf("%s%s only answers GET; send other requests to %s", prefix, "<id>/<operationName>", strings.TrimSuffix(prefix, "/")),
			Header:  http.Header{"Allow": {"GET"}},
		}
	}
	id, op, _ := strings.Cut(rest, "/")
	if strings.Contains(op, "/") || id == "" {
		return nil, true, Errorf(CodeBadRequest, "a cache URL has the form %s<id>/<operationName>", prefix)
	}
	q := r.URL.Query()
	req := Request{DocumentID: id, OperationName: op}
	var err error
	if req.Variables, err = jsonParam("variables", q.Get("variables")); err != nil {
		return nil, true, err
	}
	if req.Extensions, err = jsonParam("extensions", q.Get("extensions")); err != nil {
		return nil, true, err
	}
	b := single(req, http.MethodGet)
	b.CacheURL = true
	return b, true, nil
}

func jsonParam(name, value string) (json.RawMessage, error) {
	if value == "" || value == "null" {
		return nil, nil
	}
	raw := json.RawMessage(value)
	if !json.Valid(raw) {
		return nil, Errorf(CodeBadRequest, "the URL parameter %s is not valid JSON", name)
	}
	return objectField("the URL parameter "+name, bytes.TrimSpace(raw))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
