package documents

import (
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/envelope"
)

// mutationOverGET is the refusal of a mutation or subscription sent with
// GET, as the GraphQL-over-HTTP specification requires: a GET can be
// triggered cross-site by a link or an image, so it must never change state.
func mutationOverGET(op ast.Operation) *envelope.Error {
	return &envelope.Error{
		Code:    envelope.CodeMutationNotAllowedOverGET,
		Message: "a " + string(op) + " cannot be sent with GET; use POST",
		Header:  http.Header{"Allow": {"POST"}},
	}
}
