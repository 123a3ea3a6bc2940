package limits_test

import (
	"testing"

	"github.com/gqlguard/gqlguard/envelope"
)

const (
	invalid  = envelope.CodeVariablesInvalid
	exceeded = envelope.CodeLimitExceeded
)

// Operations of the billing API, by the variable types they exercise.
const (
	qInt      = `query Q($n: Int) { invoices(status: OPEN) { id } }`
	qFloat    = `query Q($f: Float) { invoices { id } }`
	qString   = `query Q($s: String) { invoices { id } }`
	qBoolean  = `query Q($b: Boolean) { invoices @include(if: $b) { id } }`
	qID       = `query Q($id: ID!) { customer(id: $id) { name } }`
	qIDs      = `query Q($ids: [ID!]!) { search(terms: [], ids: $ids) { id } }`
	qInts     = `query Q($ns: [Int]) { search(terms: [], matrix: [$ns]) { id } }`
	qNonNulls = `query Q($ns: [Int!]) { search(terms: [], matrix: [$ns]) { id } }`
	qMatrix   = `query Q($m: [[Int]]) { search(terms: [], matrix: $m) { id } }`
	qTwo      = `query Q($id: ID, $s: String) { customer(id: $id) { name } }`
	qEnum     = `query Q($status: InvoiceStatus) { invoices(status: $status) { id } }`
	qPage     = `query Q($page: PageInput) { invoices(page: $page) { id } }`
	qInput    = `mutation M($input: InvoiceInput!) { createInvoice(input: $input) { id } }`
	qTags     = `query Q($tags: [Tag]) { invoices { id } }`
)

func TestCheckCoercesBuiltInScalarsWithoutSchema(t *testing.T) {
	l := newLimits(t, defaults(), nil)
	runChecks(t, l, []checkCase{
		{name: "Int accepts an integer", query: qInt, vars: `{"n": 5}`},
		{name: "Int accepts the smallest 32-bit integer", query: qInt, vars: `{"n":-2147483648}`},
		{name: "Int accepts the largest 32-bit integer", query: qInt, vars: `{"n":2147483647}`},
		{name: "Int refuses a string", query: qInt, vars: `{"n":"ten"}`, code: invalid, msg: `variable $n: expected Int, got "ten"`},
		{name: "Int refuses a string of digits", query: qInt, vars: `{"n":"10"}`, code: invalid, msg: `variable $n: expected Int, got "10"`},
		{name: "Int refuses a fraction", query: qInt, vars: `{"n":1.5}`, code: invalid, msg: `variable $n: expected Int, got 1.5`},
		{name: "Int refuses a fraction float64 would round away", query: qInt, vars: `{"n":1.0000000000000000001}`, code: invalid, msg: `variable $n: expected Int, got 1.0000000000000000001`},
		{name: "Int refuses 2^31", query: qInt, vars: `{"n":2147483648}`, code: invalid, msg: `variable $n: expected Int, got 2147483648, outside the 32-bit range of Int (-2147483648 to 2147483647)`},
		{name: "Int refuses below -2^31", query: qInt, vars: `{"n":-2147483649}`, code: invalid, msg: `variable $n: expected Int, got -2147483649, outside the 32-bit range of Int (-2147483648 to 2147483647)`},
		{name: "Int refuses a huge exponent", query: qInt, vars: `{"n":1e999999999999}`, code: invalid, msg: `variable $n: expected Int, got 1e999999999999, outside the 32-bit range of Int (-2147483648 to 2147483647)`},
		{name: "Int refuses a boolean", query: qInt, vars: `{"n":true}`, code: invalid, msg: `variable $n: expected Int, got true`},
		{name: "Int refuses an object", query: qInt, vars: `{"n":{"v":1}}`, code: invalid, msg: `variable $n: expected Int, got an object`},
		{name: "Int refuses a list", query: qInt, vars: `{"n":[1]}`, code: invalid, msg: `variable $n: expected Int, got a list`},
		{name: "Int written with an exponent is coerced to decimal", query: qInt, vars: `{"n":1e2}`, want: `{"n":100}`},
		{name: "Int written with a zero fraction is coerced to decimal", query: qInt, vars: `{"n":-3.0}`, want: `{"n":-3}`},
		{name: "Int minus zero is coerced to zero", query: qInt, vars: `{"n":-0}`, want: `{"n":0}`},

		{name: "Float accepts an integer", query: qFloat, vars: `{"f":3}`},
		{name: "Float accepts a fraction with an exponent", query: qFloat, vars: `{"f":-1.25e-3}`},
		{name: "Float refuses a string", query: qFloat, vars: `{"f":"1.5"}`, code: invalid, msg: `variable $f: expected Float, got "1.5"`},
		{name: "Float refuses a number beyond float64", query: qFloat, vars: `{"f":1e400}`, code: invalid, msg: `variable $f: expected Float, got 1e400, too large for a Float`},

		{name: "String accepts a string with escapes", query: qString, vars: `{"s":"a\"b\u00e9"}`},
		{name: "String refuses a number", query: qString, vars: `{"s":5}`, code: invalid, msg: `variable $s: expected String, got 5`},
		{name: "long values are shortened in messages", query: qString, vars: `{"s":12345678901234567890123456789012345678901234567890}`, code: invalid,
			msg: `variable $s: expected String, got 1234567890123456789012345678901234567890…`},

		{name: "Boolean accepts false", query: qBoolean, vars: `{"b":false}`},
		{name: "Boolean refuses a string", query: qBoolean, vars: `{"b":"true"}`, code: invalid, msg: `variable $b: expected Boolean, got "true"`},
		{name: "Boolean refuses a number", query: qBoolean, vars: `{"b":1}`, code: invalid, msg: `variable $b: expected Boolean, got 1`},

		{name: "ID accepts a string", query: qID, vars: `{"id":"c_1"}`},
		{name: "ID integer is coerced to a string", query: qID, vars: `{"id":42}`, want: `{"id":"42"}`},
		{name: "ID negative integer is coerced to a string", query: qID, vars: `{"id":-7}`, want: `{"id":"-7"}`},
		{name: "ID integer with an exponent is coerced to decimal", query: qID, vars: `{"id":1e3}`, want: `{"id":"1000"}`},
		{name: "ID integer beyond 64 bits keeps its digits", query: qID, vars: `{"id":123456789012345678901234567890}`, want: `{"id":"123456789012345678901234567890"}`},
		{name: "ID refuses a fraction", query: qID, vars: `{"id":1.5}`, code: invalid, msg: `variable $id: expected ID, got 1.5`},
		{name: "ID refuses a boolean", query: qID, vars: `{"id":true}`, code: invalid, msg: `variable $id: expected ID, got true`},
		{name: "coercion keeps the other variables as sent", query: qTwo, vars: `{"s":"x y", "id": 1}`, want: `{"s":"x y","id":"1"}`},
	})
}

func TestCheckCoercesWrappersWithoutSchema(t *testing.T) {
	l := newLimits(t, defaults(), nil)
	runChecks(t, l, []checkCase{
		{name: "required variable that was not given", query: qID, vars: `{}`, code: invalid, msg: `variable $id is required (ID!) and was not given`},
		{name: "required variable without any variables", query: qID, vars: ``, code: invalid, msg: `variable $id is required (ID!) and was not given`},
		{name: "required variable that is null", query: qID, vars: `{"id":null}`, code: invalid, msg: `variable $id is null, but its type ID! does not allow null`},
		{name: "optional variable that was not given", query: qInt, vars: `{}`},
		{name: "optional variable that is null", query: qInt, vars: `{"n":null}`},
		{name: "no variables at all", query: qInt, vars: ``},
		{name: "variables that are null", query: qInt, vars: `null`},

		{name: "list accepts a list", query: qIDs, vars: `{"ids":["a","b"]}`},
		{name: "list accepts an empty list", query: qIDs, vars: `{"ids":[]}`},
		{name: "list items are coerced", query: qIDs, vars: `{"ids":["a",2]}`, want: `{"ids":["a","2"]}`},
		{name: "single value is coerced to a list of one", query: qInts, vars: `{"ns":5}`, want: `{"ns":[5]}`},
		{name: "single value for a list is coerced as an item", query: qIDs, vars: `{"ids":5}`, want: `{"ids":["5"]}`},
		{name: "null for a nullable list stays null", query: qInts, vars: `{"ns":null}`},
		{name: "null for a non-null list is refused", query: qIDs, vars: `{"ids":null}`, code: invalid, msg: `variable $ids is null, but its type [ID!]! does not allow null`},
		{name: "list items are checked", query: qInts, vars: `{"ns":[1,"b",true]}`, code: invalid, msg: `variable $ns[1]: expected Int, got "b"`},
		{name: "null item of a nullable item type", query: qInts, vars: `{"ns":[1,null]}`},
		{name: "null item of a non-null item type", query: qNonNulls, vars: `{"ns":[1,null]}`, code: invalid, msg: `variable $ns[1] is null, but its type Int! does not allow null`},
		{name: "nested list accepts lists of lists", query: qMatrix, vars: `{"m":[[1],[2,3]]}`},
		{name: "nested list: a single value becomes [[1]]", query: qMatrix, vars: `{"m":1}`, want: `{"m":[[1]]}`},
		{name: "nested list: items must be lists", query: qMatrix, vars: `{"m":[1,2,3]}`, code: invalid, msg: `variable $m[0]: expected [Int], got 1`},
		{name: "nested list: null items stay null", query: qMatrix, vars: `{"m":[null,[null]]}`},
		{name: "whitespace is dropped when re-encoding", query: qMatrix, vars: "{ \"m\" :\n 1 }", want: `{"m":[[1]]}`},
	})
}

func TestCheckAcceptsOtherTypesWithoutSchema(t *testing.T) {
	l := newLimits(t, defaults(), nil)
	runChecks(t, l, []checkCase{
		{name: "enum accepts any value", query: qEnum, vars: `{"status":"whatever"}`},
		{name: "input object accepts any value", query: qPage, vars: `{"page":{"first":5,"after":"x","extra":[true]}}`},
		{name: "input object fields are not coerced", query: qInput, vars: `{"input":{"customerId":7,"lines":{"quantity":"2"}}}`},
		{name: "list of an unknown type wraps a single value", query: qTags, vars: `{"tags":"x"}`, want: `{"tags":["x"]}`},
		{name: "non-null still refuses null", query: qInput, vars: `{"input":null}`, code: invalid, msg: `variable $input is null, but its type InvoiceInput! does not allow null`},
	})
}

func TestCheckRefusesMalformedVariables(t *testing.T) {
	l := newLimits(t, defaults(), nil)
	runChecks(t, l, []checkCase{
		{name: "variable the operation does not define", query: qInt, vars: `{"n":1,"x":2}`, code: invalid, msg: `variable $x is not defined by the operation`},
		{name: "variable whose name is not a GraphQL name", query: qInt, vars: `{"a b":2}`, code: invalid, msg: `variable "a b" is not defined by the operation`},
		{name: "variable given twice", query: qInt, vars: `{"n":1,"n":1000}`, code: invalid, msg: `variable $n is given more than once`},
		{name: "variable given twice, once with escapes", query: qInt, vars: `{"n":1,"\u006e":1000}`, code: invalid, msg: `variable $n is given more than once`},
		{name: "variable name written with escapes", query: qInt, vars: `{"\u006e":5}`},
		{name: "key repeated inside a value", query: qPage, vars: `{"page":{"first":1,"after":"x","first":500}}`, code: invalid, msg: `variable $page has the key "first" more than once`},
		{name: "key repeated inside a large object", query: qPage, vars: `{"page":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"\u0061":1}}`, code: invalid, msg: `variable $page has the key "\u0061" more than once`},
		{name: "variables that are a list", query: qInt, vars: `[1]`, code: invalid, msg: `the variables must be a JSON object, not a list`},
		{name: "variables that are a string", query: qInt, vars: `"n"`, code: invalid, msg: `the variables must be a JSON object, not "n"`},
		{name: "variables that are not JSON", query: qInt, vars: `{"n":1`, code: invalid, msg: `the variables are not valid JSON`},
		{name: "variables with trailing data", query: qInt, vars: `{"n":1} {}`, code: invalid, msg: `the variables are not valid JSON`},
		{name: "variables that are not UTF-8", query: qString, vars: "{\"s\":\"\xff\"}", code: invalid, msg: `the variables are not valid UTF-8`},
	})
}

func TestCheckFillsInDefaults(t *testing.T) {
	for _, schema := range []struct {
		name string
		with bool
	}{{"without schema", false}, {"with schema", true}} {
		t.Run(schema.name, func(t *testing.T) {
			s := billing(t)
			if !schema.with {
				s = nil
			}
			l := newLimits(t, defaults(), s)
			runChecks(t, l, []checkCase{
				{name: "absent variable takes its default", query: `query Q($n: Int = 5) { invoices(first: $n) { id } }`, vars: `{}`, want: `{"n":5}`},
				{name: "default is filled in without any variables", query: `query Q($n: Int = 5) { invoices(first: $n) { id } }`, vars: ``, want: `{"n":5}`},
				{name: "default is added after the given variables", query: `query Q($id: ID!, $n: Int = 5) { customer(id: $id) { invoices(first: $n) { id } } }`, vars: `{"id":"c"}`, want: `{"id":"c","n":5}`},
				{name: "explicit null does not take the default", query: `query Q($n: Int = 5) { invoices(first: $n) { id } }`, vars: `{"n":null}`},
				{name: "given value wins over the default", query: `query Q($n: Int = 5) { invoices(first: $n) { id } }`, vars: `{"n":7}`},
				{name: "enum default is written as a string", query: `query Q($s: InvoiceStatus = PAID) { invoices(status: $s) { id } }`, vars: `{}`, want: `{"s":"PAID"}`},
				{name: "object default is written as an object", query: `query Q($p: PageInput = {first: 5, after: "a\"b"}) { invoices(page: $p) { id } }`, vars: `{}`, want: `{"p":{"first":5,"after":"a\"b"}}`},
				{name: "default is coerced like a value", query: `query Q($ids: [ID!] = 5) { search(terms: [], ids: $ids) { id } }`, vars: `{}`, want: `{"ids":["5"]}`},
				{name: "null default", query: `query Q($n: Int = null) { invoices(first: $n) { id } }`, vars: `{}`, want: `{"n":null}`},
			})
		})
	}
}

func TestCheckReturnsTheInputWhenNothingIsCoerced(t *testing.T) {
	l := newLimits(t, defaults(), billing(t))
	p := mustPlan(t, l, `query Q($id: ID!, $first: Int!, $status: InvoiceStatus) { customer(id: $id) { name } invoices(first: $first, status: $status) { id } }`)
	raw := []byte(`{"id":"c_123", "first": 20, "status": "PAID"}`)
	out, err := p.Check(raw)
	if err != nil {
		t.Fatal(err)
	}
	if &out[0] != &raw[0] || len(out) != len(raw) {
		t.Fatalf("Check returned a copy %s; want the input itself", out)
	}
}
