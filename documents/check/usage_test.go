package check

import (
	"bytes"
	"slices"
	"testing"
)

func TestUsageGolden(t *testing.T) {
	u := Usage(loadBilling(t), loadDocs(t))
	var text, js bytes.Buffer
	if err := u.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := u.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "usage.txt", text.Bytes())
	golden(t, "usage.json", js.Bytes())
}

func TestUsage(t *testing.T) {
	billing := loadBilling(t)
	docs := []Input{
		input("customers.graphql", `query Customers { customers(first: 5) { ...C } }
fragment C on Customer { name invoices(first: 2) { ... on Invoice { amount } } }`),
		input("node.graphql", `query Node { node(id: "1") { id ... on User { name } } }`),
		input("search.graphql", `query Search { search(term: "x") { ... on Invoice { number } } }`),
		input("broken.graphql", `query Broken { customers {`),
		input("unknown.graphql", `query Unknown { nope customers(first: 1) { balance } }`),
	}
	u := Usage(billing, docs)

	tests := []struct {
		coordinate string
		want       []string
	}{
		{"Query.customers", []string{"customers.graphql Customers", "unknown.graphql Unknown"}},
		{"Customer.name", []string{"customers.graphql Customers"}},
		{"Customer.invoices", []string{"customers.graphql Customers"}},
		{"Invoice.amount", []string{"customers.graphql Customers"}},
		{"Node.id", []string{"node.graphql Node"}},
		{"User.name", []string{"node.graphql Node"}},
		{"Invoice.number", []string{"search.graphql Search"}},
		{"Customer.email", nil},
		{"Query.nope", nil},
		{"Customer.balance", nil},
	}
	for _, tt := range tests {
		t.Run(tt.coordinate, func(t *testing.T) {
			var got []string
			for _, use := range u.Uses(tt.coordinate) {
				got = append(got, use.File+" "+use.Operation)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Uses(%s) = %q, want %q", tt.coordinate, got, tt.want)
			}
		})
	}

	for _, c := range []string{"Customer.email", "Customer.phone", "Contact.kind", "Mutation.payInvoice", "Query.viewer"} {
		if !slices.Contains(u.Unused, c) {
			t.Errorf("Unused lacks %s", c)
		}
	}
	// Node.id is selected: the fields that implement it cannot go.
	for _, c := range []string{"Customer.id", "Invoice.id", "User.id", "Node.id", "Query.customers", "Customer.name"} {
		if slices.Contains(u.Unused, c) {
			t.Errorf("Unused lists %s, which is in use", c)
		}
	}
	if !slices.IsSorted(u.Unused) {
		t.Error("Unused is not sorted")
	}
}

func TestUsageWithoutSchema(t *testing.T) {
	u := Usage(nil, []Input{input("q.graphql", "{ a }")})
	if len(u.Fields) != 0 || len(u.Unused) != 0 {
		t.Errorf("Usage(nil) = %+v, want an empty report", u)
	}
	var b bytes.Buffer
	if err := u.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "{\n  \"fields\": [],\n  \"unused\": []\n}\n" {
		t.Errorf("WriteJSON = %q", got)
	}
}
