package documents

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/envelope"
)

func mustParse(t testing.TB, text string) *Document {
	t.Helper()
	d, err := Parse(Entry{ID: SHA256(text), Text: text})
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return d
}

func TestMeasure(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Metrics
	}{
		{"a single field is one level deep", "{ a }",
			Metrics{Depth: 1, RootFields: 1, Tokens: 3}},
		{"nested selections add levels", "{ a { b { c } } d }",
			Metrics{Depth: 3, RootFields: 2, Tokens: 10}},
		{"the deepest operation wins", "query A { a } query B { b { c { d } } }",
			Metrics{Depth: 3, RootFields: 1, Tokens: 16}},
		{"fragment spreads count where they are spread",
			"{ a { ...F } } fragment F on A { b { c } }",
			Metrics{Depth: 3, RootFields: 1, Tokens: 17}},
		{"inline fragments add no level",
			"{ a { ... on A { b { ... { c } } } } }",
			Metrics{Depth: 3, RootFields: 1, Tokens: 17}},
		{"root fields through fragments",
			"{ ...R c } fragment R on Query { a b }",
			Metrics{Depth: 1, RootFields: 3, Tokens: 13}},
		{"aliased fields are counted",
			"{ x: a y: a a z: b { w: c } }",
			Metrics{Depth: 2, Aliases: 4, RootFields: 4, Tokens: 17}},
		{"an alias equal to the name is no alias", "{ a: a }",
			Metrics{Depth: 1, RootFields: 1, Tokens: 5}},
		{"a fragment's aliases count at every spread",
			"{ p: a { ...F } q: a { ...F } } fragment F on A { x: b y: b }",
			Metrics{Depth: 2, Aliases: 6, RootFields: 2, Tokens: 28}},
		{"aliases are counted per operation",
			"query A { x: a } query B { x: a y: a }",
			Metrics{Depth: 1, Aliases: 2, RootFields: 2, Tokens: 17}},
		{"a fragment cycle is cut",
			"{ a { ...F } } fragment F on A { b { ...G } } fragment G on B { c { ...F } }",
			Metrics{Depth: 3, RootFields: 1, Tokens: 29}},
		{"a fragment spreading itself is cut",
			"{ a { ...F } } fragment F on A { x: b { ...F } }",
			Metrics{Depth: 2, Aliases: 1, RootFields: 1, Tokens: 20}},
		{"an unknown fragment counts as empty", "{ a { ...Missing } }",
			Metrics{Depth: 1, RootFields: 1, Tokens: 7}},
		{"comments are not tokens", "# comment\n{ a # trailing\n}",
			Metrics{Depth: 1, RootFields: 1, Tokens: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Measure(mustParse(t, tt.text)); got != tt.want {
				t.Errorf("Measure(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestMeasureOperation(t *testing.T) {
	d := mustParse(t, "query A { a } query B { x: b { c } d }")
	want := []Metrics{{Depth: 1, RootFields: 1}, {Depth: 2, Aliases: 1, RootFields: 2}}
	for i, op := range d.Operations {
		if got := MeasureOperation(d, op); got != want[i] {
			t.Errorf("MeasureOperation(%s) = %+v, want %+v", op.Name, got, want[i])
		}
	}
}

func TestMeasureExponentialFragmentsStayLinear(t *testing.T) {
	// Each fragment spreads the next one twice under aliases: expanded, the
	// document would hold 2^40 fields. Measuring must not expand it.
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	const n = 40
	for i := range n {
		b.WriteString("fragment F" + strconv.Itoa(i) + " on Query { x: a { ...F" + strconv.Itoa(i+1) + " } y: a { ...F" + strconv.Itoa(i+1) + " } }\n")
	}
	b.WriteString("fragment F" + strconv.Itoa(n) + " on Query { leaf }\n")
	m := Measure(mustParse(t, b.String()))
	if m.Depth != n+1 {
		t.Errorf("Depth = %d, want %d", m.Depth, n+1)
	}
	if m.Aliases != metricCap {
		t.Errorf("Aliases = %d, want the cap %d", m.Aliases, metricCap)
	}
}

func TestMeasureText(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		maxTokens int
		want      int
		code      envelope.Code
	}{
		{"no cap counts every token", "query Q($a: Int = 1) { f(a: $a) @d }", 0, 21, ""},
		{"at the cap is allowed", "{ a b }", 4, 4, ""},
		{"past the cap stops early", "{ a b c d e f g }", 3, 4, envelope.CodeLimitExceeded},
		{"strings and block strings are one token each", `{ f(a: "x y", b: """z w""") }`, 0, 11, ""},
		{"a text that does not lex", "{ a ^ }", 0, 2, envelope.CodeGraphQLParseFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MeasureText(tt.text, tt.maxTokens)
			if got != tt.want {
				t.Errorf("MeasureText = %d, want %d", got, tt.want)
			}
			checkCode(t, err, tt.code)
		})
	}
}

func TestMeasureTextRefusesHugeDocumentEarly(t *testing.T) {
	// 1 MiB of fields: refused after the cap without lexing the rest.
	text := "{ " + strings.Repeat("field ", 1<<20/6) + "}"
	n, err := MeasureText(text, 5000)
	if n != 5001 {
		t.Errorf("counted %d tokens, want to stop at 5001", n)
	}
	checkCode(t, err, envelope.CodeLimitExceeded)
	if err != nil && !strings.Contains(err.Error(), "documents.free_form.max_tokens") {
		t.Errorf("error %q does not name the limit", err)
	}
	// A lexer that kept its tokens would allocate thousands of times; a
	// handful is the lexer's own state (the race detector adds a few).
	allocs := testing.AllocsPerRun(10, func() { _, _ = MeasureText(text, 5000) })
	if allocs > 16 {
		t.Errorf("MeasureText allocated %v times; want a handful", allocs)
	}
}

func TestMetricsCheck(t *testing.T) {
	limits := FreeFormLimits{MaxDepth: 15, MaxAliases: 30, MaxTokens: 5000}
	tests := []struct {
		name string
		m    Metrics
		want string
	}{
		{"within every limit", Metrics{Depth: 15, Aliases: 30, Tokens: 5000}, ""},
		{"too deep", Metrics{Depth: 23, Tokens: 100},
			"the document is 23 levels deep; the limit is 15 (documents.free_form.max_depth)"},
		{"too many aliases", Metrics{Depth: 2, Aliases: 31},
			"the document has 31 aliases; the limit is 30 (documents.free_form.max_aliases)"},
		{"too many tokens", Metrics{Tokens: 5001, Depth: 40},
			"the document has 5001 tokens; the limit is 5000 (documents.free_form.max_tokens)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Check(limits)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var e *envelope.Error
			if !errors.As(err, &e) {
				t.Fatalf("Check = %v, want an *envelope.Error", err)
			}
			if e.Code != envelope.CodeLimitExceeded || e.Message != tt.want {
				t.Errorf("Check = %s %q, want %s %q", e.Code, e.Message, envelope.CodeLimitExceeded, tt.want)
			}
		})
	}
	if err := (Metrics{Depth: 100, Aliases: 100, Tokens: 1 << 20}).Check(FreeFormLimits{}); err != nil {
		t.Errorf("zero limits are not checked, got %v", err)
	}
}

func checkCode(t *testing.T, err error, code envelope.Code) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	var e *envelope.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func BenchmarkMeasure(b *testing.B) {
	text := `query Invoices($first: Int!, $after: String) {
  viewer { id name }
  invoices(first: $first, after: $after) {
    edges { cursor node { ...InvoiceFields customer { id name email } } }
    pageInfo { hasNextPage endCursor }
  }
}
fragment InvoiceFields on Invoice { id number total: amount currency status issuedAt lines { id description amount } }`
	d := mustParse(b, text)
	b.ReportAllocs()
	for b.Loop() {
		_ = Measure(d)
	}
}

func BenchmarkMeasureText(b *testing.B) {
	text := "{ " + strings.Repeat("field ", 4000) + "}"
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := MeasureText(text, 5000); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzMeasure(f *testing.F) {
	f.Add("{ a { ...F } } fragment F on A { x: b { ...F } }", 10)
	f.Add("query Q($a: Int = 1) { f(a: $a) @d }", 3)
	f.Add(`{ f(a: "x\u00e9", b: """z""") } # c`, 0)
	f.Fuzz(func(t *testing.T, text string, maxTokens int) {
		n, err := MeasureText(text, maxTokens)
		if maxTokens > 0 && n > maxTokens+1 {
			t.Fatalf("counted %d tokens past the cap %d", n, maxTokens)
		}
		d, perr := Parse(Entry{Text: text})
		if perr != nil {
			return
		}
		m := Measure(d)
		if err == nil && m.Tokens != n {
			t.Fatalf("Measure counted %d tokens, MeasureText %d", m.Tokens, n)
		}
		if m.Depth < 0 || m.Aliases < 0 || m.Aliases > metricCap {
			t.Fatalf("metrics out of range: %+v", m)
		}
	})
}
