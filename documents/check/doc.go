// Package check vets trusted documents when they are registered and in CI
// (gqlguard docs check): each document must parse, validate against the
// upstream's schema when one is given, stay within depth, alias, root field
// and cost limits, and never feed a pagination argument from a variable that
// no configured cap bounds, nor (with a schema) a pagination member of an
// input object (invoices(page: $page) with PageInput.first).
//
// Checks run once, at registration, so that the request path only looks
// documents up; the values of variables are bounded per request by the
// limits stage. The package also answers "can this field be removed?" with a
// usage report of schema fields across all documents.
package check
