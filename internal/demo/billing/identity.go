package billing

import "context"

type userKey struct{}

type readOnlyKey struct{}

// withUser returns ctx carrying the id of the customer making the request.
func withUser(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, userKey{}, id)
}

// userFrom returns the id of the customer making the request, if any.
func userFrom(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(userKey{}).(string)
	return id, ok
}

// withReadOnly returns ctx marking a request that must not change data,
// such as one made with GET.
func withReadOnly(ctx context.Context) context.Context {
	return context.WithValue(ctx, readOnlyKey{}, true)
}

func isReadOnly(ctx context.Context) bool {
	return ctx.Value(readOnlyKey{}) != nil
}

// mayAccess reports whether the caller may see and change inv. An
// identified caller sees only their own invoices. A caller without identity
// sees all of them: whether anonymous requests reach the API at all is for
// the gateway in front of it to decide, not for the API.
func mayAccess(ctx context.Context, inv invoice) bool {
	id, ok := userFrom(ctx)
	return !ok || inv.customerID == id
}
