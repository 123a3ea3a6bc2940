package billing

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Invoice statuses, spelled as the InvoiceStatus enum values.
const (
	statusOpen = "OPEN"
	statusPaid = "PAID"
	statusVoid = "VOID"
)

var (
	errNotFound = errors.New("not found")
	errInvalid  = errors.New("invalid input")
)

type customer struct {
	id, name, email string
}

type invoice struct {
	id, number, customerID string
	amountCents            int32
	currency               string
	status                 string
	issuedAt               time.Time
}

type payment struct {
	id, invoiceID string
	amountCents   int32
	paidAt        time.Time
}

// store holds the billing data. Its methods return copies, so callers never
// share memory with it outside the lock.
type store struct {
	now func() time.Time

	mu        sync.RWMutex
	customers []customer // in id order
	invoices  []invoice  // in issue order
	payments  []payment  // in payment order
}

func (s *store) customer(id string) (customer, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := slices.IndexFunc(s.customers, func(c customer) bool { return c.id == id })
	if i < 0 {
		return customer{}, false
	}
	return s.customers[i], true
}

// customersAfter returns up to first customers following the one with id
// after, or from the start when after is empty.
func (s *store) customersAfter(after string, first int) ([]customer, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	start := 0
	if after != "" {
		i := slices.IndexFunc(s.customers, func(c customer) bool { return c.id == after })
		if i < 0 {
			return nil, fmt.Errorf("cursor %q: %w", after, errInvalid)
		}
		start = i + 1
	}
	end := min(start+first, len(s.customers))
	return slices.Clone(s.customers[start:end]), nil
}

func (s *store) invoice(id string) (invoice, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := s.invoiceIndex(id)
	if i < 0 {
		return invoice{}, false
	}
	return s.invoices[i], true
}

// invoicesWhere returns up to first invoices for which keep reports true.
func (s *store) invoicesWhere(first int, keep func(invoice) bool) []invoice {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []invoice
	for _, inv := range s.invoices {
		if len(out) == first {
			break
		}
		if keep(inv) {
			out = append(out, inv)
		}
	}
	return out
}

func (s *store) paymentsFor(invoiceID string) []payment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []payment
	for _, p := range s.payments {
		if p.invoiceID == invoiceID {
			out = append(out, p)
		}
	}
	return out
}

func (s *store) createInvoice(customerID string, amountCents int32, currency string) (invoice, error) {
	if amountCents <= 0 {
		return invoice{}, fmt.Errorf("amountCents must be greater than zero: %w", errInvalid)
	}
	if !isCurrencyCode(currency) {
		return invoice{}, fmt.Errorf("currency %q is not an ISO 4217 code such as EUR: %w", currency, errInvalid)
	}
	if _, ok := s.customer(customerID); !ok {
		return invoice{}, fmt.Errorf("customer %q: %w", customerID, errNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.invoices) + 1
	inv := invoice{
		id:          fmt.Sprintf("i%d", n),
		number:      fmt.Sprintf("INV-%04d", n),
		customerID:  customerID,
		amountCents: amountCents,
		currency:    currency,
		status:      statusOpen,
		issuedAt:    s.now().UTC(),
	}
	s.invoices = append(s.invoices, inv)
	return inv, nil
}

// pay records a payment on the invoice with the given id when may reports
// that the caller may see it, and marks the invoice PAID once the payments
// cover its amount.
func (s *store) pay(invoiceID string, amountCents int32, may func(invoice) bool) (payment, error) {
	if amountCents <= 0 {
		return payment{}, fmt.Errorf("amountCents must be greater than zero: %w", errInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.invoiceIndex(invoiceID)
	if i < 0 || !may(s.invoices[i]) {
		return payment{}, fmt.Errorf("invoice %q: %w", invoiceID, errNotFound)
	}
	inv := &s.invoices[i]
	if inv.status != statusOpen {
		return payment{}, fmt.Errorf("invoice %q is %s, only OPEN invoices can be paid: %w", inv.id, inv.status, errInvalid)
	}
	due := int64(inv.amountCents) - s.paidLocked(inv.id)
	if int64(amountCents) > due {
		return payment{}, fmt.Errorf("amountCents %d exceeds the %d still due on invoice %q: %w", amountCents, due, inv.id, errInvalid)
	}
	p := payment{
		id:          fmt.Sprintf("p%d", len(s.payments)+1),
		invoiceID:   inv.id,
		amountCents: amountCents,
		paidAt:      s.now().UTC(),
	}
	s.payments = append(s.payments, p)
	if int64(amountCents) == due {
		inv.status = statusPaid
	}
	return p, nil
}

func (s *store) invoiceIndex(id string) int {
	return slices.IndexFunc(s.invoices, func(inv invoice) bool { return inv.id == id })
}

func (s *store) paidLocked(invoiceID string) int64 {
	var sum int64
	for _, p := range s.payments {
		if p.invoiceID == invoiceID {
			sum += int64(p.amountCents)
		}
	}
	return sum
}

// isCurrencyCode reports whether code has the shape of an ISO 4217 code.
func isCurrencyCode(code string) bool {
	if len(code) != 3 {
		return false
	}
	for _, c := range []byte(code) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
