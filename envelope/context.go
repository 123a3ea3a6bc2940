package envelope

import (
	"context"
	"net/netip"
	"time"
)

// Info is the gateway's record of one request. The observe stage creates it
// with ID, ClientIP and Start before any other stage runs; those fields are
// read-only afterwards. Code, Err and Upstream are written once by the stage
// that decides the outcome, and read by the access log after the response.
type Info struct {
	// ID is the request id, also sent as the X-Request-Id response header.
	ID string
	// ClientIP is the address of the client: the peer, or the address a
	// configured trusted proxy reported.
	ClientIP netip.Addr
	// Start is when the gateway received the request.
	Start time.Time

	// Code is the outcome: an error code, or empty when the upstream answered.
	Code Code
	// Err is the refusal or failure, for the log.
	Err error
	// Upstream is how long the upstream took to answer headers; zero when it
	// was not contacted.
	Upstream time.Duration
}

type infoKey struct{}
type batchKey struct{}

// WithInfo returns a context that carries info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// InfoFrom returns the request's Info, or nil outside the gateway's chain.
func InfoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}

// WithBatch returns a context that carries the parsed request body.
func WithBatch(ctx context.Context, b *Batch) context.Context {
	return context.WithValue(ctx, batchKey{}, b)
}

// BatchFrom returns the parsed request body, or nil when none was parsed.
func BatchFrom(ctx context.Context) *Batch {
	b, _ := ctx.Value(batchKey{}).(*Batch)
	return b
}

// Principal is the verified caller of a request. Stages attach it once,
// before forwarding, and never change it afterwards.
type Principal struct {
	// Method says how the caller was verified: "mtls" for a client
	// certificate, "jwt" for a bearer token.
	Method string
	// Subject names the caller: the certificate's subject distinguished
	// name, or the token's sub claim.
	Subject string
	// Claims are a token's verified claims; nil for a certificate.
	Claims map[string]any
	// ClaimsJSON is the token's verified payload as sent (a JSON object).
	ClaimsJSON []byte
	// Expires is when the token expires; zero for a certificate.
	Expires time.Time
	// Names are the caller's alternative names, each with its kind:
	// "DNS:api.example.com", "URI:spiffe://example.org/billing",
	// "email:ops@example.com", "IP:10.0.0.7".
	Names []string
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the verified caller, or nil for an anonymous request.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
