package limits_test

import (
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/internal/config"
)

func TestCheckLimitsListLength(t *testing.T) {
	cfg := with(func(c *config.Limits) { c.MaxListLength = 3 })
	const limit = "; the limit is 3 (limits.max_list_length)"
	common := []checkCase{
		{name: "list at the limit", query: qIDs, vars: `{"ids":["a","b","c"]}`},
		{name: "list over the limit", query: qIDs, vars: `{"ids":["a","b","c","d"]}`, code: exceeded, msg: "variable $ids has 4 items" + limit},
		{name: "every item is counted", query: qIDs, vars: `{"ids":[1,2,3,4,5,6,7,8,9,10]}`, code: exceeded, msg: "variable $ids has 10 items" + limit},
		{name: "list inside a list", query: qMatrix, vars: `{"m":[[1],[1,2,3,4]]}`, code: exceeded, msg: "variable $m[1] has 4 items" + limit},
		{name: "list inside an input object", query: qInput, vars: `{"input":{"customerId":"c","lines":[{},{},{},{}]}}`, code: exceeded, msg: "variable $input.lines has 4 items" + limit},
		{name: "list deep inside a value", query: qPage, vars: `{"page":{"after":{"a":[[],[1,{"b":[1,2,3,4]}]]}}}`, code: exceeded, msg: "variable $page.after.a[1][1].b has 4 items" + limit},
		{name: "list under a key that is not a name", query: qPage, vars: `{"page":{"a b":[1,2,3,4]}}`, code: exceeded, msg: `variable $page["a b"] has 4 items` + limit},
		{name: "list of an unknown type", query: qTags, vars: `{"tags":[{},{},{},{}]}`, code: exceeded, msg: "variable $tags has 4 items" + limit},
	}
	t.Run("without schema", func(t *testing.T) {
		runChecks(t, newLimits(t, cfg, nil), common)
	})
	t.Run("with schema", func(t *testing.T) {
		// With the schema the input objects are typed: lines hold
		// LineInput, page has no field "after" holding an object.
		runChecks(t, newLimits(t, cfg, billing(t)), []checkCase{
			common[0], common[1], common[2], common[3],
			{name: "list length is refused before input fields are coerced", query: qInput, vars: `{"input":{"customerId":"c","lines":[{},{},{},{}]}}`, code: exceeded, msg: "variable $input.lines has 4 items" + limit},
			{name: "items of a list within the limit are still coerced", query: qInput, vars: `{"input":{"customerId":"c","lines":[` + strings.Repeat(`{"quantity":1},`, 2) + `{"quantity":1}]}}`, code: invalid, msg: "variable $input.lines[0].description is required and was not given"},
		})
	})
}

func TestCheckLimitsSize(t *testing.T) {
	l := newLimits(t, defaults(), nil) // 64 KiB
	p := mustPlan(t, l, qString)
	// exact builds variables of exactly n bytes.
	exact := func(n int) []byte {
		const head, tail = `{"s":"`, `"}`
		return []byte(head + strings.Repeat("a", n-len(head)-len(tail)) + tail)
	}
	tests := []struct {
		name string
		vars []byte
		msg  string
	}{
		{name: "variables at the limit", vars: exact(64 << 10)},
		{name: "variables over the limit", vars: exact(80 << 10), msg: "the variables are 80 KiB; the limit is 64 KiB (limits.max_variables_bytes)"},
		{name: "variables a byte over the limit", vars: exact(64<<10 + 1), msg: "the variables are 64.1 KiB; the limit is 64 KiB (limits.max_variables_bytes)"},
		{name: "size is checked before the variables are read", vars: []byte(strings.Repeat("[", 80<<10)), msg: "the variables are 80 KiB; the limit is 64 KiB (limits.max_variables_bytes)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Check(tc.vars)
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			expectError(t, err, exceeded, tc.msg)
		})
	}
	t.Run("limit that is not a whole number of KiB is written in bytes", func(t *testing.T) {
		l := newLimits(t, with(func(c *config.Limits) { c.MaxVariablesBytes = 10 }), nil)
		_, err := mustPlan(t, l, qString).Check([]byte(`{"s":"abcdef"}`))
		expectError(t, err, exceeded, "the variables are 14 bytes; the limit is 10 bytes (limits.max_variables_bytes)")
	})
}

func TestCheckLimitsDepth(t *testing.T) {
	cfg := with(func(c *config.Limits) { c.MaxVariablesDepth = 3 })
	const refused = "the variables nest lists and objects more than 3 levels deep (limits.max_variables_depth)"
	cases := []checkCase{
		{name: "lists at the limit", query: qTags, vars: `{"tags":[[[1]]]}`},
		{name: "lists over the limit", query: qTags, vars: `{"tags":[[[[1]]]]}`, code: invalid, msg: refused},
		{name: "objects at the limit", query: qTags, vars: `{"tags":[{"a":{"b":1}}]}`},
		{name: "objects over the limit", query: qTags, vars: `{"tags":[{"a":{"b":{}}}]}`, code: invalid, msg: refused},
		{name: "brackets in strings are not nesting", query: qTags, vars: `{"tags":["[[[[{{{{", "\"[[[[", {"[[[[":"\\"}]}`},
		{name: "deep nesting in a variable the operation does not define is refused for its depth", query: qTags, vars: `{"x":[[[[1]]]]}`, code: invalid, msg: refused},
	}
	runChecks(t, newLimits(t, cfg, nil), cases)
}

// Thousands of levels fit within the size limit: a recursive parser
// upstream (graphql-js) overflows its stack on them, so the default depth
// refuses them before anything is forwarded.
func TestCheckRefusesThousandsOfLevelsByDefault(t *testing.T) {
	l := newLimits(t, defaults(), nil)
	for _, tc := range []struct{ name, query, open, close string }{
		{"input objects", qPage, `{"a":`, `}`},
		{"lists", qTags, `[`, `]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const levels = 7200
			value := strings.Repeat(tc.open, levels) + "1" + strings.Repeat(tc.close, levels)
			name := "page"
			if tc.query == qTags {
				name = "tags"
			}
			vars := `{"` + name + `":` + value + `}`
			if len(vars) > 64<<10 {
				t.Fatalf("the variables are %d bytes, over the default size limit", len(vars))
			}
			_, err := mustPlan(t, l, tc.query).Check([]byte(vars))
			expectError(t, err, invalid, "the variables nest lists and objects more than 32 levels deep (limits.max_variables_depth)")
		})
	}
	// 32 levels within one variable pass.
	vars := `{"tags":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`
	if _, err := mustPlan(t, l, qTags).Check([]byte(vars)); err != nil {
		t.Errorf("32 levels: %v", err)
	}
}
