package limits_test

import (
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/internal/config"
)

// Operations that pass input objects whole, as variables.
const (
	qPageVar   = `query Q($page: PageInput) { invoices(page: $page) { id } }`
	qFilters   = `query Q($fs: [Filter!]) { search(terms: [], filters: $fs) { id } }`
	qNested    = `query Q($q: InvoiceQuery) { invoiceSearch(query: $q) { id } }`
	qRange     = `query Q($r: RangeInput) { range(r: $r) { id } }`
	qCredit    = `mutation M($input: CreditInput) { setCredit(input: $input) }`
	qInLiteral = `query Q($p: PageInput) { invoiceSearch(query: {page: $p}) { id } }`
)

// membersSchema has input objects with members named like pagination
// arguments, of the types a cap can and cannot bound.
func membersSchema(t testing.TB) *ast.Schema {
	t.Helper()
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "members.graphql", Input: `
		scalar Long
		input PageInput { first: Int, after: String }
		input Filter { after: String, last: Int }
		input Window { size: Int }
		input InvoiceQuery { page: PageInput, pages: [PageInput!], last: Window }
		input RangeInput { limit: Long, after: String }
		input CreditInput { limit: Int }
		type Query {
			invoices(page: PageInput): [Invoice!]!
			search(terms: [String!]!, filters: [Filter!]): [Invoice!]!
			invoiceSearch(query: InvoiceQuery): [Invoice!]!
			range(r: RangeInput): [Invoice!]!
		}
		type Mutation {
			setCredit(input: CreditInput): Boolean
		}
		type Invoice { id: ID! }
	`})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	capFirst = " exceeds the cap 100 of argument first (limits.pagination.arguments)"
	capLast  = " exceeds the cap 100 of argument last (limits.pagination.arguments)"
	capLimit = " exceeds the cap 100 of argument limit (limits.pagination.arguments)"
)

func TestCheckCapsMembersOfInputObjectsWithSchema(t *testing.T) {
	byName := newLimits(t, defaults(), membersSchema(t))
	runChecks(t, byName, []checkCase{
		{name: "Int member named like a capped argument", query: qPageVar, vars: `{"page":{"first":2147483647}}`, code: exceeded, msg: "variable $page.first = 2147483647" + capFirst},
		{name: "Int member at the cap", query: qPageVar, vars: `{"page":{"first":100,"after":"x"}}`},
		{name: "member of an input object in a list", query: qFilters, vars: `{"fs":[{"after":"x"},{"last":101}]}`, code: exceeded, msg: "variable $fs[1].last = 101" + capLast},
		{name: "single input object for a list", query: qFilters, vars: `{"fs":{"last":101}}`, code: exceeded, msg: "variable $fs.last = 101" + capLast},
		{name: "member of a nested input object", query: qNested, vars: `{"q":{"page":{"first":101}}}`, code: exceeded, msg: "variable $q.page.first = 101" + capFirst},
		{name: "member of input objects in a nested list", query: qNested, vars: `{"q":{"pages":[{"first":1},{"first":101}]}}`, code: exceeded, msg: "variable $q.pages[1].first = 101" + capFirst},
		{name: "member written with escapes", query: qPageVar, vars: `{"page":{"\u0066irst":101}}`, code: exceeded, msg: "variable $page.first = 101" + capFirst},
		{name: "custom scalar member written as a string", query: qRange, vars: `{"r":{"limit":"1000"}}`, code: exceeded, msg: `variable $r.limit = "1000"` + capLimit},
		{name: "custom scalar member written as a string with escapes", query: qRange, vars: `{"r":{"limit":"1\u0030000"}}`, code: exceeded, msg: `variable $r.limit = "1\u0030000"` + capLimit},
		{name: "an input object member named like a capped argument caps nothing it holds", query: qNested, vars: `{"q":{"last":{"size":500}}}`},
		{name: "input object variable fed to a literal object", query: qInLiteral, vars: `{"p":{"first":101}}`, code: exceeded, msg: "variable $p.first = 101" + capFirst},
		{name: "Int member of any field's input object is capped by name", query: qCredit, vars: `{"input":{"limit":5000}}`, code: exceeded, msg: "variable $input.limit = 5000" + capLimit},
		{name: "input object variable that feeds no argument", query: `query Q($page: PageInput) { invoices { id } }`, vars: `{"page":{"first":1000}}`},
	})

	coords := newLimits(t, with(func(c *config.Limits) {
		c.Pagination.Coordinates = map[string]int{"PageInput.first": 20, "CreditInput.limit": 1000000}
	}), membersSchema(t))
	const capPage = " exceeds the cap 20 of PageInput.first (limits.pagination.coordinates)"
	runChecks(t, coords, []checkCase{
		{name: "coordinate of an input field wins over the name", query: qPageVar, vars: `{"page":{"first":21}}`, code: exceeded, msg: "variable $page.first = 21" + capPage},
		{name: "coordinate of an input field deep in a variable", query: qNested, vars: `{"q":{"pages":[{"first":21}]}}`, code: exceeded, msg: "variable $q.pages[0].first = 21" + capPage},
		{name: "coordinate of an input field for a variable in a literal object", query: `query Q($n: Int) { invoices(page: {first: $n}) { id } }`, vars: `{"n":21}`, code: exceeded, msg: "variable $n = 21" + capPage},
		{name: "coordinate of an input field may lift the cap of its name", query: qCredit, vars: `{"input":{"limit":5000}}`},
		{name: "the name still caps other input fields", query: qFilters, vars: `{"fs":[{"last":101}]}`, code: exceeded, msg: "variable $fs[0].last = 101" + capLast},
	})
}

func TestCheckCapsMembersOfObjectVariablesWithoutSchema(t *testing.T) {
	runChecks(t, newLimits(t, defaults(), nil), []checkCase{
		{name: "member named like a capped argument", query: qPage, vars: `{"page":{"first":2147483647}}`, code: exceeded, msg: "variable $page.first = 2147483647" + capFirst},
		{name: "member at the cap", query: qPage, vars: `{"page":{"first":100,"after":"x"}}`},
		{name: "other members are not capped", query: qPage, vars: `{"page":{"after":"x","count":100000}}`},
		{name: "member of a nested object", query: qPage, vars: `{"page":{"window":{"limit":101}}}`, code: exceeded, msg: "variable $page.window.limit = 101" + capLimit},
		{name: "member of objects in a list", query: `query Q($fs: [Filter]) { search(terms: [], filters: $fs) { id } }`, vars: `{"fs":[{"last":5},{"last":1000}]}`, code: exceeded, msg: "variable $fs[1].last = 1000" + capLast},
		{name: "list under a capped member", query: qPage, vars: `{"page":{"first":[1,500]}}`, code: exceeded, msg: "variable $page.first[1] = 500" + capFirst},
		{name: "member written with escapes", query: qPage, vars: `{"page":{"\u0066irst":500}}`, code: exceeded, msg: "variable $page.first = 500" + capFirst},
		{name: "member that is a string of a number", query: qPage, vars: `{"page":{"first":"1000"}}`, code: exceeded, msg: `variable $page.first = "1000"` + capFirst},
		{name: "object variable fed to a literal object", query: `query Q($p: PageInput) { invoices(where: {page: $p}) { id } }`, vars: `{"p":{"first":1000}}`, code: exceeded, msg: "variable $p.first = 1000" + capFirst},
		{name: "object variable that feeds no argument", query: `query Q($page: PageInput) { invoices { id } }`, vars: `{"page":{"first":1000}}`},
	})
}

func TestPlanCapsMembersOfInputObjects(t *testing.T) {
	l := newLimits(t, with(func(c *config.Limits) {
		c.Pagination.Coordinates = map[string]int{"PageInput.first": 20}
	}), membersSchema(t))
	for _, tc := range []struct {
		name, query, msg string
	}{
		{"default of an input object variable above the cap", `query Q($p: PageInput = {first: 30}) { invoices(page: $p) { id } }`,
			"variable $p.first (its default value) = 30 exceeds the cap 20 of PageInput.first (limits.pagination.coordinates)"},
		{"literal above the cap of its input field", `{ invoices(page: {first: 30}) { id } }`,
			"argument page.first = 30 exceeds the cap 20 of PageInput.first (limits.pagination.coordinates)"},
		{"literal above the cap of its input field in a nested object", `{ invoiceSearch(query: {pages: [{first: 30}]}) { id } }`,
			"argument query.pages.first = 30 exceeds the cap 20 of PageInput.first (limits.pagination.coordinates)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planOf(t, l, tc.query)
			if p != nil {
				t.Fatalf("Plan accepted %s", tc.query)
			}
			expectError(t, err, exceeded, tc.msg)
		})
	}
}

// TestLiteralsAndVariablesFollowOneMemberRule: a value written in the
// document is capped exactly as the same value sent as a variable.
func TestLiteralsAndVariablesFollowOneMemberRule(t *testing.T) {
	l := newLimits(t, defaults(), membersSchema(t))
	runChecks(t, l, []checkCase{
		{name: "variable: an input object member named last", query: qNested, vars: `{"q":{"last":{"size":500}}}`},
	})
	if p, err := planOf(t, l, `{ invoiceSearch(query: {last: {size: 500}}) { id } }`); p == nil || err != nil {
		t.Errorf("the same value as a literal: %v; want it accepted like the variable", err)
	}
}
