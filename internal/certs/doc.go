// Package certs provides the certificates gqlguard's TLS listeners serve.
//
// EnsureDevCA keeps a local development certificate authority and a server
// certificate signed by it, so that `gqlguard demo` can serve HTTPS on
// localhost to clients that trust the CA. It is for development machines,
// not for production, where certificates come from files or ACME.
package certs
