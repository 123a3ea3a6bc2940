// Package documents decides which GraphQL documents may run and what they
// are: it parses documents with gqlparser and selects the operation a request
// names.
//
// The resolve stage lives here: today it guards free-form documents sent with
// GET (only queries may run over GET, so that a cross-site link or image can
// never start a mutation).
package documents
