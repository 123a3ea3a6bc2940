package check

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/documents"
)

// Use is one operation of one document that selects a field.
type Use struct {
	Document  documents.ID `json:"document"`
	File      string       `json:"file,omitempty"`
	Operation string       `json:"operation"`
}

// FieldUsage lists the operations that select one schema field.
type FieldUsage struct {
	// Coordinate is the field's schema coordinate, Type.field.
	Coordinate string `json:"coordinate"`
	// Uses are sorted by file, document and operation.
	Uses []Use `json:"uses"`
}

// UsageReport answers "can I remove this field?" across a set of documents.
type UsageReport struct {
	// Fields are the schema fields some document selects, by coordinate.
	Fields []FieldUsage `json:"fields"`
	// Unused are the coordinates of the object and interface fields no
	// document selects, sorted. A field that implements a selected
	// interface field counts as used: it cannot go while the interface
	// field stays.
	Unused []string `json:"unused"`
}

// Usage maps each schema field the documents select, following fragments
// and resolving types with schema, to the operations that select it, and
// lists the fields none selects. Documents that do not parse are skipped
// (Check reports them), and so are fields the schema lacks. A nil schema
// gives an empty report.
func Usage(schema *ast.Schema, docs []Input) UsageReport {
	r := UsageReport{Fields: []FieldUsage{}, Unused: []string{}}
	if schema == nil {
		return r
	}
	uses := map[string]map[Use]bool{}
	for _, in := range docs {
		e := in.Entry
		if e.ID == "" {
			e.ID = documents.SHA256(e.Text)
		}
		d, err := documents.Parse(e)
		if err != nil {
			continue
		}
		for _, op := range d.Operations {
			u := Use{Document: e.ID, File: in.File, Operation: op.Name}
			uw := usageWalker{schema: schema, frags: d.AST.Fragments, seen: map[string]bool{}, use: func(coord string) {
				if uses[coord] == nil {
					uses[coord] = map[Use]bool{}
				}
				uses[coord][u] = true
			}}
			uw.set(op.Def.SelectionSet, rootType(schema, op.Type))
		}
	}
	for coord, set := range uses {
		fu := FieldUsage{Coordinate: coord}
		for u := range set {
			fu.Uses = append(fu.Uses, u)
		}
		slices.SortFunc(fu.Uses, func(a, b Use) int {
			return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Document, b.Document), cmp.Compare(a.Operation, b.Operation))
		})
		r.Fields = append(r.Fields, fu)
	}
	slices.SortFunc(r.Fields, func(a, b FieldUsage) int { return cmp.Compare(a.Coordinate, b.Coordinate) })
	r.Unused = unused(schema, uses)
	return r
}

// unused returns the coordinates of the fields of user-defined object and
// interface types that no document selects, directly or through an
// interface the type implements.
func unused(schema *ast.Schema, uses map[string]map[Use]bool) []string {
	out := []string{}
	for _, def := range schema.Types {
		if def.BuiltIn || strings.HasPrefix(def.Name, "__") || (def.Kind != ast.Object && def.Kind != ast.Interface) {
			continue
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") || uses[def.Name+"."+f.Name] != nil {
				continue
			}
			viaInterface := slices.ContainsFunc(def.Interfaces, func(iface string) bool { return uses[iface+"."+f.Name] != nil })
			if !viaInterface {
				out = append(out, def.Name+"."+f.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// usageWalker records the coordinates an operation selects. Each fragment
// is walked once per operation: its coordinates do not depend on where it
// is spread.
type usageWalker struct {
	schema *ast.Schema
	frags  ast.FragmentDefinitionList
	seen   map[string]bool
	use    func(coord string)
}

func (uw *usageWalker) set(set ast.SelectionSet, parent *ast.Definition) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			def := fieldDef(parent, s.Name)
			if def == nil {
				continue
			}
			uw.use(parent.Name + "." + s.Name)
			uw.set(s.SelectionSet, typeNamed(uw.schema, def.Type.Name()))
		case *ast.InlineFragment:
			t := parent
			if s.TypeCondition != "" {
				t = typeNamed(uw.schema, s.TypeCondition)
			}
			uw.set(s.SelectionSet, t)
		case *ast.FragmentSpread:
			if uw.seen[s.Name] {
				continue
			}
			uw.seen[s.Name] = true
			if f := uw.frags.ForName(s.Name); f != nil {
				uw.set(f.SelectionSet, typeNamed(uw.schema, f.TypeCondition))
			}
		}
	}
}

// Uses returns the operations that select the field at coordinate
// (Type.field); none when no document selects it.
func (u UsageReport) Uses(coordinate string) []Use {
	i, ok := slices.BinarySearchFunc(u.Fields, coordinate, func(f FieldUsage, c string) int { return cmp.Compare(f.Coordinate, c) })
	if !ok {
		return nil
	}
	return u.Fields[i].Uses
}

// WriteText writes u for people: each used field with the operations that
// select it, then the unused fields.
func (u UsageReport) WriteText(w io.Writer) error {
	var b bytes.Buffer
	for _, f := range u.Fields {
		fmt.Fprintf(&b, "%s (%s)\n", f.Coordinate, plural(len(f.Uses), "operation"))
		for _, use := range f.Uses {
			fmt.Fprintf(&b, "  %s: %s\n", source(use.File, use.Document), operationName(use.Operation))
		}
	}
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "unused fields (%d):\n", len(u.Unused))
	for _, c := range u.Unused {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteJSON writes u as one indented JSON object with the fields fields
// (coordinate, uses: document, file, operation) and unused.
func (u UsageReport) WriteJSON(w io.Writer) error {
	if u.Fields == nil {
		u.Fields = []FieldUsage{}
	}
	if u.Unused == nil {
		u.Unused = []string{}
	}
	return writeJSON(w, u)
}
