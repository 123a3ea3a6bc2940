package limits_test

import (
	"testing"
)

// BenchmarkCheck measures Check for a typical operation with three
// variables: an ID, a capped Int and an enum.
func BenchmarkCheck(b *testing.B) {
	const query = `query Dashboard($id: ID!, $first: Int!, $status: InvoiceStatus) {
		customer(id: $id) { name invoices(first: $first) { id total } }
		invoices(first: $first, status: $status) { id total status }
	}`
	cases := []struct {
		name   string
		schema bool
		vars   string
	}{
		{"without schema", false, `{"id":"c_123","first":20,"status":"PAID"}`},
		{"with schema", true, `{"id":"c_123","first":20,"status":"PAID"}`},
		{"with schema, coerced", true, `{"id":123,"first":20,"status":"PAID"}`},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			s := billing(b)
			if !bc.schema {
				s = nil
			}
			p := mustPlan(b, newLimits(b, defaults(), s), query)
			raw := []byte(bc.vars)
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := p.Check(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckInputObject measures the path through gqlparser's coercion:
// a mutation whose variable is an input object.
func BenchmarkCheckInputObject(b *testing.B) {
	p := mustPlan(b, newLimits(b, defaults(), billing(b)), qInput)
	raw := []byte(`{"input":{"customerId":"c_123","lines":[{"description":"Widget","quantity":2,"unitPrice":9.5},{"description":"Gadget","quantity":1,"unitPrice":19}],"memo":"thanks"}}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := p.Check(raw); err != nil {
			b.Fatal(err)
		}
	}
}
