package billing

import (
	"fmt"
	"time"
)

// newSeededStore returns a store holding the demo data. Timestamps are
// fixed so that every start of the demo shows the same answers.
func newSeededStore(now func() time.Time) *store {
	day := func(d int) time.Time {
		return time.Date(2025, time.January, 6, 9, 30, 0, 0, time.UTC).AddDate(0, 0, d)
	}
	s := &store{
		now: now,
		customers: []customer{
			{id: "c1", name: "Ada Lovelace", email: "ada@example.com"},
			{id: "c2", name: "Grace Hopper", email: "grace@example.com"},
			{id: "c3", name: "Alan Turing", email: "alan@example.com"},
		},
	}
	for n, inv := range []struct {
		customerID  string
		amountCents int32
		currency    string
		status      string
	}{
		{"c1", 12000, "EUR", statusPaid},
		{"c2", 4500, "USD", statusOpen},
		{"c1", 9900, "EUR", statusOpen},
		{"c3", 25000, "GBP", statusPaid},
		{"c2", 1500, "USD", statusVoid},
		{"c1", 3000, "EUR", statusOpen},
		{"c3", 7800, "GBP", statusOpen},
		{"c2", 6000, "USD", statusOpen},
	} {
		s.invoices = append(s.invoices, invoice{
			id:          fmt.Sprintf("i%d", n+1),
			number:      fmt.Sprintf("INV-%04d", n+1),
			customerID:  inv.customerID,
			amountCents: inv.amountCents,
			currency:    inv.currency,
			status:      inv.status,
			issuedAt:    day(7 * n),
		})
	}
	s.payments = []payment{
		{id: "p1", invoiceID: "i1", amountCents: 12000, paidAt: day(10)},
		{id: "p2", invoiceID: "i4", amountCents: 25000, paidAt: day(30)},
		{id: "p3", invoiceID: "i3", amountCents: 4900, paidAt: day(20)},
	}
	return s
}
