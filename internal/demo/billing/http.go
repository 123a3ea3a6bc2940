package billing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	graphql "github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"
)

// maxBodyBytes bounds the size of a POST body.
const maxBodyBytes = 1 << 20

const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// request is a GraphQL-over-HTTP request.
type request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

// httpError is a request refused before execution.
type httpError struct {
	status int
	code   string
	msg    string
}

// ServeHTTP executes a GraphQL request sent as a POST with a JSON body or,
// for queries only, as a GET with the query string parameters query,
// operationName and variables.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	media := responseMediaType(r.Header.Values("Accept"))
	ctx := r.Context()
	var req request
	var err *httpError
	switch r.Method {
	case http.MethodGet:
		ctx = withReadOnly(ctx)
		req, err = readQueryString(r.URL.Query())
	case http.MethodPost:
		req, err = readBody(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		err = &httpError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use GET or POST"}
	}
	if err == nil && req.Query == "" {
		err = &httpError{http.StatusBadRequest, "BAD_REQUEST", "the request has no query"}
	}
	if err != nil {
		writeError(w, media, err)
		return
	}
	if a.userHeader != "" {
		if id := r.Header.Get(a.userHeader); id != "" {
			ctx = withUser(ctx, id)
		}
	}

	resp := a.schema.Exec(ctx, req.Query, req.OperationName, req.Variables)
	status := http.StatusOK
	switch {
	case refusedOverGET(resp.Errors):
		w.Header().Set("Allow", "POST")
		status = http.StatusMethodNotAllowed
	case resp.Data == nil && media == mediaGraphQLResponse:
		// The request failed before execution (syntax, validation).
		status = http.StatusBadRequest
	}
	writeJSON(w, media, status, resp)
}

func readQueryString(q url.Values) (request, *httpError) {
	req := request{Query: q.Get("query"), OperationName: q.Get("operationName")}
	if v := q.Get("variables"); v != "" {
		if err := json.Unmarshal([]byte(v), &req.Variables); err != nil {
			return request{}, &httpError{http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("variables are not a JSON object: %v", err)}
		}
	}
	return req, nil
}

func readBody(w http.ResponseWriter, r *http.Request) (request, *httpError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaJSON {
		return request{}, &httpError{http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send the request as Content-Type: application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var req request
	err = dec.Decode(&req)
	if err == nil {
		if _, tail := dec.Token(); tail != io.EOF {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return request{}, &httpError{http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
	case err != nil:
		return request{}, &httpError{http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("the body is not a GraphQL request: %v", err)}
	}
	return req, nil
}

// responseMediaType picks application/graphql-response+json when the
// Accept header lists it, and application/json otherwise.
func responseMediaType(accept []string) string {
	for _, part := range strings.Split(strings.Join(accept, ","), ",") {
		mt, params, err := mime.ParseMediaType(part)
		if err == nil && mt == mediaGraphQLResponse && params["q"] != "0" {
			return mediaGraphQLResponse
		}
	}
	return mediaJSON
}

func refusedOverGET(errs []*gqlerrors.QueryError) bool {
	for _, e := range errs {
		if errors.Is(e.ResolverError, errMutationOverGET) {
			return true
		}
	}
	return false
}

func writeError(w http.ResponseWriter, media string, he *httpError) {
	resp := &graphql.Response{Errors: []*gqlerrors.QueryError{{
		Message:    he.msg,
		Extensions: map[string]any{"code": he.code},
	}}}
	writeJSON(w, media, he.status, resp)
}

func writeJSON(w http.ResponseWriter, media string, status int, resp *graphql.Response) {
	body, err := json.Marshal(resp)
	if err != nil {
		http.Error(w, "cannot encode the response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
