package limits_test

import (
	"testing"
)

func TestCheckCoercesAgainstTheSchema(t *testing.T) {
	l := newLimits(t, defaults(), billing(t))
	const line = `{"description":"Widget","quantity":2,"unitPrice":9.5}`
	runChecks(t, l, []checkCase{
		{name: "enum accepts one of its values", query: qEnum, vars: `{"status":"PAID"}`},
		{name: "enum value written with escapes", query: qEnum, vars: `{"status":"\u0050AID"}`},
		{name: "enum refuses another case", query: qEnum, vars: `{"status":"paid"}`, code: invalid, msg: `variable $status: expected InvoiceStatus, got "paid"`},
		{name: "enum refuses an unknown value", query: qEnum, vars: `{"status":"LOST"}`, code: invalid, msg: `variable $status: expected InvoiceStatus, got "LOST"`},
		{name: "enum refuses a number", query: qEnum, vars: `{"status":1}`, code: invalid, msg: `variable $status: expected InvoiceStatus, got 1`},

		{name: "input object accepts its fields", query: qInput, vars: `{"input":{"customerId":"c_1","lines":[` + line + `],"memo":null,"dueAt":"2030-01-01T00:00:00Z"}}`},
		{name: "input object refuses a field it does not have", query: qInput, vars: `{"input":{"customerId":"c_1","lines":[],"colour":"red"}}`, code: invalid, msg: `variable $input.colour is not a field of InvoiceInput`},
		{name: "nested input object refuses a field it does not have", query: qInput, vars: `{"input":{"customerId":"c_1","lines":[` + line + `,{"description":"x","quantity":1,"unitPrice":1,"sku":"s"}]}}`, code: invalid, msg: `variable $input.lines[1].sku is not a field of LineInput`},
		{name: "input object refuses a missing required field", query: qInput, vars: `{"input":{"lines":[]}}`, code: invalid, msg: `variable $input.customerId is required and was not given`},
		{name: "input object refuses null for a non-null field", query: qInput, vars: `{"input":{"customerId":null,"lines":[]}}`, code: invalid, msg: `variable $input.customerId is null, but its type ID! does not allow null`},
		{name: "input object refuses a string", query: qPage, vars: `{"page":"next"}`, code: invalid, msg: `variable $page: expected PageInput, got "next"`},
		{name: "input object fields are coerced strictly", query: qInput, vars: `{"input":{"customerId":"c_1","lines":[{"description":"x","quantity":"2","unitPrice":1}]}}`, code: invalid, msg: `variable $input.lines[0].quantity: expected Int, got "2"`},
		{name: "input object String field refuses a number", query: qInput, vars: `{"input":{"customerId":"c_1","lines":[],"memo":5}}`, code: invalid, msg: `variable $input.memo: expected String, got 5`},
		{name: "input object ID field is coerced", query: qInput, vars: `{"input":{"customerId":7,"lines":[]}}`, want: `{"input":{"customerId":"7","lines":[]}}`},
		{name: "input object list field wraps a single value", query: qInput, vars: `{"input":{"customerId":"c","lines":` + line + `}}`, want: `{"input":{"customerId":"c","lines":[` + line + `]}}`},
		{name: "input object Int field written with an exponent is coerced", query: qInput, vars: `{"input":{"customerId":"c","lines":[{"description":"x","quantity":1e2,"unitPrice":1}]}}`, want: `{"input":{"customerId":"c","lines":[{"description":"x","quantity":100,"unitPrice":1}]}}`},
		{name: "input object field with a single value for a list", query: `mutation M($ids: [ID!]!, $s: InvoiceStatus!) { setStatus(ids: $ids, status: $s) { id } }`, vars: `{"ids":7,"s":"VOID"}`, want: `{"ids":["7"],"s":"VOID"}`},
		{name: "custom scalar accepts any value", query: `query Q($t: DateTime!) { invoicesSince(since: $t) { id } }`, vars: `{"t":{"y":2030}}`},
	})
}

func TestPlanRefusesOperationsThatCannotRun(t *testing.T) {
	schema := billing(t)
	tests := []struct {
		name      string
		useSchema bool
		query     string
		code      string
		msg       string
	}{
		{name: "variable of a type the schema lacks", useSchema: true, query: `query Q($x: Foo) { invoices { id } }`,
			code: "VARIABLES_INVALID", msg: "variable $x has type Foo, which the schema does not define"},
		{name: "variable of an output type", useSchema: true, query: `query Q($u: [User]) { invoices { id } }`,
			code: "VARIABLES_INVALID", msg: "variable $u has type User, which is not an input type"},
		{name: "variable defined twice", query: `query Q($n: Int, $n: Int) { invoices(first: $n) { id } }`,
			code: "VARIABLES_INVALID", msg: "variable $n is defined more than once"},
		{name: "default that does not coerce", query: `query Q($n: Int = "ten") { invoices(first: $n) { id } }`,
			code: "VARIABLES_INVALID", msg: `variable $n (its default value): expected Int, got "ten"`},
		{name: "input default with a field the type lacks", useSchema: true, query: `query Q($p: PageInput = {frist: 5}) { invoices(page: $p) { id } }`,
			code: "VARIABLES_INVALID", msg: `the default value of variable $p.frist is not a field of PageInput`},
		{name: "default above the cap", query: `query Q($n: Int = 500) { invoices(first: $n) { id } }`,
			code: "LIMIT_EXCEEDED", msg: "variable $n (its default value) = 500 exceeds the cap 100 of argument first (limits.pagination.arguments)"},
		{name: "literal above the cap", query: `{ topUsers(first: 500) { id } }`,
			code: "LIMIT_EXCEEDED", msg: "argument first = 500 exceeds the cap 100 of argument first (limits.pagination.arguments)"},
		{name: "literal above the cap inside an object", query: `{ invoices(page: {first: 500}) { id } }`,
			code: "LIMIT_EXCEEDED", msg: "argument page.first = 500 exceeds the cap 100 of argument first (limits.pagination.arguments)"},
		{name: "literal above the cap inside a list", query: `{ invoices(page: [{after: "x"}, {first: 101}]) { id } }`,
			code: "LIMIT_EXCEEDED", msg: "argument page.first = 101 exceeds the cap 100 of argument first (limits.pagination.arguments)"},
		{name: "literal float above the cap", query: `{ topUsers(first: 100.5) { id } }`,
			code: "LIMIT_EXCEEDED", msg: "argument first = 100.5 exceeds the cap 100 of argument first (limits.pagination.arguments)"},
		{name: "literal string of a number above the cap", query: `{ topUsers(first: "1000") { id } }`,
			code: "LIMIT_EXCEEDED", msg: `argument first = "1000" exceeds the cap 100 of argument first (limits.pagination.arguments)`},
		{name: "literal string with escapes above the cap", query: `{ topUsers(first: "1\u00300000") { id } }`,
			code: "LIMIT_EXCEEDED", msg: `argument first = "100000" exceeds the cap 100 of argument first (limits.pagination.arguments)`},
		{name: "literal above the cap in a fragment", query: `query { ...F } fragment F on Query { topUsers(last: 1000) { id } }`,
			code: "LIMIT_EXCEEDED", msg: "argument last = 1000 exceeds the cap 100 of argument last (limits.pagination.arguments)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := schema
			if !tc.useSchema {
				s = nil
			}
			l := newLimits(t, defaults(), s)
			p, err := planOf(t, l, tc.query)
			if p != nil {
				t.Fatalf("Plan accepted %s", tc.query)
			}
			expectError(t, err, codeOf(tc.code), tc.msg)
		})
	}
}

func TestPlanAcceptsLiteralsWithinTheCap(t *testing.T) {
	l := newLimits(t, defaults(), nil)
	for _, q := range []string{
		`{ topUsers(first: 100) { id } }`,
		`{ invoices(page: {first: 10, after: "x"}) { id } }`,
		`{ customer(id: 123456) { name } }`, // not a pagination argument
		`{ invoices(status: OPEN) { id } }`,
	} {
		if _, err := planOf(t, l, q); err != nil {
			t.Errorf("Plan(%s): %v", q, err)
		}
	}
}
