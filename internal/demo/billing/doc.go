// Package billing is the example GraphQL API that the gqlguard demo puts
// behind the gateway: customers, their invoices and the payments made on
// them, held in memory and seeded with the same data on every start.
//
// The API is naive on purpose. It honours any `first` argument however
// large, and it trusts the identity header it is configured with, because
// showing how the gateway limits and authenticates requests is the point of
// the demo. It is not meant to be exposed without the gateway in front.
package billing
