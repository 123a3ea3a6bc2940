package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
)

// version is reported by the status query.
const version = "1.0.0"

// errMutationOverGET refuses mutations in requests marked read-only; the
// HTTP handler turns it into 405 Method Not Allowed.
var errMutationOverGET = errors.New("mutations are not allowed over GET, use POST")

// resolver is the root of both the Query and the Mutation type.
type resolver struct {
	s *store
}

type idArgs struct {
	ID graphql.ID
}

// A `first` argument is a graphql.NullInt: a variable the client left out
// reaches the resolver as null (graphql-go does not fall back on the
// schema's default then, and refuses null for an int32), and count applies
// the default instead.

type customersArgs struct {
	First graphql.NullInt
	After *string
}

type invoicesArgs struct {
	First  graphql.NullInt
	Status *string
}

type firstArgs struct {
	First graphql.NullInt
}

type createInvoiceArgs struct {
	Input struct {
		CustomerID  graphql.ID
		AmountCents int32
		Currency    string
	}
}

type payInvoiceArgs struct {
	ID          graphql.ID
	AmountCents int32
}

func (r *resolver) Me(ctx context.Context) *customerResolver {
	id, ok := userFrom(ctx)
	if !ok {
		return nil
	}
	return r.Customer(idArgs{ID: graphql.ID(id)})
}

func (r *resolver) Customer(args idArgs) *customerResolver {
	c, ok := r.s.customer(string(args.ID))
	if !ok {
		return nil
	}
	return &customerResolver{s: r.s, c: c}
}

func (r *resolver) Customers(args customersArgs) ([]*customerResolver, error) {
	first, err := count(args.First)
	if err != nil {
		return nil, err
	}
	var after string
	if args.After != nil {
		after = *args.After
	}
	cs, err := r.s.customersAfter(after, first)
	if err != nil {
		return nil, err
	}
	out := make([]*customerResolver, len(cs))
	for i, c := range cs {
		out[i] = &customerResolver{s: r.s, c: c}
	}
	return out, nil
}

func (r *resolver) Invoice(ctx context.Context, args idArgs) *invoiceResolver {
	inv, ok := r.s.invoice(string(args.ID))
	if !ok || !mayAccess(ctx, inv) {
		return nil
	}
	return &invoiceResolver{s: r.s, inv: inv}
}

func (r *resolver) Invoices(ctx context.Context, args invoicesArgs) ([]*invoiceResolver, error) {
	first, err := count(args.First)
	if err != nil {
		return nil, err
	}
	invs := r.s.invoicesWhere(first, func(inv invoice) bool {
		return mayAccess(ctx, inv) && (args.Status == nil || inv.status == *args.Status)
	})
	return invoiceResolvers(r.s, invs), nil
}

func (r *resolver) Status() statusResolver {
	return statusResolver{}
}

func (r *resolver) CreateInvoice(ctx context.Context, args createInvoiceArgs) (*invoiceResolver, error) {
	if isReadOnly(ctx) {
		return nil, errMutationOverGET
	}
	in := args.Input
	if id, ok := userFrom(ctx); ok && id != string(in.CustomerID) {
		return nil, fmt.Errorf("customer %q: you can only invoice yourself: %w", in.CustomerID, errInvalid)
	}
	inv, err := r.s.createInvoice(string(in.CustomerID), in.AmountCents, in.Currency)
	if err != nil {
		return nil, err
	}
	return &invoiceResolver{s: r.s, inv: inv}, nil
}

func (r *resolver) PayInvoice(ctx context.Context, args payInvoiceArgs) (*paymentResolver, error) {
	if isReadOnly(ctx) {
		return nil, errMutationOverGET
	}
	may := func(inv invoice) bool { return mayAccess(ctx, inv) }
	p, err := r.s.pay(string(args.ID), args.AmountCents, may)
	if err != nil {
		return nil, err
	}
	return &paymentResolver{s: r.s, p: p}, nil
}

// invoiceResolvers wraps invs; the result is never nil, since every invoice
// list in the schema is non-null.
func invoiceResolvers(s *store, invs []invoice) []*invoiceResolver {
	out := make([]*invoiceResolver, len(invs))
	for i, inv := range invs {
		out[i] = &invoiceResolver{s: s, inv: inv}
	}
	return out
}

// defaultFirst is the default of every `first` argument in the schema.
const defaultFirst = 10

// count checks a `first` argument; null means the schema's default. Any
// size is accepted: capping it is the gateway's job, which the demo shows.
func count(first graphql.NullInt) (int, error) {
	if first.Value == nil {
		return defaultFirst, nil
	}
	if n := *first.Value; n < 0 {
		return 0, fmt.Errorf("first must not be negative, got %d: %w", n, errInvalid)
	}
	return int(*first.Value), nil
}

type customerResolver struct {
	s *store
	c customer
}

func (r *customerResolver) ID() graphql.ID { return graphql.ID(r.c.id) }
func (r *customerResolver) Name() string   { return r.c.name }
func (r *customerResolver) Email() string  { return r.c.email }

func (r *customerResolver) Invoices(ctx context.Context, args firstArgs) ([]*invoiceResolver, error) {
	first, err := count(args.First)
	if err != nil {
		return nil, err
	}
	invs := r.s.invoicesWhere(first, func(inv invoice) bool {
		return inv.customerID == r.c.id && mayAccess(ctx, inv)
	})
	return invoiceResolvers(r.s, invs), nil
}

type invoiceResolver struct {
	s   *store
	inv invoice
}

func (r *invoiceResolver) ID() graphql.ID     { return graphql.ID(r.inv.id) }
func (r *invoiceResolver) Number() string     { return r.inv.number }
func (r *invoiceResolver) AmountCents() int32 { return r.inv.amountCents }
func (r *invoiceResolver) Currency() string   { return r.inv.currency }
func (r *invoiceResolver) Status() string     { return r.inv.status }
func (r *invoiceResolver) IssuedAt() string   { return r.inv.issuedAt.Format(time.RFC3339) }

func (r *invoiceResolver) Customer() (*customerResolver, error) {
	c, ok := r.s.customer(r.inv.customerID)
	if !ok {
		return nil, fmt.Errorf("customer %q of invoice %q: %w", r.inv.customerID, r.inv.id, errNotFound)
	}
	return &customerResolver{s: r.s, c: c}, nil
}

func (r *invoiceResolver) Payments() []*paymentResolver {
	ps := r.s.paymentsFor(r.inv.id)
	out := make([]*paymentResolver, len(ps))
	for i, p := range ps {
		out[i] = &paymentResolver{s: r.s, p: p}
	}
	return out
}

type paymentResolver struct {
	s *store
	p payment
}

func (r *paymentResolver) ID() graphql.ID     { return graphql.ID(r.p.id) }
func (r *paymentResolver) AmountCents() int32 { return r.p.amountCents }
func (r *paymentResolver) PaidAt() string     { return r.p.paidAt.Format(time.RFC3339) }

func (r *paymentResolver) Invoice() (*invoiceResolver, error) {
	inv, ok := r.s.invoice(r.p.invoiceID)
	if !ok {
		return nil, fmt.Errorf("invoice %q of payment %q: %w", r.p.invoiceID, r.p.id, errNotFound)
	}
	return &invoiceResolver{s: r.s, inv: inv}, nil
}

type statusResolver struct{}

func (statusResolver) Ok() bool        { return true }
func (statusResolver) Version() string { return version }
