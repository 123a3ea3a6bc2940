package check

import (
	"math"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/documents"
)

// The cost of an operation estimates how many fields it can make the server
// resolve: every field costs the product of the list sizes of the list
// fields that enclose it. So { customers(first: 20) { id name } } costs
// 1 + 20×2 = 41.
//
// A field's list size is the value of its pagination argument: the literal
// when one is given, the configured cap when a variable feeds it, the
// argument's schema default when it is left out, else Pagination.Default.
// With a schema, pagination members of input-object arguments count as
// pagination arguments (see inputs.go).
// With a schema only list-typed fields multiply; a connection field (an
// object with a list field edges or nodes) hands its page size to those
// lists. Without a schema, a field with a pagination argument counts as a
// list.

// costCap bounds estimated costs, which nested lists make grow
// exponentially; a cost at the cap means "at least this much".
const costCap = math.MaxInt32

// builtinPageArgs are the argument names that, on an Int argument of a list
// or connection field, are taken for pagination even when no cap names them.
var builtinPageArgs = map[string]bool{
	"first": true, "last": true, "limit": true, "take": true, "pageSize": true, "perPage": true,
}

// noSize is the inherited page size when no connection hands one down.
const noSize = -1

// walker walks the operations of one document for cost, pagination and
// deprecation. Fragments are walked once for each page size handed to them
// and their cost memoized, so the work stays linear in the document; each
// finding is reported once, for the first operation that reaches it.
type walker struct {
	c        *docCheck
	doc      *documents.Document
	op       string
	memo     map[fragKey]*fragCost
	reported map[any]bool
}

type fragKey struct {
	name      string
	inherited int
}

type fragCost struct {
	cost         int
	done, active bool
}

func newWalker(c *docCheck, d *documents.Document) *walker {
	return &walker{c: c, doc: d, memo: map[fragKey]*fragCost{}, reported: map[any]bool{}}
}

// operation returns the estimated cost of op.
func (w *walker) operation(op *documents.Operation) int {
	w.op = op.Name
	return w.set(op.Def.SelectionSet, rootType(w.c.schema, op.Type), 1, noSize)
}

// set returns the cost of a selection set on parent (nil when unknown)
// whose fields run mult times; inherited is the page size a connection
// hands to its lists.
func (w *walker) set(set ast.SelectionSet, parent *ast.Definition, mult, inherited int) int {
	total := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			total = add(total, w.field(s, parent, mult, inherited))
		case *ast.InlineFragment:
			t := parent
			if s.TypeCondition != "" {
				t = typeNamed(w.c.schema, s.TypeCondition)
			}
			total = add(total, w.set(s.SelectionSet, t, mult, inherited))
		case *ast.FragmentSpread:
			total = add(total, mul(mult, w.fragment(s.Name, inherited)))
		}
	}
	return total
}

// fragment returns the cost of the named fragment run once. A cycle (which
// validation reports) or an unknown fragment costs nothing.
func (w *walker) fragment(name string, inherited int) int {
	key := fragKey{name, inherited}
	fc := w.memo[key]
	if fc == nil {
		fc = &fragCost{}
		w.memo[key] = fc
	}
	if fc.done || fc.active {
		return fc.cost
	}
	def := w.doc.AST.Fragments.ForName(name)
	if def == nil {
		fc.done = true
		return 0
	}
	fc.active = true
	fc.cost = w.set(def.SelectionSet, typeNamed(w.c.schema, def.TypeCondition), 1, inherited)
	fc.active, fc.done = false, true
	return fc.cost
}

// field returns the cost of f and its selections.
func (w *walker) field(f *ast.Field, parent *ast.Definition, mult, inherited int) int {
	def := fieldDef(parent, f.Name)
	w.deprecated(f, parent, def)
	size, sized := w.pageSize(f, parent, def)
	var child *ast.Definition
	if def != nil {
		child = typeNamed(w.c.schema, def.Type.Name())
	}
	childMult, childInherited := mult, noSize
	switch {
	case def == nil:
		// No schema, or a field it lacks: a paginated field counts as a list.
		if sized {
			childMult = mul(mult, size)
		}
	case def.Type.Elem != nil:
		if !sized {
			size = inherited
			if size == noSize {
				size = w.c.rules.defaultSize()
			}
		}
		childMult = mul(mult, size)
	case sized && isConnection(w.c.schema, def.Type):
		childInherited = size
	}
	cost := mult
	if len(f.SelectionSet) > 0 {
		cost = add(cost, w.set(f.SelectionSet, child, childMult, childInherited))
	}
	return cost
}

// pageArg is a pagination argument of a field.
type pageArg struct {
	// name is the coordinate Type.field.arg, or field.arg when the parent
	// type is unknown.
	name   string
	coord  bool
	arg    string
	cap    int
	capKey string // the config key of the cap; "" when uncapped
}

// pagination tells whether argument arg of field on parent is a pagination
// argument: a configured coordinate or name, or (with a schema) one of the
// usual names on an Int argument of a paged field.
func (w *walker) pagination(parent *ast.Definition, field, arg string, argDef *ast.ArgumentDefinition, paged bool) (pageArg, bool) {
	p := pageArg{name: field + "." + arg, arg: arg}
	if parent != nil {
		p.name, p.coord = parent.Name+"."+p.name, true
	}
	caps := w.c.rules.Pagination
	if c, ok := caps.Coordinates[p.name]; ok && p.coord {
		p.cap, p.capKey = c, `limits.pagination.coordinates["`+p.name+`"]`
		return p, true
	}
	if c, ok := caps.Arguments[arg]; ok {
		p.cap, p.capKey = c, `limits.pagination.arguments["`+arg+`"]`
		return p, true
	}
	if argDef != nil && paged && argDef.Type.Elem == nil && argDef.Type.NamedType == "Int" && builtinPageArgs[arg] {
		return p, true
	}
	return p, false
}

// pageSize returns the page size f asks for, reporting pagination findings,
// and whether any pagination argument sets it.
func (w *walker) pageSize(f *ast.Field, parent *ast.Definition, def *ast.FieldDefinition) (size int, sized bool) {
	if def == nil {
		for _, a := range f.Arguments {
			if p, ok := w.pagination(parent, f.Name, a.Name, nil, false); ok {
				if s, ok := w.argSize(p, a.Value); ok {
					size, sized = max(size, s), true
				}
			}
		}
		return size, sized
	}
	paged := def.Type.Elem != nil || isConnection(w.c.schema, def.Type)
	var unset *pageArg
	for _, ad := range def.Arguments {
		p, ok := w.pagination(parent, f.Name, ad.Name, ad, paged)
		if !ok {
			continue
		}
		if a := f.Arguments.ForName(ad.Name); a != nil {
			if s, ok := w.argSize(p, a.Value); ok {
				size, sized = max(size, s), true
				continue
			}
		}
		if ad.DefaultValue != nil && ad.DefaultValue.Kind == ast.IntValue {
			size, sized = max(size, atoi(ad.DefaultValue.Raw)), true
			continue
		}
		if unset == nil {
			unset = &p
		}
	}
	if s, ok := w.inputSizes(f, parent, def, paged); ok {
		size, sized = max(size, s), true
	}
	if !sized && unset != nil && paged && w.once(f) {
		w.c.add(RuleUnsetPagination, SeverityWarning, w.op, f.Position,
			"%s is not set and the schema gives it no default, so the server decides how many items %s returns: set %s",
			unset.name, f.Name, unset.arg)
	}
	return size, sized
}

// argSize returns the page size a pagination argument's value asks for,
// reporting a variable no cap bounds and a literal above its cap. A null
// or non-integer value sets nothing.
func (w *walker) argSize(p pageArg, v *ast.Value) (int, bool) {
	switch v.Kind {
	case ast.IntValue:
		n := atoi(v.Raw)
		if p.capKey != "" && n > p.cap && w.once(v) {
			w.c.add(RuleUnboundedPagination, SeverityError, w.op, v.Position,
				"%s is %d; the cap is %d (%s): ask for fewer items", p.name, n, p.cap, p.capKey)
		}
		return n, true
	case ast.Variable:
		if p.capKey != "" {
			return p.cap, true
		}
		if w.once(v) {
			key := `limits.pagination.coordinates["` + p.name + `"]`
			if !p.coord {
				key = `limits.pagination.arguments["` + p.arg + `"]`
			}
			w.c.add(RuleUnboundedPagination, SeverityError, w.op, v.Position,
				"%s is fed by $%s and has no cap: set %s", p.name, v.Raw, key)
		}
		return w.c.rules.defaultSize(), true
	}
	return 0, false
}

// deprecated warns of a deprecated field.
func (w *walker) deprecated(f *ast.Field, parent *ast.Definition, def *ast.FieldDefinition) {
	if def == nil {
		return
	}
	d := def.Directives.ForName("deprecated")
	if d == nil || !w.once(f) {
		return
	}
	reason := "no reason given"
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil {
		reason = a.Value.Raw
	}
	w.c.add(RuleDeprecated, SeverityWarning, w.op, f.Position, "%s.%s is deprecated: %s", parent.Name, def.Name, reason)
}

// once reports whether a finding about node is new.
func (w *walker) once(node any) bool {
	if w.reported[node] {
		return false
	}
	w.reported[node] = true
	return true
}

func rootType(s *ast.Schema, op ast.Operation) *ast.Definition {
	if s == nil {
		return nil
	}
	switch op {
	case ast.Query:
		return s.Query
	case ast.Mutation:
		return s.Mutation
	case ast.Subscription:
		return s.Subscription
	}
	return nil
}

func typeNamed(s *ast.Schema, name string) *ast.Definition {
	if s == nil {
		return nil
	}
	return s.Types[name]
}

func fieldDef(parent *ast.Definition, name string) *ast.FieldDefinition {
	if parent == nil {
		return nil
	}
	return parent.Fields.ForName(name)
}

// isConnection reports whether t is a Relay-style connection: a single
// object or interface with a list field edges or nodes.
func isConnection(s *ast.Schema, t *ast.Type) bool {
	if t.Elem != nil {
		return false
	}
	def := typeNamed(s, t.NamedType)
	if def == nil || (def.Kind != ast.Object && def.Kind != ast.Interface) {
		return false
	}
	for _, name := range []string{"edges", "nodes"} {
		if f := def.Fields.ForName(name); f != nil && f.Type.Elem != nil {
			return true
		}
	}
	return false
}

// atoi reads an Int literal as a list size: negative is 0, too large is
// costCap.
func atoi(raw string) int {
	n, err := strconv.ParseInt(raw, 10, 64)
	switch {
	case err != nil || n > costCap:
		if len(raw) > 0 && raw[0] == '-' {
			return 0
		}
		return costCap
	case n < 0:
		return 0
	}
	return int(n)
}

func add(a, b int) int { return min(a+b, costCap) }

func mul(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > costCap/b {
		return costCap
	}
	return a * b
}
