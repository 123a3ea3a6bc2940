package documents

import (
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/lexer"

	"github.com/gqlguard/gqlguard/envelope"
)

// Metrics are cheap structural measures of a document, taken on the request
// path for free-form documents (capture and off modes) before they are
// forwarded.
type Metrics struct {
	// Depth is the deepest nesting of selection sets: { a } is 1 deep,
	// { a { b } } is 2. Fragment spreads and inline fragments add no level
	// of their own; their selections count where they are spread.
	Depth int
	// Aliases is the number of aliased fields (a field whose alias differs
	// from its name) an operation executes: a fragment's aliases count each
	// time the fragment is spread.
	Aliases int
	// RootFields is the number of root fields of the operation that selects
	// the most.
	RootFields int
	// Tokens is the number of lexical tokens of the text, comments excluded.
	Tokens int
}

// metricCap bounds the alias count, which fragments spread inside fragments
// can make grow exponentially.
const metricCap = 1 << 30

// Measure returns the metrics of d: the largest depth, alias and root field
// counts of its operations and the tokens of its text. Fragment cycles (which
// validation refuses) are cut, and each fragment is measured once however
// often it is spread, so the work is linear in the size of the document.
//
// Measure counts tokens without a cap; on the request path, call MeasureText
// with the cap before parsing, so that an oversized text is never parsed.
func Measure(d *Document) Metrics {
	m := MeasureStructure(d)
	m.Tokens, _ = MeasureText(d.Text, 0)
	return m
}

// MeasureStructure is Measure without the token count (Tokens is zero), for
// callers that counted tokens with MeasureText before parsing.
func MeasureStructure(d *Document) Metrics {
	var m Metrics
	ms := measurer{frags: d.AST.Fragments}
	for _, op := range d.Operations {
		om := ms.operation(op)
		m.Depth = max(m.Depth, om.Depth)
		m.Aliases = max(m.Aliases, om.Aliases)
		m.RootFields = max(m.RootFields, om.RootFields)
	}
	return m
}

// MeasureOperation returns the depth, aliases and root fields of one
// operation of d; Tokens is left zero.
func MeasureOperation(d *Document, op *Operation) Metrics {
	ms := measurer{frags: d.AST.Fragments}
	return ms.operation(op)
}

// MeasureText counts the lexical tokens of text, comments excluded. With
// maxTokens above zero it stops as soon as the count passes maxTokens and
// returns a LIMIT_EXCEEDED error, so that an oversized document is refused
// before it is parsed. A text that does not lex is a GRAPHQL_PARSE_FAILED
// error.
func MeasureText(text string, maxTokens int) (int, error) {
	lx := lexer.New(&ast.Source{Input: text})
	n := 0
	for {
		tok, err := lx.ReadToken()
		if err != nil {
			return n, parseError(err)
		}
		switch tok.Kind {
		case lexer.EOF:
			return n, nil
		case lexer.Comment:
			continue
		}
		n++
		if maxTokens > 0 && n > maxTokens {
			return n, envelope.Errorf(envelope.CodeLimitExceeded,
				"the document has more than %d tokens; the limit is %d (documents.free_form.max_tokens)", maxTokens, maxTokens)
		}
	}
}

// FreeFormLimits bound documents that were not registered (capture and off
// modes). A limit of zero or less is not checked.
type FreeFormLimits struct {
	// MaxDepth of selection sets. gqlguard's default: 15.
	MaxDepth int `yaml:"max_depth"`
	// MaxAliases in a document. gqlguard's default: 30.
	MaxAliases int `yaml:"max_aliases"`
	// MaxTokens in a document. gqlguard's default: 5000.
	MaxTokens int `yaml:"max_tokens"`
}

// Check compares m with the free-form limits and returns a LIMIT_EXCEEDED
// *envelope.Error naming the first limit exceeded (tokens, depth, then
// aliases) and the document's value; nil when all hold. A limit of zero or
// less is not checked.
func (m Metrics) Check(limits FreeFormLimits) error {
	switch {
	case limits.MaxTokens > 0 && m.Tokens > limits.MaxTokens:
		return envelope.Errorf(envelope.CodeLimitExceeded,
			"the document has %d tokens; the limit is %d (documents.free_form.max_tokens)", m.Tokens, limits.MaxTokens)
	case limits.MaxDepth > 0 && m.Depth > limits.MaxDepth:
		return envelope.Errorf(envelope.CodeLimitExceeded,
			"the document is %d levels deep; the limit is %d (documents.free_form.max_depth)", m.Depth, limits.MaxDepth)
	case limits.MaxAliases > 0 && m.Aliases > limits.MaxAliases:
		return envelope.Errorf(envelope.CodeLimitExceeded,
			"the document has %d aliases; the limit is %d (documents.free_form.max_aliases)", m.Aliases, limits.MaxAliases)
	}
	return nil
}

// fragMetrics is the memoized measure of one fragment definition.
type fragMetrics struct {
	depth, aliases int
	done, active   bool
}

// measurer measures selection sets, memoizing fragments.
type measurer struct {
	frags ast.FragmentDefinitionList
	memo  map[string]*fragMetrics
}

func (ms *measurer) operation(op *Operation) Metrics {
	depth, aliases := ms.set(op.Def.SelectionSet)
	return Metrics{Depth: depth, Aliases: aliases, RootFields: len(op.RootFields)}
}

// set returns the depth and alias count of a selection set.
func (ms *measurer) set(set ast.SelectionSet) (depth, aliases int) {
	for _, sel := range set {
		var d, a int
		switch s := sel.(type) {
		case *ast.Field:
			d, a = ms.set(s.SelectionSet)
			d++
			if s.Alias != "" && s.Alias != s.Name {
				a++
			}
		case *ast.InlineFragment:
			d, a = ms.set(s.SelectionSet)
		case *ast.FragmentSpread:
			d, a = ms.fragment(s.Name)
		}
		depth = max(depth, d)
		aliases = min(aliases+a, metricCap)
	}
	return depth, aliases
}

// fragment returns the measure of the named fragment, computing it once. A
// spread of a fragment being measured (a cycle) or of an unknown fragment
// counts as empty.
func (ms *measurer) fragment(name string) (depth, aliases int) {
	if ms.memo == nil {
		ms.memo = make(map[string]*fragMetrics, len(ms.frags))
	}
	fm := ms.memo[name]
	if fm == nil {
		fm = &fragMetrics{}
		ms.memo[name] = fm
	}
	if fm.done || fm.active {
		return fm.depth, fm.aliases
	}
	def := ms.frags.ForName(name)
	if def == nil {
		fm.done = true
		return 0, 0
	}
	fm.active = true
	fm.depth, fm.aliases = ms.set(def.SelectionSet)
	fm.active, fm.done = false, true
	return fm.depth, fm.aliases
}
