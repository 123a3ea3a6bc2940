package limits

import (
	"errors"
	"net/http"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/envelope"
)

// plans are the per-operation plans of one document, kept in
// documents.Document.Plan.
type plans map[*documents.Operation]*Plan

// Prepare computes the plan of every operation of doc once, when the
// document enters the cache; use it as documents.Resolver.Prepare.
func (l *Limits) Prepare(doc *documents.Document) error {
	ps := make(plans, len(doc.Operations))
	for _, op := range doc.Operations {
		p, err := l.Plan(doc, op)
		if err != nil {
			return err
		}
		ps[op] = p
	}
	doc.Plan = ps
	return nil
}

// Handler is the limits stage: it checks and coerces the variables of every
// resolved request against its operation's plan before anything is
// forwarded.
func (l *Limits) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := envelope.BatchFrom(r.Context())
		resolved := documents.ResolvedFrom(r.Context())
		if b == nil || len(resolved) != len(b.Requests) {
			envelope.WriteError(w, r, errors.New("limits: no resolved documents in context"))
			return
		}
		for i, res := range resolved {
			ps, _ := res.Document.Plan.(plans)
			p := ps[res.Operation]
			if p == nil {
				envelope.WriteError(w, r, errors.New("limits: the document was not prepared"))
				return
			}
			vars, err := p.Check(b.Requests[i].Variables)
			if err != nil {
				envelope.WriteError(w, r, err)
				return
			}
			b.Requests[i].Variables = vars
		}
		next.ServeHTTP(w, r)
	})
}
