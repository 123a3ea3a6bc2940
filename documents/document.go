package documents

import (
	"errors"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gqlguard/gqlguard/envelope"
)

// Meta is what the store knows about a document besides its text.
type Meta struct {
	// Public documents may run without authentication.
	Public bool `json:"public,omitempty" yaml:"public,omitempty"`
	// Clients that registered the document (for example web@1.4.2).
	Clients []string `json:"clients,omitempty" yaml:"clients,omitempty"`
}

// IsZero reports whether m says nothing: not public, no clients.
func (m Meta) IsZero() bool {
	return !m.Public && len(m.Clients) == 0
}

// Entry is a stored document: its id, its exact text and its metadata.
type Entry struct {
	ID   ID     `json:"id"`
	Text string `json:"body"`
	Meta Meta   `json:"meta,omitzero"`
	// MetaGiven reports that Meta is what the entry's source says about
	// the document (a metadata sidecar, a manifest's meta field), even when
	// Meta is zero. An entry with zero Meta and MetaGiven false carries no
	// metadata: storing it keeps the metadata already stored.
	MetaGiven bool `json:"-"`
}

// CarriesMeta reports whether the entry says what the document's metadata
// is: MetaGiven, or any metadata at all. Store.Put replaces the stored
// metadata of such an entry and keeps it for any other.
func (e Entry) CarriesMeta() bool {
	return e.MetaGiven || !e.Meta.IsZero()
}

// Document is a parsed trusted document with everything the request path
// needs precomputed, so that a known document is never parsed again.
type Document struct {
	Entry
	// Operations of the document, in document order.
	Operations []*Operation
	// AST is the parsed document.
	AST *ast.QueryDocument
	// Plan holds what later stages precomputed for this document (the
	// variable limits); set once by Resolver.Prepare before the document is
	// shared, read-only afterwards.
	Plan any

	// refused is why the resolver refuses a trusted document that failed
	// to parse, validate or prepare; such a document is cached with it, so
	// that it is refused without being checked (and logged) again.
	refused error
}

// Operation is one operation of a document.
type Operation struct {
	// Name is the operation's name; empty for an anonymous operation.
	Name string
	// Type is query, mutation or subscription.
	Type ast.Operation
	// RootFields are the names of the fields selected at the top level
	// (through fragments too).
	RootFields []string
	// Variables are the operation's variable definitions.
	Variables ast.VariableDefinitionList
	// Def is the parsed operation.
	Def *ast.OperationDefinition
}

// Parse parses an entry's text and precomputes its operations. A text that
// does not parse is a GRAPHQL_PARSE_FAILED error.
func Parse(e Entry) (*Document, error) {
	doc, err := parser.ParseQuery(&ast.Source{Input: e.Text})
	if err != nil {
		return nil, parseError(err)
	}
	if len(doc.Operations) == 0 {
		return nil, envelope.Errorf(envelope.CodeGraphQLParseFailed, "the document has no operation")
	}
	d := &Document{Entry: e, AST: doc, Operations: make([]*Operation, len(doc.Operations))}
	for i, op := range doc.Operations {
		d.Operations[i] = &Operation{
			Name:       op.Name,
			Type:       op.Operation,
			RootFields: rootFields(op.SelectionSet, doc.Fragments, map[string]bool{}, nil),
			Variables:  op.VariableDefinitions,
			Def:        op,
		}
	}
	return d, nil
}

func parseError(err error) *envelope.Error {
	msg := "the document could not be parsed"
	var gerr *gqlerror.Error
	if errors.As(err, &gerr) {
		msg += ": " + gerr.Message
		if len(gerr.Locations) > 0 {
			msg += " (line " + strconv.Itoa(gerr.Locations[0].Line) + ")"
		}
	}
	return &envelope.Error{Code: envelope.CodeGraphQLParseFailed, Message: msg, Err: err}
}

func rootFields(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen map[string]bool, out []string) []string {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			out = append(out, s.Name)
		case *ast.InlineFragment:
			out = rootFields(s.SelectionSet, frags, seen, out)
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			if f := frags.ForName(s.Name); f != nil {
				out = rootFields(f.SelectionSet, frags, seen, out)
			}
		}
	}
	return out
}

// Operation returns the operation name selects: the named one, or the only
// one when name is empty. Otherwise it is an OPERATION_NOT_FOUND error.
func (d *Document) Operation(name string) (*Operation, error) {
	if name == "" {
		if len(d.Operations) == 1 {
			return d.Operations[0], nil
		}
		return nil, envelope.Errorf(envelope.CodeOperationNotFound, "the document has %d operations; name one with operationName", len(d.Operations))
	}
	for _, op := range d.Operations {
		if op.Name == name {
			return op, nil
		}
	}
	return nil, envelope.Errorf(envelope.CodeOperationNotFound, "the document has no operation named %q", name)
}
