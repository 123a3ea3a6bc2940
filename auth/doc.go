// Package auth is the authenticate stage: it turns what the transport proved
// about a caller into an envelope.Principal before any GraphQL runs.
//
// Today it reads verified client certificates (inbound mTLS), so that
// service-to-service callers are identified by their certificate. It never
// authorises: what a principal may do is the upstream's decision.
package auth
