package limits

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Config is what Limits are built from: the limits section of gqlguard's
// configuration, or the options of a server that embeds the package. The
// zero value caps nothing.
type Config struct {
	// Pagination caps pagination-style arguments: by argument name (first,
	// last, limit) and by schema coordinate (Query.invoices.first, or
	// PageInput.first for a field of an input object), the coordinate
	// winning. gqlguard's default: first, last, limit: 100.
	Pagination Pagination `yaml:"pagination"`
	// MaxListLength caps every list in the variables; 0 means no cap.
	// gqlguard's default: 1000.
	MaxListLength int `yaml:"max_list_length"`
	// MaxVariablesBytes caps the size of the variables JSON; 0 means no cap.
	// gqlguard's default: 65536.
	MaxVariablesBytes int `yaml:"max_variables_bytes"`
	// MaxVariablesDepth caps how deeply lists and objects nest within one
	// variable's value: {"v": [[1]]} is 2 levels deep. gqlguard's
	// default: 32.
	MaxVariablesDepth int `yaml:"max_variables_depth"`
}

// Pagination caps pagination arguments.
type Pagination struct {
	// Arguments maps argument names to their maximum.
	Arguments map[string]int `yaml:"arguments"`
	// Coordinates maps Type.field.argument, or InputType.field, to its
	// maximum.
	Coordinates map[string]int `yaml:"coordinates"`
	// Default is the list size assumed for cost estimates when nothing
	// caps an argument. gqlguard's default: 100.
	Default int `yaml:"default"`
}

// Limits are the runtime bounds on variables, built from a Config. A Limits is immutable and safe for concurrent use.
type Limits struct {
	schema   *ast.Schema
	maxList  int
	maxBytes int
	maxDepth int
	// names caps arguments by name, coords by schema coordinate
	// (Type.field.argument); a coordinate wins over a name.
	names  map[string]*capRule
	coords map[string]*capRule
	// fields caps the fields of the schema's input objects: by coordinate
	// (InputType.field), else by name for fields that can hold a number.
	// Empty without a schema, where only names apply to object members.
	fields map[*ast.FieldDefinition]*capRule
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

// Validate reports every problem of cfg that needs no schema, each
// prefixed by its configuration key: caps of at least 1, argument names,
// the form of coordinates, and, when withSchema is false, coordinates of
// input fields (they need the schema). New refuses the same; gqlguard's
// config check runs it so that a file serve would refuse never passes.
func (cfg Config) Validate(withSchema bool) error {
	var problems problemList
	if cfg.MaxListLength < 1 {
		problems.add("limits.max_list_length", "must be at least 1")
	}
	if cfg.MaxVariablesBytes < 2 {
		problems.add("limits.max_variables_bytes", "must be at least 2")
	}
	if cfg.MaxVariablesDepth < 1 {
		problems.add("limits.max_variables_depth", "must be at least 1")
	}
	for name, max := range cfg.Pagination.Arguments {
		switch {
		case !isName(name):
			problems.add("limits.pagination.arguments", "%q is not an argument name", name)
		case max < 1:
			problems.add("limits.pagination.arguments."+name, "must be at least 1")
		}
	}
	for coord, max := range cfg.Pagination.Coordinates {
		key := "limits.pagination.coordinates." + coord
		parts, ok := splitCoordinate(coord)
		switch {
		case !ok:
			problems.add("limits.pagination.coordinates", "%q is not a schema coordinate Type.field.argument or InputType.field", coord)
			continue
		case max < 1:
			problems.add(key, "must be at least 1")
		}
		if len(parts) == 2 && !withSchema {
			problems.add(key, "%s", missingInputField(nil, parts[0], parts[1]))
		}
	}
	return problems.err()
}

// problemList collects configuration problems, reported sorted (maps
// iterate in random order).
type problemList []string

func (p *problemList) add(key, format string, args ...any) {
	*p = append(*p, key+": "+fmt.Sprintf(format, args...))
}

func (p problemList) err() error {
	if len(p) == 0 {
		return nil
	}
	slices.Sort(p)
	errs := make([]error, len(p))
	for i, msg := range p {
		errs[i] = errors.New(msg)
	}
	return errors.Join(errs...)
}

// New builds the limits of cfg. With a schema (nil means none), every
// configured coordinate must name an argument (Type.field.argument) or an
// input field (InputType.field) the schema has, variables are coerced
// against their input types, and caps apply to nested fields and to the
// fields of input objects. Coordinates of input fields need the schema.
// Every problem is reported, each prefixed by its configuration key.
func New(cfg Config, schema *ast.Schema) (*Limits, error) {
	if err := cfg.Validate(schema != nil); err != nil {
		return nil, err
	}
	l := &Limits{
		schema:   schema,
		maxList:  cfg.MaxListLength,
		maxBytes: cfg.MaxVariablesBytes,
		maxDepth: cfg.MaxVariablesDepth,
		names:    make(map[string]*capRule, len(cfg.Pagination.Arguments)),
		coords:   make(map[string]*capRule, len(cfg.Pagination.Coordinates)),
	}
	var problems problemList
	for name, max := range cfg.Pagination.Arguments {
		l.names[name] = &capRule{max: max, of: "argument " + name, key: "limits.pagination.arguments"}
	}
	inputs := map[string]*capRule{}
	for coord, max := range cfg.Pagination.Coordinates {
		parts, _ := splitCoordinate(coord) // checked by Validate
		rule := &capRule{max: max, of: coord, key: "limits.pagination.coordinates"}
		key := "limits.pagination.coordinates." + coord
		if len(parts) == 2 {
			if msg := missingInputField(schema, parts[0], parts[1]); msg != "" {
				problems.add(key, "%s", msg)
			}
			inputs[coord] = rule
			continue
		}
		if schema != nil {
			if msg := missingCoordinate(schema, parts[0], parts[1], parts[2]); msg != "" {
				problems.add(key, "%s", msg)
			}
		}
		l.coords[coord] = rule
	}
	if err := problems.err(); err != nil {
		return nil, err
	}
	if schema != nil {
		l.fields = inputFieldCaps(schema, l.names, inputs)
	}
	return l, nil
}

// splitCoordinate splits Type.field.argument or InputType.field into its
// names.
func splitCoordinate(coord string) ([]string, bool) {
	parts := strings.Split(coord, ".")
	if len(parts) != 2 && len(parts) != 3 {
		return nil, false
	}
	for _, p := range parts {
		if !isName(p) {
			return nil, false
		}
	}
	return parts, true
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

// missingInputField says why InputType.field cannot be capped; "" when it
// can. The fields of input types are known only from a schema.
func missingInputField(schema *ast.Schema, typ, field string) string {
	if schema == nil {
		return "names an input type's field (InputType.field), which needs the schema (documents.schema); an argument is named " + typ + "." + field + ".<argument>"
	}
	def := schema.Types[typ]
	if def == nil || def.Kind != ast.InputObject {
		return "the schema has no input type " + typ
	}
	fd := def.Fields.ForName(field)
	if fd == nil {
		return "the schema has no input field " + typ + "." + field
	}
	if !HoldsNumber(schema, fd.Type) {
		return typ + "." + field + " is of type " + fd.Type.String() + ", which holds no number to cap"
	}
	return ""
}

// HoldsNumber reports whether values of type t are numbers or may be in
// schema (nil: none): Int, Float and custom scalars, or lists of them. A
// pagination cap can bound only those.
func HoldsNumber(schema *ast.Schema, t *ast.Type) bool {
	switch t.Name() {
	case "Int", "Float":
		return true
	case "String", "Boolean", "ID":
		return false
	}
	if schema == nil {
		return false
	}
	def := schema.Types[t.Name()]
	return def != nil && def.Kind == ast.Scalar
}

// InputObject returns the input object of type t (through lists) in schema,
// or nil (also when schema is nil).
func InputObject(schema *ast.Schema, t *ast.Type) *ast.Definition {
	if schema == nil {
		return nil
	}
	def := schema.Types[t.Name()]
	if def == nil || def.Kind != ast.InputObject {
		return nil
	}
	return def
}

// inputFieldCaps returns the caps of the input fields of schema: the
// coordinate InputType.field when inputs has one, else the cap of the
// field's name when the field can hold a number. An input object's field
// named like a pagination argument is taken for one wherever the object is
// passed to a field; a coordinate can lift the cap of a field that is not.
func inputFieldCaps(schema *ast.Schema, names, inputs map[string]*capRule) map[*ast.FieldDefinition]*capRule {
	caps := map[*ast.FieldDefinition]*capRule{}
	for _, def := range schema.Types {
		if def.Kind != ast.InputObject {
			continue
		}
		for _, fd := range def.Fields {
			if c := inputs[def.Name+"."+fd.Name]; c != nil {
				caps[fd] = c
			} else if c := names[fd.Name]; c != nil && HoldsNumber(schema, fd.Type) {
				caps[fd] = c
			}
		}
	}
	return caps
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
	if fd := l.fieldDef(parent, field); fd != nil {
		return fd.Type.Name()
	}
	return ""
}

// fieldDef returns the schema's definition of field on type parent, or nil.
func (l *Limits) fieldDef(parent, field string) *ast.FieldDefinition {
	if l.schema == nil || parent == "" {
		return nil
	}
	def := l.schema.Types[parent]
	if def == nil {
		return nil
	}
	return def.Fields.ForName(field)
}

// argInput returns the input object argument arg of field on type parent
// takes, or nil when it takes none or that cannot be known.
func (l *Limits) argInput(parent, field, arg string) *ast.Definition {
	fd := l.fieldDef(parent, field)
	if fd == nil {
		return nil
	}
	ad := fd.Arguments.ForName(arg)
	if ad == nil {
		return nil
	}
	return InputObject(l.schema, ad.Type)
}

// memberRule returns the cap of the member name of an object value, fd
// being its input field (nil when not known). With a schema it is the input
// field's cap (fields holds the name caps of fields that can hold a number
// too), so members of custom scalars and fields the type lacks (which
// coercion refuses) have none; without one it is the name's. Literals in the
// document and variables both go by it.
func (l *Limits) memberRule(fd *ast.FieldDefinition, name string) *capRule {
	switch {
	case fd != nil:
		return l.fields[fd]
	case l.schema != nil:
		return nil
	}
	return l.names[name]
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

// capsMembers reports whether any cap applies to the members of objects in
// variables: an input field cap with a schema, a name cap without one.
func (l *Limits) capsMembers() bool {
	if l.schema != nil {
		return len(l.fields) > 0
	}
	return len(l.names) > 0
}
