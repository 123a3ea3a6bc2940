package limits

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/envelope"
)

// Plan is what Check needs for one operation: its variables with their
// types, coerced defaults and caps. It is computed once per operation, when
// the document is loaded, and is immutable and safe for concurrent use.
type Plan struct {
	limits *Limits
	vars   []variable
	// schemaOp holds the variables whose types involve input objects, for
	// gqlparser's coercion; nil when there are none or no schema.
	schemaOp *ast.OperationDefinition
}

// variable is one variable of the operation.
type variable struct {
	name string
	typ  *ast.Type
	// cap is the strictest cap of the pagination arguments the variable
	// feeds; nil when it feeds none.
	cap *capRule
	// members reports that the variable feeds a field argument and that
	// caps may apply to the members of objects in its value: the caps of
	// input fields with a schema, of names without one.
	members bool
	// def is the coerced default value as JSON; nil without a default.
	def json.RawMessage
	// viaSchema reports that the type involves an input object, which
	// gqlparser's coercion checks against the schema.
	viaSchema bool
}

// builtin reports whether name is one of the specified scalars, which Check
// coerces itself with or without a schema.
func builtin(name string) bool {
	switch name {
	case "Int", "Float", "String", "Boolean", "ID":
		return true
	}
	return false
}

// Plan computes the plan of op, an operation of doc. It refuses an operation
// that can never pass: a variable whose type the schema does not define as
// an input type, a default value that does not coerce or exceeds a cap, or a
// pagination argument written as a literal above its cap.
//
// Caps are found by walking the operation's selections, through the
// fragments it spreads. A field's type is known for root fields (the root
// type of the operation), inside fragments and inline fragments with a type
// condition, and, with a schema, for every field the schema has. Where the
// type is not known — nested fields without a schema — only caps by
// argument name apply, not caps by coordinate. Variables that feed a field
// argument have the members of objects in their values capped too (see
// walker).
func (l *Limits) Plan(doc *documents.Document, op *documents.Operation) (*Plan, error) {
	if op == nil {
		return nil, errors.New("limits: no operation to plan")
	}
	p := &Plan{limits: l, vars: make([]variable, 0, len(op.Variables))}
	for _, vd := range op.Variables {
		if err := p.addVariable(vd); err != nil {
			return nil, err
		}
	}
	if op.Def != nil {
		c := capper{l: l, p: p, seen: map[string]bool{}}
		if doc != nil && doc.AST != nil {
			c.frags = doc.AST.Fragments
		}
		if err := c.selections(op.Def.SelectionSet, l.rootType(op.Type)); err != nil {
			return nil, err
		}
	}
	for k, vd := range op.Variables {
		if err := p.addDefault(k, vd); err != nil {
			return nil, err
		}
	}
	if err := p.prepareSchema(op); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Plan) addVariable(vd *ast.VariableDefinition) error {
	if p.index(vd.Variable) >= 0 {
		return envelope.Errorf(envelope.CodeVariablesInvalid, "variable $%s is defined more than once", vd.Variable)
	}
	v := variable{name: vd.Variable, typ: vd.Type}
	if s := p.limits.schema; s != nil && !builtin(vd.Type.Name()) {
		def := s.Types[vd.Type.Name()]
		switch {
		case def == nil:
			return envelope.Errorf(envelope.CodeVariablesInvalid, "variable $%s has type %s, which the schema does not define", vd.Variable, vd.Type.Name())
		case !def.IsInputType():
			return envelope.Errorf(envelope.CodeVariablesInvalid, "variable $%s has type %s, which is not an input type", vd.Variable, vd.Type.Name())
		}
		v.viaSchema = def.Kind == ast.InputObject
	}
	p.vars = append(p.vars, v)
	return nil
}

// index returns the index of the variable named name, or -1.
func (p *Plan) index(name string) int {
	for k := range p.vars {
		if p.vars[k].name == name {
			return k
		}
	}
	return -1
}

// addDefault coerces the default value of the k-th variable, holding it to
// the variable's cap.
func (p *Plan) addDefault(k int, vd *ast.VariableDefinition) error {
	if vd.DefaultValue == nil {
		return nil
	}
	v := &p.vars[k]
	raw, err := appendValue(nil, vd.DefaultValue)
	if err == nil && !json.Valid(raw) {
		err = errors.New("cannot be written as JSON")
	}
	if err != nil {
		return envelope.Errorf(envelope.CodeVariablesInvalid, "the default value of variable $%s %v", v.name, err)
	}
	w := walker{b: raw, l: p.limits, members: v.members, rewrite: true}
	if _, f := w.value(v.typ, 0, true, v.cap); f != nil {
		return f.error("$"+v.name, " (its default value)")
	}
	v.def = w.out
	return nil
}

// appendValue appends the constant GraphQL value v as JSON. GraphQL's number
// syntax is a subset of JSON's, so numbers are copied as written.
func appendValue(out []byte, v *ast.Value) ([]byte, error) {
	switch v.Kind {
	case ast.IntValue, ast.FloatValue, ast.BooleanValue:
		return append(out, v.Raw...), nil
	case ast.NullValue:
		return append(out, "null"...), nil
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		s, err := json.Marshal(v.Raw)
		return append(out, s...), err
	case ast.ListValue:
		out = append(out, '[')
		for i, c := range v.Children {
			if i > 0 {
				out = append(out, ',')
			}
			var err error
			if out, err = appendValue(out, c.Value); err != nil {
				return nil, err
			}
		}
		return append(out, ']'), nil
	case ast.ObjectValue:
		out = append(out, '{')
		for i, c := range v.Children {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(strconv.AppendQuote(out, c.Name), ':') // names need no escaping
			var err error
			if out, err = appendValue(out, c.Value); err != nil {
				return nil, err
			}
		}
		return append(out, '}'), nil
	}
	return nil, errors.New("uses a variable; defaults must be constants")
}

// prepareSchema builds the operation gqlparser's coercion runs on: a copy
// holding the variables whose types involve input objects, each with its
// resolved definition (the shared document is never modified). Their
// defaults are checked at once, so Check never meets a bad one.
func (p *Plan) prepareSchema(op *documents.Operation) error {
	s := p.limits.schema
	if s == nil {
		return nil
	}
	var defs ast.VariableDefinitionList
	for k, vd := range op.Variables {
		if !p.vars[k].viaSchema {
			continue
		}
		c := *vd
		c.Definition = s.Types[vd.Type.Name()]
		defs = append(defs, &c)
	}
	if len(defs) == 0 {
		return nil
	}
	p.schemaOp = &ast.OperationDefinition{Operation: op.Type, Name: op.Name, VariableDefinitions: defs}
	for _, vd := range defs {
		k := p.index(vd.Variable)
		if p.vars[k].def == nil {
			continue
		}
		one := &ast.OperationDefinition{Operation: op.Type, VariableDefinitions: ast.VariableDefinitionList{vd}}
		vars, err := decode(p.vars[k].def)
		if err == nil {
			err = coerce(s, one, map[string]any{vd.Variable: vars})
		}
		if err != nil {
			if e, ok := err.(*envelope.Error); ok {
				e.Message = "the default value of " + e.Message
			}
			return err
		}
	}
	return nil
}

// decode decodes one JSON value, keeping numbers exact.
func decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// capper finds the pagination arguments of an operation and the variables
// that feed them.
type capper struct {
	l     *Limits
	p     *Plan
	frags ast.FragmentDefinitionList
	// seen guards against fragment cycles and repeated work: a fragment's
	// fields have the same parent type wherever it is spread (its type
	// condition), so one visit is enough.
	seen map[string]bool
}

// selections walks set, whose fields belong to type parent ("" when not
// known).
func (c *capper) selections(set ast.SelectionSet, parent string) error {
	for _, sel := range set {
		var err error
		switch s := sel.(type) {
		case *ast.Field:
			err = c.field(s, parent)
		case *ast.InlineFragment:
			t := parent
			if s.TypeCondition != "" {
				t = s.TypeCondition
			}
			err = c.selections(s.SelectionSet, t)
		case *ast.FragmentSpread:
			if c.seen[s.Name] {
				continue
			}
			c.seen[s.Name] = true
			if f := c.frags.ForName(s.Name); f != nil {
				err = c.selections(f.SelectionSet, f.TypeCondition)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *capper) field(f *ast.Field, parent string) error {
	for _, arg := range f.Arguments {
		rule := c.l.rule(parent, f.Name, arg.Name)
		if err := c.value(arg.Value, rule, c.l.argInput(parent, f.Name, arg.Name), arg.Name); err != nil {
			return err
		}
	}
	return c.selections(f.SelectionSet, c.l.fieldType(parent, f.Name))
}

// value applies rule (nil: none yet) to the argument value v, found at
// where; in is the input object v is of, nil when not known. Members of
// object values are capped by their input field or their name:
// invoices(page: {first: $n}).
func (c *capper) value(v *ast.Value, rule *capRule, in *ast.Definition, where string) error {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ast.Variable:
		c.p.feeds(v.Raw, rule)
	case ast.IntValue, ast.FloatValue:
		if rule != nil && exceeds([]byte(v.Raw), rule.max) {
			return literalFault(where, v.Raw, rule)
		}
	case ast.StringValue:
		if rule == nil {
			break
		}
		if f, err := strconv.ParseFloat(v.Raw, 64); err == nil && f > float64(rule.max) {
			return literalFault(where, strconv.Quote(v.Raw), rule)
		}
	case ast.ListValue:
		for _, ch := range v.Children {
			if err := c.value(ch.Value, rule, in, where); err != nil {
				return err
			}
		}
	case ast.ObjectValue:
		for _, ch := range v.Children {
			var fd *ast.FieldDefinition
			var sub *ast.Definition
			if in != nil {
				if fd = in.Fields.ForName(ch.Name); fd != nil {
					sub = InputObject(c.l.schema, fd.Type)
				}
			}
			r := rule
			if r == nil {
				r = c.l.memberRule(fd, ch.Name)
			}
			if err := c.value(ch.Value, r, sub, where+"."+ch.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func literalFault(where, raw string, rule *capRule) error {
	return envelope.Errorf(envelope.CodeLimitExceeded, "argument %s = %s exceeds %s", where, clip([]byte(raw)), rule)
}

// feeds records that the variable named name feeds a field argument, held
// to rule (nil: none), keeping the strictest cap when it feeds several.
// Undefined variables are left to the upstream's validation; Check refuses
// any value for them.
func (p *Plan) feeds(name string, rule *capRule) {
	k := p.index(name)
	if k < 0 {
		return
	}
	v := &p.vars[k]
	v.members = p.limits.capsMembers()
	if rule != nil && (v.cap == nil || rule.max < v.cap.max) {
		v.cap = rule
	}
}
