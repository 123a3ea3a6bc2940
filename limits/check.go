package limits

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/jsonscan"
)

// span locates one variable's value in the variables JSON (in the
// re-encoded variables after a rewrite); end is 0 when the variable was not
// given.
type span struct{ start, end int }

// stackVars is how many variables Check tracks without allocating.
const stackVars = 16

// Check coerces the variables JSON raw against the operation's variable
// definitions and enforces the limits. It returns the variables to forward:
// raw itself when coercion changed nothing, which is the common case and
// costs no re-encoding; otherwise the coerced variables, re-encoded, with
// the defaults of absent variables filled in. Empty or null raw means no
// variables.
//
// A refusal is an *envelope.Error: LIMIT_EXCEEDED for the size, list-length
// and pagination limits, VARIABLES_INVALID for variables that do not coerce,
// including variables the operation does not define.
func (p *Plan) Check(raw json.RawMessage) (json.RawMessage, error) {
	l := p.limits
	// Checked before anything reads the variables, so that the work done on
	// them is bounded.
	if len(raw) > l.maxBytes {
		return nil, sizeError(len(raw), l.maxBytes)
	}
	var buf [stackVars]span
	spans := buf[:]
	if len(p.vars) > stackVars {
		spans = make([]span, len(p.vars))
	}
	spans = spans[:len(p.vars)]

	w := walker{b: raw, l: l}
	i := jsonscan.SkipSpace(raw, 0)
	given := i < len(raw) && !isNull(raw[i:])
	if given {
		if err := p.parse(&w, i, spans); err != nil {
			return nil, err
		}
	}
	for k := range p.vars {
		v := &p.vars[k]
		switch {
		case spans[k].end > 0:
		case v.def != nil:
			w.changed = true
		case v.typ.NonNull:
			return nil, envelope.Errorf(envelope.CodeVariablesInvalid, "variable $%s is required (%s) and was not given", v.name, v.typ)
		}
	}
	out := raw
	if w.changed {
		var err error
		if out, err = p.rewrite(raw, i, given, spans); err != nil {
			return nil, err
		}
	}
	if p.schemaOp != nil {
		// gqlparser sees what the upstream will see: the coerced values.
		if err := p.coerceInputObjects(out, spans); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func isNull(b []byte) bool {
	return len(b) >= 4 && string(b[:4]) == "null" && jsonscan.SkipSpace(b, 4) == len(b)
}

// parse checks that raw is a JSON object and walks its members.
func (p *Plan) parse(w *walker, i int, spans []span) *envelope.Error {
	b := w.b
	switch {
	case !utf8.Valid(b):
		return envelope.Errorf(envelope.CodeVariablesInvalid, "the variables are not valid UTF-8")
	case !json.Valid(b):
		return envelope.Errorf(envelope.CodeVariablesInvalid, "the variables are not valid JSON")
	case b[i] != '{':
		return envelope.Errorf(envelope.CodeVariablesInvalid, "the variables must be a JSON object, not %s", shown(b[i:jsonscan.ValueEnd(b, i)]))
	case nestsDeeper(b, w.l.maxDepth+1): // the variables object is a level of its own
		// A parser that recurses (graphql-js does) overflows its stack
		// on thousands of levels, which fit in a few KiB; the walk below
		// recurses too.
		return envelope.Errorf(envelope.CodeVariablesInvalid, "the variables nest lists and objects more than %d levels deep (limits.max_variables_depth)", w.l.maxDepth)
	}
	return p.members(w, i, spans)
}

// members walks the members of the variables object at b[i], recording
// where each variable's value is in spans. In rewrite mode it appends the
// coerced members to w.out, and spans locate the values there.
func (p *Plan) members(w *walker, i int, spans []span) *envelope.Error {
	b := w.b
	clear(spans)
	i = jsonscan.SkipSpace(b, i+1)
	for n := 0; b[i] != '}'; n++ {
		kEnd, esc := jsonscan.StringEnd(b, i)
		key := b[i:kEnd]
		k := p.lookup(key, esc)
		if k < 0 {
			return envelope.Errorf(envelope.CodeVariablesInvalid, "variable %s is not defined by the operation", root(unquote(key, esc)))
		}
		v := &p.vars[k]
		if spans[k].end > 0 {
			// A repeated name could show the gateway one value and the
			// upstream another: JSON parsers disagree on which wins.
			return envelope.Errorf(envelope.CodeVariablesInvalid, "variable $%s is given more than once", v.name)
		}
		if n > 0 {
			w.emitByte(',')
		}
		w.emit(key)
		w.emitByte(':')
		vi := jsonscan.SkipSpace(b, jsonscan.SkipSpace(b, kEnd)+1)
		outStart := len(w.out)
		w.members = v.members
		end, f := w.value(v.typ, vi, true, v.cap)
		if f != nil {
			return f.error("$"+v.name, "")
		}
		spans[k] = span{start: vi, end: end}
		if w.rewrite {
			spans[k] = span{start: outStart, end: len(w.out)}
		}
		i = jsonscan.SkipSpace(b, end)
		if b[i] == ',' {
			i = jsonscan.SkipSpace(b, i+1)
		}
	}
	return nil
}

// lookup returns the index of the variable the JSON string key names, or -1.
func (p *Plan) lookup(key []byte, esc bool) int {
	for k := range p.vars {
		if sameKey(key, esc, p.vars[k].name) {
			return k
		}
	}
	return -1
}

// root names a variable the client sent in a message.
func root(name string) string {
	if isName(name) {
		return "$" + name
	}
	return strconv.Quote(clip([]byte(name)))
}

// rewrite re-encodes the variables with their coerced values and the
// defaults of absent variables.
func (p *Plan) rewrite(raw []byte, i int, given bool, spans []span) (json.RawMessage, error) {
	l := p.limits
	w := walker{b: raw, l: l, rewrite: true, out: make([]byte, 0, len(raw)+64)}
	w.out = append(w.out, '{')
	if given {
		if err := p.members(&w, i, spans); err != nil {
			return nil, err
		}
	}
	for k := range p.vars {
		v := &p.vars[k]
		if spans[k].end > 0 || v.def == nil {
			continue
		}
		if len(w.out) > 1 {
			w.out = append(w.out, ',')
		}
		w.out = append(strconv.AppendQuote(w.out, v.name), ':') // names need no escaping
		w.out = append(w.out, v.def...)
	}
	return append(w.out, '}'), nil
}

// coerceInputObjects runs gqlparser's coercion on the variables whose types
// involve input objects, as located by spans in vars: it refuses unknown and
// missing input fields.
func (p *Plan) coerceInputObjects(vars []byte, spans []span) error {
	var values map[string]any
	for k := range p.vars {
		v := &p.vars[k]
		if !v.viaSchema || spans[k].end == 0 {
			continue
		}
		x, err := decode(vars[spans[k].start:spans[k].end])
		if err != nil {
			return &envelope.Error{Code: envelope.CodeInternal, Message: "the variables could not be read", Err: err}
		}
		if values == nil {
			values = make(map[string]any, len(p.vars))
		}
		values[v.name] = x
	}
	if values == nil {
		return nil // absent variables: their defaults were checked by Plan
	}
	return coerce(p.limits.schema, p.schemaOp, values)
}

// coerce runs gqlparser's coercion of vars against op's variables.
func coerce(schema *ast.Schema, op *ast.OperationDefinition, vars map[string]any) (err error) {
	defer func() {
		// gqlparser panics on a schema that lacks a type it refers to; a
		// schema loaded by gqlparser never does, but a request must not be
		// able to crash the gateway either way.
		if r := recover(); r != nil {
			err = &envelope.Error{Code: envelope.CodeInternal, Message: "the variables could not be checked against the schema", Err: fmt.Errorf("gqlparser: %v", r)}
		}
	}()
	if _, verr := validator.VariableValues(schema, op, vars); verr != nil {
		return schemaError(schema, op, verr)
	}
	return nil
}

// schemaError turns an error of gqlparser's coercion, whose path is
// variable.<name>.<field or index>…, into a VARIABLES_INVALID error that
// names the variable.
func schemaError(schema *ast.Schema, op *ast.OperationDefinition, err error) *envelope.Error {
	var gerr *gqlerror.Error
	if !errors.As(err, &gerr) || len(gerr.Path) < 2 {
		return &envelope.Error{Code: envelope.CodeVariablesInvalid, Message: "the variables do not match the schema", Err: err}
	}
	name, _ := gerr.Path[1].(ast.PathName)
	var b strings.Builder
	b.WriteString("variable $")
	b.WriteString(string(name))
	for _, el := range gerr.Path[2:] {
		switch e := el.(type) {
		case ast.PathName:
			b.WriteString(segment(string(e)))
		case ast.PathIndex:
			b.WriteString("[" + strconv.Itoa(int(e)) + "]")
		}
	}
	switch gerr.Message {
	case "must be defined":
		b.WriteString(" is required and was not given")
	case "cannot be null":
		b.WriteString(" is null, but its type does not allow null")
	case "unknown field":
		b.WriteString(" is not a field of ")
		b.WriteString(parentType(schema, op, string(name), gerr.Path[2:]))
	default:
		b.WriteString(": ")
		b.WriteString(gerr.Message)
	}
	return &envelope.Error{Code: envelope.CodeVariablesInvalid, Message: b.String(), Err: err}
}

// parentType returns the name of the input type that holds the last
// element of path, inside the variable named name.
func parentType(schema *ast.Schema, op *ast.OperationDefinition, name string, path ast.Path) string {
	vd := op.VariableDefinitions.ForName(name)
	if vd == nil {
		return "its input type"
	}
	t := vd.Type
	for _, el := range path[:len(path)-1] {
		switch e := el.(type) {
		case ast.PathIndex:
			if t.Elem != nil {
				t = t.Elem
			}
		case ast.PathName:
			def := schema.Types[t.Name()]
			if def == nil || def.Fields.ForName(string(e)) == nil {
				return "its input type"
			}
			t = def.Fields.ForName(string(e)).Type
		}
	}
	return t.Name()
}

// sizeError is the refusal of variables of n bytes over the limit of max.
func sizeError(n, max int) *envelope.Error {
	return envelope.Errorf(envelope.CodeLimitExceeded, "the variables are %s; the limit is %s (limits.max_variables_bytes)", size(n, max), size(max, max))
}

// size formats n bytes in the unit max is best written in: KiB when max is
// a whole number of them (n rounded up, so that it never reads as equal to
// max), else bytes.
func size(n, max int) string {
	switch {
	case max%1024 != 0:
		return strconv.Itoa(n) + " bytes"
	case n%1024 == 0:
		return strconv.Itoa(n/1024) + " KiB"
	}
	return strconv.FormatFloat(math.Ceil(float64(n)*10/1024)/10, 'f', 1, 64) + " KiB"
}
