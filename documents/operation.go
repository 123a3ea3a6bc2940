package documents

import (
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/envelope"
)

// SelectOperation parses query and returns the operation operationName
// selects: the named one, or the only one when the name is empty. Failures are
// envelope errors: GRAPHQL_PARSE_FAILED or OPERATION_NOT_FOUND.
func SelectOperation(query, operationName string) (*Operation, error) {
	d, err := Parse(Entry{Text: query})
	if err != nil {
		return nil, err
	}
	return d.Operation(operationName)
}

// mutationOverGET is the refusal of a mutation or subscription sent with GET.
func mutationOverGET(op ast.Operation) *envelope.Error {
	return &envelope.Error{
		Code:    envelope.CodeMutationNotAllowedOverGET,
		Message: "a " + string(op) + " cannot be sent with GET; use POST",
		Header:  http.Header{"Allow": {"POST"}},
	}
}

// GETGuard refuses GET requests whose document selects anything but a query,
// as the GraphQL-over-HTTP specification requires: a GET can be triggered
// cross-site by a link or an image, so it must never change state.
func GETGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := envelope.BatchFrom(r.Context())
		if b != nil && b.Method == http.MethodGet {
			for _, req := range b.Requests {
				if req.Query == "" {
					continue
				}
				op, err := SelectOperation(req.Query, req.OperationName)
				if err != nil {
					envelope.WriteError(w, r, err)
					return
				}
				if op.Type != ast.Query {
					envelope.WriteError(w, r, mutationOverGET(op.Type))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
