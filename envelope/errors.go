package envelope

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Code is a stable, machine-readable error code, sent to clients as
// extensions.code. Codes never change meaning; clients may branch on them.
type Code string

// The error codes of the gateway's error contract.
const (
	CodeBadRequest                Code = "BAD_REQUEST"
	CodeUnsupportedMediaType      Code = "UNSUPPORTED_MEDIA_TYPE"
	CodeNotAcceptable             Code = "NOT_ACCEPTABLE"
	CodeMethodNotAllowed          Code = "METHOD_NOT_ALLOWED"
	CodeNotFound                  Code = "NOT_FOUND"
	CodeCSRFPreflightRequired     Code = "CSRF_PREFLIGHT_REQUIRED"
	CodeUnauthenticated           Code = "UNAUTHENTICATED"
	CodePersistedDocumentRequired Code = "PERSISTED_DOCUMENT_REQUIRED"
	CodePersistedDocumentNotFound Code = "PERSISTED_DOCUMENT_NOT_FOUND"
	CodeInvalidDocumentID         Code = "INVALID_DOCUMENT_ID"
	CodeOperationNotFound         Code = "OPERATION_NOT_FOUND"
	CodeMutationNotAllowedOverGET Code = "MUTATION_NOT_ALLOWED_OVER_GET"
	CodeVariablesInvalid          Code = "VARIABLES_INVALID"
	CodeLimitExceeded             Code = "LIMIT_EXCEEDED"
	CodePayloadTooLarge           Code = "PAYLOAD_TOO_LARGE"
	CodeRateLimited               Code = "RATE_LIMITED"
	CodeUpstreamUnavailable       Code = "UPSTREAM_UNAVAILABLE"
	CodeInternal                  Code = "INTERNAL_SERVER_ERROR"
	CodeGraphQLParseFailed        Code = "GRAPHQL_PARSE_FAILED"
	CodeGraphQLValidationFailed   Code = "GRAPHQL_VALIDATION_FAILED"
	CodePersistedQueryUnsupported Code = "PERSISTED_QUERY_NOT_SUPPORTED"
	CodeDocumentStoreUnavailable  Code = "DOCUMENT_STORE_UNAVAILABLE"
	CodeAuthUnavailable           Code = "AUTH_UNAVAILABLE"
	// CodeDocumentIDConflict refuses a registration (admin API) that would
	// re-bind a registered custom or Relay id to another text.
	CodeDocumentIDConflict Code = "DOCUMENT_ID_CONFLICT"
	// CodeClientClosedRequest is the outcome, in the access log and the
	// metrics only, of a request whose client went away before its answer
	// was complete. No client ever receives it.
	CodeClientClosedRequest Code = "CLIENT_CLOSED_REQUEST"
)

// StatusClientClosedRequest is the status logged with
// CodeClientClosedRequest: nginx's 499, which operators' dashboards already
// tell apart from the gateway's own failures.
const StatusClientClosedRequest = 499

// contract maps each code to its status for clients that accept
// application/graphql-response+json, and says whether the GraphQL-over-HTTP
// specification counts it as a GraphQL request error (answered with 200 to
// legacy clients that accept only application/json).
var contract = map[Code]struct {
	status       int
	requestError bool
}{
	CodeBadRequest:                {http.StatusBadRequest, false},
	CodeUnsupportedMediaType:      {http.StatusUnsupportedMediaType, false},
	CodeNotAcceptable:             {http.StatusNotAcceptable, false},
	CodeMethodNotAllowed:          {http.StatusMethodNotAllowed, false},
	CodeNotFound:                  {http.StatusNotFound, false},
	CodeCSRFPreflightRequired:     {http.StatusBadRequest, false},
	CodeUnauthenticated:           {http.StatusUnauthorized, false},
	CodePersistedDocumentRequired: {http.StatusBadRequest, true},
	CodePersistedDocumentNotFound: {http.StatusBadRequest, true},
	CodeInvalidDocumentID:         {http.StatusBadRequest, true},
	CodeOperationNotFound:         {http.StatusBadRequest, true},
	CodeMutationNotAllowedOverGET: {http.StatusMethodNotAllowed, false},
	CodeVariablesInvalid:          {http.StatusBadRequest, true},
	CodeLimitExceeded:             {http.StatusBadRequest, true},
	CodePayloadTooLarge:           {http.StatusRequestEntityTooLarge, false},
	CodeRateLimited:               {http.StatusTooManyRequests, false},
	CodeUpstreamUnavailable:       {http.StatusBadGateway, false},
	CodeInternal:                  {http.StatusInternalServerError, false},
	CodeGraphQLParseFailed:        {http.StatusBadRequest, true},
	CodeGraphQLValidationFailed:   {http.StatusBadRequest, true},
	CodePersistedQueryUnsupported: {http.StatusBadRequest, true},
	CodeDocumentStoreUnavailable:  {http.StatusServiceUnavailable, false},
	CodeAuthUnavailable:           {http.StatusServiceUnavailable, false},
	CodeDocumentIDConflict:        {http.StatusConflict, false},
	CodeClientClosedRequest:       {StatusClientClosedRequest, false},
}

// Error is a refusal by the gateway. Its Message is shown to the client, so it
// says what was wrong and how to fix it, and never carries secrets or internal
// addresses; Err is the cause, kept for logs only.
type Error struct {
	// Code is the stable code sent as extensions.code.
	Code Code
	// Message is the client-facing explanation.
	Message string
	// Status overrides the code's contract status when non-zero (for example
	// 504 for an upstream timeout, 404 for an unknown id on a GET cache URL).
	Status int
	// Header holds extra response headers (Allow, Retry-After,
	// WWW-Authenticate).
	Header http.Header
	// Err is the underlying cause, never sent to the client.
	Err error
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error returns the code and message.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// StatusFor returns the HTTP status of e for a response of the given media
// type: the contract status, except that a GraphQL request error sent as
// legacy application/json is answered with 200 as the GraphQL-over-HTTP
// specification requires.
func (e *Error) StatusFor(mediaType string) int {
	c, ok := contract[e.Code]
	if mediaType == MediaTypeJSON && ok && c.requestError {
		return http.StatusOK
	}
	if e.Status != 0 {
		return e.Status
	}
	if !ok {
		return http.StatusInternalServerError
	}
	return c.status
}

type errorBody struct {
	Errors [1]errorEntry `json:"errors"`
}

type errorEntry struct {
	Message    string         `json:"message"`
	Extensions errorExtension `json:"extensions"`
}

type errorExtension struct {
	Code Code `json:"code"`
}

// RecordError records e as the outcome of r for the access log and the
// metrics, with its status, without writing a response: for a request whose
// client went away (CodeClientClosedRequest), or an answer that failed
// after its head went out, when there is no one to tell or nothing left to
// tell them.
func RecordError(r *http.Request, e *Error) {
	if info := InfoFrom(r.Context()); info != nil {
		info.Code, info.Err, info.Status = e.Code, e, e.StatusFor(MediaTypeGraphQLResponse)
	}
}

// WriteError writes err as a GraphQL-over-HTTP error response. An error that
// is not an *Error is answered as INTERNAL_SERVER_ERROR with a generic message,
// so internal details never reach the client. The code is recorded in the
// request's [Info] for the access log.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Message: "internal error; the gateway log has the details", Err: err}
	}
	if info := InfoFrom(r.Context()); info != nil {
		info.Code = e.Code
		info.Err = e
	}
	mediaType, ok := Negotiate(strings.Join(r.Header.Values("Accept"), ", "))
	if !ok {
		mediaType = MediaTypeJSON
	}
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = vs
	}
	h.Set("Content-Type", mediaType+"; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	h.Del("ETag")
	body, _ := json.Marshal(errorBody{Errors: [1]errorEntry{{Message: e.Message, Extensions: errorExtension{Code: e.Code}}}})
	w.WriteHeader(e.StatusFor(mediaType))
	_, _ = w.Write(body)
	if r.ProtoMajor >= 2 {
		// Over HTTP/2 a handler that returns with the request body unread
		// makes the server reset the stream, and the reset can overtake
		// a body still queued: the client then loses the error. A flush
		// waits until the body is on the connection.
		_ = http.NewResponseController(w).Flush()
	}
}
