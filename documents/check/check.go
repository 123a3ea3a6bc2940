package check

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/limits"
)

// Rules are the limits documents are checked against. A zero maximum is not
// checked.
type Rules struct {
	// MaxBytes bounds a document's text: a larger one is refused unparsed.
	MaxBytes int
	// MaxDepth bounds the nesting of selection sets of an operation.
	MaxDepth int
	// MaxAliases bounds the aliased fields an operation executes.
	MaxAliases int
	// MaxRootFields bounds the root fields of an operation.
	MaxRootFields int
	// MaxCost bounds the estimated cost of an operation. With zero the cost
	// is still reported.
	MaxCost int
	// Pagination caps pagination arguments by name and by schema coordinate
	// (the coordinate winning); Default is the list size assumed when nothing
	// tells it (DefaultListSize when zero).
	Pagination limits.Pagination
}

// DefaultListSize is the list size cost estimates assume when
// Rules.Pagination.Default is zero; it is also the configuration's default
// for limits.pagination.default.
const DefaultListSize = 100

func (r Rules) defaultSize() int {
	if r.Pagination.Default > 0 {
		return r.Pagination.Default
	}
	return DefaultListSize
}

// Input is a document to check and the file it came from. An entry without
// an ID is given the SHA-256 id of its text.
type Input struct {
	Entry documents.Entry
	// File names the document in findings; it may be empty.
	File string
}

// Severities of findings. Only errors fail a check.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Rule names, as findings report them.
const (
	RuleParse               = "parse"
	RuleSize                = "size"
	RuleSchema              = "schema"
	RuleDepth               = "depth"
	RuleAliases             = "aliases"
	RuleRootFields          = "root-fields"
	RuleCost                = "cost"
	RuleUnboundedPagination = "unbounded-pagination"
	// RuleUnsetPagination warns of a paginated field whose page size the
	// document leaves to the server.
	RuleUnsetPagination = "unset-pagination"
	// RuleDeprecated warns of a deprecated field in use.
	RuleDeprecated = "deprecated"
)

// Finding is one problem in one document.
type Finding struct {
	// Rule is one of the Rule constants.
	Rule string `json:"rule"`
	// Severity is SeverityError or SeverityWarning.
	Severity string `json:"severity"`
	// Document is the document's id.
	Document documents.ID `json:"document"`
	// File is the file the document came from, if known.
	File string `json:"file,omitempty"`
	// Operation names the operation the finding concerns: "" for an
	// anonymous operation or for the whole document (parse), "fragment F"
	// for a schema error inside fragment F.
	Operation string `json:"operation"`
	// Line and Column locate the finding in the document (1-based; zero
	// when unknown).
	Line   int `json:"line"`
	Column int `json:"column"`
	// Message says what is wrong and how to fix it.
	Message string `json:"message"`
}

// Cost is the estimated cost of one operation.
type Cost struct {
	Document  documents.ID `json:"document"`
	File      string       `json:"file,omitempty"`
	Operation string       `json:"operation"`
	Cost      int          `json:"cost"`
}

// Report is the result of a check.
type Report struct {
	// Documents is the number of documents checked.
	Documents int
	// Findings in input order, then by position in each document.
	Findings []Finding
	// Costs of every operation of the documents that parse, in input order.
	Costs []Cost
}

// Failed reports whether any finding is an error.
func (r Report) Failed() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == SeverityError })
}

// Entries is Check of entries, each named in findings by file(its id).
func Entries(schema *ast.Schema, entries []documents.Entry, rules Rules, file func(documents.ID) string) Report {
	inputs := make([]Input, len(entries))
	for i, e := range entries {
		inputs[i] = Input{Entry: e, File: file(e.ID)}
	}
	return Check(schema, inputs, rules)
}

// Check checks docs against rules and, when schema is not nil, against the
// schema: a schema change that breaks a registered document makes the check
// of that document fail. It never stops at the first problem: every finding
// of every document is reported.
func Check(schema *ast.Schema, docs []Input, rules Rules) Report {
	r := Report{Documents: len(docs)}
	for _, in := range docs {
		c := &docCheck{schema: schema, rules: rules, in: in}
		c.run()
		slices.SortStableFunc(c.findings, func(a, b Finding) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		r.Findings = append(r.Findings, c.findings...)
		r.Costs = append(r.Costs, c.costs...)
	}
	return r
}

// docCheck checks one document.
type docCheck struct {
	schema   *ast.Schema
	rules    Rules
	in       Input
	findings []Finding
	costs    []Cost
}

func (c *docCheck) add(rule, severity, op string, pos *ast.Position, format string, args ...any) {
	f := Finding{
		Rule:      rule,
		Severity:  severity,
		Document:  c.in.Entry.ID,
		File:      c.in.File,
		Operation: op,
		Message:   fmt.Sprintf(format, args...),
	}
	if pos != nil {
		f.Line, f.Column = pos.Line, pos.Column
	}
	c.findings = append(c.findings, f)
}

func (c *docCheck) run() {
	if c.in.Entry.ID == "" {
		c.in.Entry.ID = documents.SHA256(c.in.Entry.Text)
	}
	if limit := c.rules.MaxBytes; limit > 0 && len(c.in.Entry.Text) > limit {
		c.add(RuleSize, SeverityError, "", nil, "the document is %d bytes; the limit is %d", len(c.in.Entry.Text), limit)
		return
	}
	d, err := documents.Parse(c.in.Entry)
	if err != nil {
		c.parseFailed(err)
		return
	}
	if c.schema != nil {
		c.validate(d)
	}
	w := newWalker(c, d)
	for _, op := range d.Operations {
		c.limits(d, op)
		cost := w.operation(op)
		c.costs = append(c.costs, Cost{Document: c.in.Entry.ID, File: c.in.File, Operation: op.Name, Cost: cost})
		if c.rules.MaxCost > 0 && cost > c.rules.MaxCost {
			c.add(RuleCost, SeverityError, op.Name, op.Def.Position,
				"the operation's estimated cost is %d; the limit is %d", cost, c.rules.MaxCost)
		}
	}
}

func (c *docCheck) parseFailed(err error) {
	var gerr *gqlerror.Error
	if errors.As(err, &gerr) {
		pos := &ast.Position{}
		if len(gerr.Locations) > 0 {
			pos.Line, pos.Column = gerr.Locations[0].Line, gerr.Locations[0].Column
		}
		c.add(RuleParse, SeverityError, "", pos, "the document does not parse: %s", gerr.Message)
		return
	}
	msg := err.Error()
	var eerr *envelope.Error
	if errors.As(err, &eerr) {
		msg = eerr.Message
	}
	c.add(RuleParse, SeverityError, "", nil, "%s", msg)
}

// validate reports every schema validation error with its location, once
// (the validator reports an error in a fragment for each spread of it too).
func (c *docCheck) validate(d *documents.Document) {
	type key struct {
		line, column int
		message      string
	}
	seen := map[key]bool{}
	for _, e := range validator.ValidateWithRules(c.schema, d.AST, nil) {
		pos := &ast.Position{}
		if len(e.Locations) > 0 {
			pos.Line, pos.Column = e.Locations[0].Line, e.Locations[0].Column
		}
		k := key{pos.Line, pos.Column, e.Message}
		if seen[k] {
			continue
		}
		seen[k] = true
		c.add(RuleSchema, SeverityError, definitionAt(d.AST, pos), pos,
			"the document does not validate against the schema: %s", e.Message)
	}
}

// limits checks the depth, aliases and root fields of an operation.
func (c *docCheck) limits(d *documents.Document, op *documents.Operation) {
	m := documents.MeasureOperation(d, op)
	pos := op.Def.Position
	if limit := c.rules.MaxDepth; limit > 0 && m.Depth > limit {
		c.add(RuleDepth, SeverityError, op.Name, pos, "the operation is %d levels deep; the limit is %d", m.Depth, limit)
	}
	if limit := c.rules.MaxAliases; limit > 0 && m.Aliases > limit {
		c.add(RuleAliases, SeverityError, op.Name, pos, "the operation has %d aliased fields; the limit is %d", m.Aliases, limit)
	}
	if limit := c.rules.MaxRootFields; limit > 0 && m.RootFields > limit {
		c.add(RuleRootFields, SeverityError, op.Name, pos, "the operation selects %d root fields; the limit is %d", m.RootFields, limit)
	}
}

// definitionAt names the operation or fragment that holds pos: the last
// definition that starts before it.
func definitionAt(doc *ast.QueryDocument, pos *ast.Position) string {
	name, best := "", (*ast.Position)(nil)
	before := func(p *ast.Position) bool {
		return p != nil && (p.Line < pos.Line || p.Line == pos.Line && p.Column <= pos.Column) &&
			(best == nil || p.Line > best.Line || p.Line == best.Line && p.Column > best.Column)
	}
	for _, op := range doc.Operations {
		if before(op.Position) {
			name, best = op.Name, op.Position
		}
	}
	for _, f := range doc.Fragments {
		if before(f.Position) {
			name, best = "fragment "+f.Name, f.Position
		}
	}
	return name
}
