package limits

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/internal/config"
)

// Limits are the runtime bounds on variables, built from the limits section
// of the configuration. A Limits is immutable and safe for concurrent use.
type Limits struct {
	schema   *ast.Schema
	maxList  int
	maxBytes int
	// names caps arguments by name, coords by schema coordinate
	// (Type.field.argument); a coordinate wins over a name.
	names  map[string]*capRule
	coords map[string]*capRule
}

// capRule is one pagination cap and where the configuration sets it.
type capRule struct {
	max int
	// of names what is capped: "Query.topUsers.first" or "argument first".
	of string
	// key is the configuration key that sets the cap.
	key string
}

// fault is the refusal of the value num (as written) under the cap.
func (c *capRule) fault(num []byte) *fault {
	return exceeded(" = " + clip(num) + " exceeds " + c.String())
}

// String describes the cap for messages: "the cap 100 of argument first
// (limits.pagination.arguments)".
func (c *capRule) String() string {
	return "the cap " + strconv.Itoa(c.max) + " of " + c.of + " (" + c.key + ")"
}

// New builds the limits of cfg. With a schema (nil means none), every
// configured coordinate must name an argument the schema has, variables are
// coerced against their input types, and caps apply to nested fields by
// coordinate too. Every problem is reported, each prefixed by its
// configuration key.
func New(cfg config.Limits, schema *ast.Schema) (*Limits, error) {
	l := &Limits{
		schema:   schema,
		maxList:  cfg.MaxListLength,
		maxBytes: cfg.MaxVariablesBytes,
		names:    make(map[string]*capRule, len(cfg.Pagination.Arguments)),
		coords:   make(map[string]*capRule, len(cfg.Pagination.Coordinates)),
	}
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	}
	if cfg.MaxListLength < 1 {
		bad("limits.max_list_length", "must be at least 1")
	}
	if cfg.MaxVariablesBytes < 2 {
		bad("limits.max_variables_bytes", "must be at least 2")
	}
	for name, max := range cfg.Pagination.Arguments {
		key := "limits.pagination.arguments." + name
		switch {
		case !isName(name):
			bad("limits.pagination.arguments", "%q is not an argument name", name)
		case max < 1:
			bad(key, "must be at least 1")
		}
		l.names[name] = &capRule{max: max, of: "argument " + name, key: "limits.pagination.arguments"}
	}
	for coord, max := range cfg.Pagination.Coordinates {
		typ, field, arg, ok := splitCoordinate(coord)
		switch {
		case !ok:
			bad("limits.pagination.coordinates", "%q is not a schema coordinate Type.field.argument", coord)
			continue
		case max < 1:
			bad("limits.pagination.coordinates."+coord, "must be at least 1")
		}
		if schema != nil {
			if msg := missingCoordinate(schema, typ, field, arg); msg != "" {
				bad("limits.pagination.coordinates."+coord, "%s", msg)
			}
		}
		l.coords[coord] = &capRule{max: max, of: coord, key: "limits.pagination.coordinates"}
	}
	if len(problems) > 0 {
		slices.Sort(problems) // maps iterate in random order
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = errors.New(p)
		}
		return nil, errors.Join(errs...)
	}
	return l, nil
}

// splitCoordinate splits Type.field.argument into its three names.
func splitCoordinate(coord string) (typ, field, arg string, ok bool) {
	parts := strings.Split(coord, ".")
	if len(parts) != 3 || !isName(parts[0]) || !isName(parts[1]) || !isName(parts[2]) {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// missingCoordinate says what of Type.field.argument the schema lacks; ""
// when it has it all.
func missingCoordinate(schema *ast.Schema, typ, field, arg string) string {
	def := schema.Types[typ]
	if def == nil || (def.Kind != ast.Object && def.Kind != ast.Interface) {
		return "the schema has no object type " + typ
	}
	fd := def.Fields.ForName(field)
	if fd == nil {
		return "the schema has no field " + typ + "." + field
	}
	if fd.Arguments.ForName(arg) == nil {
		return "the schema has no argument " + arg + " on " + typ + "." + field
	}
	return ""
}

// rule returns the cap of argument arg of field on type parent ("" when the
// type is not known), or nil. A coordinate wins over an argument name.
func (l *Limits) rule(parent, field, arg string) *capRule {
	if parent != "" && len(l.coords) > 0 {
		if c := l.coords[parent+"."+field+"."+arg]; c != nil {
			return c
		}
	}
	return l.names[arg]
}

// fieldType returns the name of the type of field on type parent, or ""
// when it cannot be known: without a schema, or for a field the schema does
// not have.
func (l *Limits) fieldType(parent, field string) string {
	if l.schema == nil || parent == "" {
		return ""
	}
	def := l.schema.Types[parent]
	if def == nil {
		return ""
	}
	fd := def.Fields.ForName(field)
	if fd == nil {
		return ""
	}
	return fd.Type.Name()
}

// rootType returns the name of the root type of operations of kind op.
func (l *Limits) rootType(op ast.Operation) string {
	var def *ast.Definition
	name := "Query"
	switch op {
	case ast.Mutation:
		name = "Mutation"
		if l.schema != nil {
			def = l.schema.Mutation
		}
	case ast.Subscription:
		name = "Subscription"
		if l.schema != nil {
			def = l.schema.Subscription
		}
	default:
		if l.schema != nil {
			def = l.schema.Query
		}
	}
	if def != nil {
		return def.Name
	}
	return name
}
