package documents

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gqlguard/gqlguard/envelope"
)

// SelectOperation parses query and returns the operation operationName
// selects: the named one, or the only one when the name is empty. Failures are
// envelope errors: GRAPHQL_PARSE_FAILED or OPERATION_NOT_FOUND.
func SelectOperation(query, operationName string) (*ast.OperationDefinition, error) {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		msg := "the document could not be parsed"
		var gerr *gqlerror.Error
		if errors.As(err, &gerr) {
			msg += ": " + gerr.Message
			if len(gerr.Locations) > 0 {
				msg += " (line " + strconv.Itoa(gerr.Locations[0].Line) + ")"
			}
		}
		return nil, &envelope.Error{Code: envelope.CodeGraphQLParseFailed, Message: msg, Err: err}
	}
	if operationName == "" && len(doc.Operations) > 1 {
		return nil, envelope.Errorf(envelope.CodeOperationNotFound, "the document has %d operations; name one with operationName", len(doc.Operations))
	}
	op := doc.Operations.ForName(operationName)
	if op == nil {
		if operationName == "" {
			return nil, envelope.Errorf(envelope.CodeOperationNotFound, "the document has no operation")
		}
		return nil, envelope.Errorf(envelope.CodeOperationNotFound, "the document has no operation named %q", operationName)
	}
	return op, nil
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
				if op.Operation != ast.Query {
					envelope.WriteError(w, r, mutationOverGET(op.Operation))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
