package check

import (
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/limits"
)

// Pagination can come in an input object: invoices(page: $page), with
// input PageInput { first: Int }, asks for as many items as the client
// puts in $page.first. With a schema, the members of the input objects a
// field's arguments take are held to the same rule as the arguments: a
// member that is pagination (see inputMember) must have a cap when a
// variable feeds it, whether the variable is the member itself
// (page: {first: $n}) or the whole input object (page: $page). A capped
// member sets the field's page size, as an argument does.

// inputSizes returns the page size the input-object arguments of f ask for,
// reporting pagination members without a cap, and whether any sets it.
func (w *walker) inputSizes(f *ast.Field, parent *ast.Definition, def *ast.FieldDefinition, paged bool) (size int, sized bool) {
	for _, a := range f.Arguments {
		ad := def.Arguments.ForName(a.Name)
		if ad == nil {
			continue
		}
		in := limits.InputObject(w.c.schema, ad.Type)
		if in == nil {
			continue
		}
		where := parent.Name + "." + f.Name + "." + a.Name
		if s, ok := w.inputValue(where, in, a.Value, paged); ok {
			size, sized = max(size, s), true
		}
	}
	return size, sized
}

// inputValue returns the page size the value v of input object in asks
// for; where names the argument v is passed to.
func (w *walker) inputValue(where string, in *ast.Definition, v *ast.Value, paged bool) (size int, sized bool) {
	if v == nil {
		return 0, false
	}
	switch v.Kind {
	case ast.Variable:
		return w.inputVariable(where, in, v, paged)
	case ast.ListValue:
		for _, ch := range v.Children {
			if s, ok := w.inputValue(where, in, ch.Value, paged); ok {
				size, sized = max(size, s), true
			}
		}
	case ast.ObjectValue:
		for _, ch := range v.Children {
			fd := in.Fields.ForName(ch.Name)
			if fd == nil {
				continue // validation reports it
			}
			s, ok := 0, false
			if p, isPage := w.inputMember(in, fd, paged); isPage {
				s, ok = w.argSize(p, ch.Value)
			} else if sub := limits.InputObject(w.c.schema, fd.Type); sub != nil {
				s, ok = w.inputValue(where, sub, ch.Value, paged)
			}
			if ok {
				size, sized = max(size, s), true
			}
		}
	}
	return size, sized
}

// memberFinding keys the finding about one member of an input object that
// a variable passes whole, so that each is reported once.
type memberFinding struct {
	v      *ast.Value
	member string
}

// inputVariable returns the page size the variable v, an input object in
// passed whole, can ask for: the largest cap of its pagination members, the
// default list size for those without one, which it reports.
func (w *walker) inputVariable(where string, in *ast.Definition, v *ast.Value, paged bool) (size int, sized bool) {
	for _, p := range w.inputMembers(in, paged, map[*ast.Definition]bool{}, nil) {
		sized = true
		if p.capKey != "" {
			size = max(size, p.cap)
			continue
		}
		size = max(size, w.c.rules.defaultSize())
		if w.once(memberFinding{v, p.name}) {
			w.c.add(RuleUnboundedPagination, SeverityError, w.op, v.Position,
				"%s is fed by $%s, whose member %s has no cap: set %s",
				where, v.Raw, p.name, `limits.pagination.coordinates["`+p.name+`"]`)
		}
	}
	return size, sized
}

// inputMembers appends to out the pagination members of input object in
// and of the input objects its fields hold, each type visited once.
func (w *walker) inputMembers(in *ast.Definition, paged bool, seen map[*ast.Definition]bool, out []pageArg) []pageArg {
	if seen[in] {
		return out
	}
	seen[in] = true
	for _, fd := range in.Fields {
		if p, ok := w.inputMember(in, fd, paged); ok {
			out = append(out, p)
		} else if sub := limits.InputObject(w.c.schema, fd.Type); sub != nil {
			out = w.inputMembers(sub, paged, seen, out)
		}
	}
	return out
}

// inputMember tells whether field fd of input object in is a pagination
// member, as the limits stage caps it: a configured coordinate
// (InputType.field), a configured name on a field that holds a number, or
// (on a list or connection field) one of the usual names on an Int field,
// which then has no cap.
func (w *walker) inputMember(in *ast.Definition, fd *ast.FieldDefinition, paged bool) (pageArg, bool) {
	p := pageArg{name: in.Name + "." + fd.Name, coord: true, arg: fd.Name}
	caps := w.c.rules.Pagination
	if c, ok := caps.Coordinates[p.name]; ok {
		p.cap, p.capKey = c, `limits.pagination.coordinates["`+p.name+`"]`
		return p, true
	}
	if c, ok := caps.Arguments[fd.Name]; ok && limits.HoldsNumber(w.c.schema, fd.Type) {
		p.cap, p.capKey = c, `limits.pagination.arguments["`+fd.Name+`"]`
		return p, true
	}
	return p, paged && fd.Type.Elem == nil && fd.Type.NamedType == "Int" && builtinPageArgs[fd.Name]
}
