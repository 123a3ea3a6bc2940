package limits_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/limits"
)

// fuzzOperations cover every kind of type Check walks.
var fuzzOperations = []string{
	`query Q($limit: Int!, $f: Float, $s: String, $b: Boolean, $id: ID) { topUsers(first: $limit) { id } }`,
	`query Q($ids: [ID!]!, $m: [[Int]], $status: InvoiceStatus = PAID) { search(terms: [], ids: $ids, matrix: $m) { id } invoices(status: $status) { id } }`,
	`mutation M($input: InvoiceInput!, $page: PageInput = {first: 5}) { createInvoice(input: $input) { id } }`,
	`query Q($n: Int = 7, $p: PageInput) { customer(id: "c") { invoices(first: $n) { id } } invoices(page: {first: $n}) { id } x: invoices(page: $p) { id } }`,
}

// FuzzCheck feeds arbitrary variables to Check. It must never panic, refuse
// only with the contract's codes, and forward variables that are valid JSON
// and that Check accepts unchanged.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		``, `null`, `{}`, `[]`, `"x"`, `{"limit":5}`, `{"limit":2147483647}`, `{"limit":1e2,"id":7}`,
		`{"limit":1,"limit":2}`, `{"\u006cimit":1}`, `{"ids":5,"m":1}`, `{"ids":["a",1],"m":[[1],[null]]}`,
		`{"input":{"customerId":1,"lines":{"description":"d","quantity":1,"unitPrice":2}}}`,
		`{"input":{"customerId":"c","lines":[],"x":1}}`, `{"p":{"first":1000}}`, `{"n":null}`,
		`{"status":"paid"}`, `{"page":{"a":[[[[]]]]}}`, "{\"s\":\"\xff\"}", `{"f":1e400}`,
	} {
		f.Add([]byte(seed))
	}
	plans := fuzzPlans(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkAll(t, plans, raw)
	})
}

// fuzzPlans plans fuzzOperations with and without a schema.
func fuzzPlans(t testing.TB) []*limits.Plan {
	cfg := with(func(c *config.Limits) {
		c.MaxListLength = 4
		c.MaxVariablesBytes = 1 << 20
		c.Pagination.Coordinates = map[string]int{"Customer.invoices.first": 10}
	})
	var plans []*limits.Plan
	for _, schema := range []bool{false, true} {
		s := billing(t)
		if !schema {
			s = nil
		}
		l := newLimits(t, cfg, s)
		for _, q := range fuzzOperations {
			plans = append(plans, mustPlan(t, l, q))
		}
	}
	return plans
}

// checkAll checks raw against every plan.
func checkAll(t testing.TB, plans []*limits.Plan, raw []byte) {
	for i, p := range plans {
		out, err := p.Check(raw)
		if err != nil {
			var e *envelope.Error
			if !errors.As(err, &e) || (e.Code != envelope.CodeVariablesInvalid && e.Code != envelope.CodeLimitExceeded) {
				t.Fatalf("plan %d: Check(%q) = %v; want VARIABLES_INVALID or LIMIT_EXCEEDED", i, raw, err)
			}
			continue
		}
		if bytes.Equal(out, raw) {
			continue
		}
		if !json.Valid(out) {
			t.Fatalf("plan %d: Check(%q) forwards invalid JSON %q", i, raw, out)
		}
		again, err := p.Check(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("plan %d: Check(%q) = %q, which Check turns into %q, %v", i, raw, out, again, err)
		}
	}
}
