// Package envelope reads GraphQL-over-HTTP requests and writes the gateway's
// error responses.
//
// It is the leaf package of gqlguard: it holds the per-request values every
// stage shares (the parsed [Batch], the [Info] record), the stable error codes
// of the error contract, and [WriteError], the one place where an error becomes
// an HTTP status and a GraphQL-over-HTTP body. It also reads file uploads
// (multipart/form-data requests of the GraphQL multipart request spec, see
// [Uploads]) when [Limits] enables them. It imports only the standard
// library (and internal/jsonscan, which imports nothing), so a Go GraphQL
// server can embed it in-process.
//
// It is not a GraphQL parser: documents stay text here; the documents package
// parses and validates them.
package envelope
