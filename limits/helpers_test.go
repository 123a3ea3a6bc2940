package limits_test

import (
	"errors"
	"os"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/limits"
)

// billing loads testdata/schema.graphql.
func billing(t testing.TB) *ast.Schema {
	t.Helper()
	sdl, err := os.ReadFile("testdata/schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: string(sdl)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// defaults returns the limits of the default configuration.
func defaults() config.Limits { return config.Default().Limits }

// with returns the default limits changed by edit.
func with(edit func(*config.Limits)) config.Limits {
	cfg := defaults()
	edit(&cfg)
	return cfg
}

func newLimits(t testing.TB, cfg config.Limits, schema *ast.Schema) *limits.Limits {
	t.Helper()
	l, err := limits.New(cfg, schema)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// planOf plans the only operation of query.
func planOf(t testing.TB, l *limits.Limits, query string) (*limits.Plan, error) {
	t.Helper()
	doc, err := documents.Parse(documents.Entry{Text: query})
	if err != nil {
		t.Fatalf("parse %q: %v", query, err)
	}
	op, err := doc.Operation("")
	if err != nil {
		t.Fatal(err)
	}
	return l.Plan(doc, op)
}

func mustPlan(t testing.TB, l *limits.Limits, query string) *limits.Plan {
	t.Helper()
	p, err := planOf(t, l, query)
	if err != nil {
		t.Fatalf("plan %q: %v", query, err)
	}
	return p
}

// checkCase is one request's variables and what Check must make of them.
type checkCase struct {
	name  string
	query string
	vars  string
	// want is the forwarded variables; "" means the input, unchanged.
	want string
	// code and msg describe the refusal; code "" means none.
	code envelope.Code
	msg  string
}

func runChecks(t *testing.T, l *limits.Limits, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPlan(t, l, tc.query)
			var raw []byte
			if tc.vars != "" {
				raw = []byte(tc.vars)
			}
			out, err := p.Check(raw)
			if tc.code != "" {
				expectError(t, err, tc.code, tc.msg)
				return
			}
			if err != nil {
				t.Fatalf("Check(%s): %v", tc.vars, err)
			}
			want := tc.want
			if want == "" {
				want = tc.vars
			}
			if string(out) != want {
				t.Fatalf("Check(%s) = %s, want %s", tc.vars, out, want)
			}
		})
	}
}

func expectError(t testing.TB, err error, code envelope.Code, msg string) {
	t.Helper()
	var e *envelope.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want an *envelope.Error %s", err, code)
	}
	if e.Code != code || e.Message != msg {
		t.Fatalf("error = %s %q\nwant    %s %q", e.Code, e.Message, code, msg)
	}
}
