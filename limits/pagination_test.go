package limits_test

import (
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/config"
)

func codeOf(s string) envelope.Code { return envelope.Code(s) }

// TestTopUsersWithHugeLimitIsRefused is the product requirement: a trusted
// document cannot be made unbounded through its variables.
func TestTopUsersWithHugeLimitIsRefused(t *testing.T) {
	const query = `query TopUsers($limit: Int!) { topUsers(first: $limit) { id } }`
	for _, tc := range []struct {
		name   string
		schema bool
	}{{"without schema", false}, {"with schema", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := billing(t)
			if !tc.schema {
				s = nil
			}
			p := mustPlan(t, newLimits(t, config.Default().Limits, s), query)
			_, err := p.Check([]byte(`{"limit": 2147483647}`))
			expectError(t, err, exceeded, "variable $limit = 2147483647 exceeds the cap 100 of argument first (limits.pagination.arguments)")
			if _, err := p.Check([]byte(`{"limit": 100}`)); err != nil {
				t.Fatalf("limit at the cap: %v", err)
			}
		})
	}
}

const qTop = `query Q($n: Int!) { topUsers(first: $n) { id } }`

func TestCheckCapsPaginationArguments(t *testing.T) {
	coords := with(func(c *config.Limits) {
		c.Pagination.Coordinates = map[string]int{
			"Query.topUsers.first":    50,
			"Query.invoices.first":    500,
			"Customer.invoices.first": 10,
		}
	})
	const (
		capFirst = " exceeds the cap 100 of argument first (limits.pagination.arguments)"
		capLast  = " exceeds the cap 100 of argument last (limits.pagination.arguments)"
		// invoicesLast feeds $n to an argument no coordinate names.
		invoicesLast = `query Q($n: Int) { customer(id: "c") { invoices(last: $n) { id } } }`
	)
	// Cases that behave the same with and without a schema.
	common := []checkCase{
		{name: "variable within the name cap", query: invoicesLast, vars: `{"n":100}`},
		{name: "variable above the name cap", query: invoicesLast, vars: `{"n":101}`, code: exceeded, msg: "variable $n = 101" + capLast},
		{name: "coordinate of a root field wins over the name", query: qTop, vars: `{"n":60}`, code: exceeded, msg: "variable $n = 60 exceeds the cap 50 of Query.topUsers.first (limits.pagination.coordinates)"},
		{name: "coordinate may raise the cap above the name's", query: `query Q($n: Int) { invoices(first: $n) { id } }`, vars: `{"n":300}`},
		{name: "coordinate applies inside a fragment on the type", query: `query Q($n: Int!) { customer(id: "c") { ...F } } fragment F on Customer { invoices(first: $n) { id } }`, vars: `{"n":11}`, code: exceeded, msg: "variable $n = 11 exceeds the cap 10 of Customer.invoices.first (limits.pagination.coordinates)"},
		{name: "coordinate applies inside an inline fragment on the type", query: `query Q($n: Int!) { customer(id: "c") { ... on Customer { invoices(first: $n) { id } } } }`, vars: `{"n":11}`, code: exceeded, msg: "variable $n = 11 exceeds the cap 10 of Customer.invoices.first (limits.pagination.coordinates)"},
		{name: "root fields inside a fragment on the root type", query: `query Q($n: Int!) { ...F } fragment F on Query { topUsers(first: $n) { id } }`, vars: `{"n":51}`, code: exceeded, msg: "variable $n = 51 exceeds the cap 50 of Query.topUsers.first (limits.pagination.coordinates)"},
		{name: "fragment cycles end", query: `query Q($n: Int!) { ...A } fragment A on Query { ...B } fragment B on Query { ...A topUsers(first: $n) { id } }`, vars: `{"n":51}`, code: exceeded, msg: "variable $n = 51 exceeds the cap 50 of Query.topUsers.first (limits.pagination.coordinates)"},
		{name: "variable feeding two arguments gets the strictest cap", query: `query Q($n: Int!) { invoices(first: $n) { id } topUsers(first: $n) { id } }`, vars: `{"n":75}`, code: exceeded, msg: "variable $n = 75 exceeds the cap 50 of Query.topUsers.first (limits.pagination.coordinates)"},
		{name: "variable inside an object argument", query: `query Q($n: Int) { customer(id: "c") { invoices(page: {first: $n}) { id } } }`, vars: `{"n":1000}`, code: exceeded, msg: "variable $n = 1000" + capFirst},
		{name: "variable inside a list of objects", query: `query Q($n: Int) { search(terms: [], filters: [{after: "x"}, {last: $n}]) { id } }`, vars: `{"n":1000}`, code: exceeded, msg: "variable $n = 1000 exceeds the cap 100 of argument last (limits.pagination.arguments)"},
		{name: "other arguments are not capped", query: `query Q($id: ID!) { customer(id: $id) { name } }`, vars: `{"id":1000000}`, want: `{"id":"1000000"}`},
		{name: "null for a capped variable", query: invoicesLast, vars: `{"n":null}`},
		{name: "capped variable that was not given", query: invoicesLast, vars: `{}`},
		{name: "negative values are not capped", query: qTop, vars: `{"n":-5}`},
		{name: "a list fed to a capped argument is capped item by item", query: `query Q($ns: [Int]) { topUsers(first: $ns) { id } }`, vars: `{"ns":[1,1000]}`, code: exceeded, msg: "variable $ns[1] = 1000 exceeds the cap 50 of Query.topUsers.first (limits.pagination.coordinates)"},
		{name: "a capped Float", query: `query Q($f: Float) { customer(id: "c") { invoices(last: $f) { id } } }`, vars: `{"f":100.5}`, code: exceeded, msg: "variable $f = 100.5" + capLast},
		{name: "a capped custom scalar written as a string", query: `query Q($n: Long) { customer(id: "c") { invoices(last: $n) { id } } }`, vars: `{"n":"1000"}`, code: exceeded, msg: `variable $n = "1000"` + capLast},
		{name: "a capped custom scalar written as a string with escapes", query: `query Q($n: Long) { customer(id: "c") { invoices(last: $n) { id } } }`, vars: `{"n":"1\u0030000000"}`, code: exceeded, msg: `variable $n = "1\u0030000000"` + capLast},
		{name: "a capped custom scalar written as a string with escapes within the cap", query: `query Q($n: Long) { customer(id: "c") { invoices(last: $n) { id } } }`, vars: `{"n":"\u0031\u0030\u0030"}`},
		{name: "a capped untyped member written as a string with escapes", query: `query Q($n: Long) { customer(id: "c") { invoices(last: [{page: $n}]) { id } } }`, vars: `{"n":{"v":"\u0032\u0030\u0030"}}`, code: exceeded, msg: `variable $n.v = "\u0032\u0030\u0030"` + capLast},
		{name: "a capped custom scalar written as a huge number", query: `query Q($n: Long) { customer(id: "c") { invoices(last: $n) { id } } }`, vars: `{"n":1e999}`, code: exceeded, msg: `variable $n = 1e999` + capLast},
		{name: "cap is checked after coercion", query: qTop, vars: `{"n":5e1}`, want: `{"n":50}`},
	}
	t.Run("without schema", func(t *testing.T) {
		runChecks(t, newLimits(t, coords, nil), append(common,
			checkCase{name: "nested coordinate needs the schema; the name cap applies", query: `query Q($n: Int!) { customer(id: "c") { invoices(first: $n) { id } } }`, vars: `{"n":50}`},
		))
	})
	t.Run("with schema", func(t *testing.T) {
		l := newLimits(t, coords, paginationSchema(t))
		runChecks(t, l, append(common,
			checkCase{name: "nested coordinate resolved through the schema", query: `query Q($n: Int!) { customer(id: "c") { invoices(first: $n) { id } } }`, vars: `{"n":50}`, code: exceeded, msg: "variable $n = 50 exceeds the cap 10 of Customer.invoices.first (limits.pagination.coordinates)"},
			checkCase{name: "coordinate through a nested input object variable", query: `query Q($n: Int) { invoices(page: {first: $n}) { id } }`, vars: `{"n":101}`, code: exceeded, msg: "variable $n = 101" + capFirst},
		))
	})
}

// paginationSchema is a billing schema with arguments of the odd types the
// pagination tests feed: a custom Long, lists of input objects.
func paginationSchema(t testing.TB) *ast.Schema {
	t.Helper()
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "pagination.graphql", Input: `
		scalar Long
		input Filter { after: String, last: Int }
		input PageInput { first: Int, after: String }
		enum InvoiceStatus { OPEN PAID }
		type Query {
			topUsers(first: Int!): [User!]!
			invoices(first: Int = 10, status: InvoiceStatus, page: PageInput): [Invoice!]!
			customer(id: ID!): Customer
			search(terms: [String!]!, filters: [Filter!]): [Invoice!]!
		}
		type User { id: ID! }
		type Invoice { id: ID! }
		type Customer { invoices(first: Int, last: Long, page: PageInput): [Invoice!]! }
	`})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckCapsUnderCustomRootTypeNames(t *testing.T) {
	s, err := gqlparser.LoadSchema(&ast.Source{Input: `
		schema { query: Root, mutation: Change }
		type Root { items(first: Int): [Int] }
		type Change { purge(limit: Int): Int }
	`})
	if err != nil {
		t.Fatal(err)
	}
	cfg := with(func(c *config.Limits) {
		c.Pagination.Coordinates = map[string]int{"Root.items.first": 5, "Change.purge.limit": 2}
	})
	runChecks(t, newLimits(t, cfg, s), []checkCase{
		{name: "query root", query: `query Q($n: Int) { items(first: $n) }`, vars: `{"n":6}`, code: exceeded, msg: "variable $n = 6 exceeds the cap 5 of Root.items.first (limits.pagination.coordinates)"},
		{name: "mutation root", query: `mutation M($n: Int) { purge(limit: $n) }`, vars: `{"n":3}`, code: exceeded, msg: "variable $n = 3 exceeds the cap 2 of Change.purge.limit (limits.pagination.coordinates)"},
	})
}
