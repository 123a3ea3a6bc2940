package limits_test

import (
	"testing"
)

// TestCheckAllocatesNothingWhenNothingIsCoerced pins the request path's
// budget: variables that coerce to themselves, objects whose members are
// held to caps included, are checked without a single allocation.
func TestCheckAllocatesNothingWhenNothingIsCoerced(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	l := newLimits(t, defaults(), nil)
	for _, tc := range []struct{ name, query, vars string }{
		{"scalars", `query Q($id: ID!, $first: Int!, $status: InvoiceStatus) { customer(id: $id) { invoices(first: $first) { id } } invoices(status: $status) { id } }`,
			`{"id":"c_123","first":20,"status":"PAID"}`},
		{"members of an object variable under caps", qPage, `{"page":{"first":20,"after":"x","window":{"last":5,"limit":[1,2]}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPlan(t, l, tc.query)
			raw := []byte(tc.vars)
			if _, err := p.Check(raw); err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(100, func() { _, _ = p.Check(raw) }); n != 0 {
				t.Errorf("Check allocated %v times per run; want none", n)
			}
		})
	}
}
