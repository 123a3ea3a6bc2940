package envelope

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Info is the gateway's record of one request. The observe stage creates it
// with ID, ClientIP and Start before any other stage runs; those fields are
// read-only afterwards. Code, Err, Status and Upstream are written once by
// the stage that decides the outcome, and read by the access log after the
// response.
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
	// Status, when not zero, is the status the log and the metrics record
	// in place of the response's, for an outcome no response carried
	// (see RecordError).
	Status int
	// Upstream is how long the upstream took to answer headers; zero when it
	// was not contacted.
	Upstream time.Duration

	// Values attached by stages (see Attach), kept here rather than in new
	// contexts so that a request is not copied once per stage.
	attached  [4]struct{ key, value any }
	nAttached int

	idValues [1]string
	ipText   string
}

// Begin fills in the record of a request that starts now: its id, client
// address and start, and their header forms, made once for every stage
// that sends them.
func (i *Info) Begin(id string, clientIP netip.Addr, start time.Time) {
	i.ID, i.ClientIP, i.Start = id, clientIP, start
	i.idValues[0] = id
	if clientIP.IsValid() {
		i.ipText = clientIP.String()
	}
}

// IDValues returns the request id as a header value: after Begin the same
// slice on every call, so that the response and the upstream request carry
// it without a copy each. Callers must not modify it.
func (i *Info) IDValues() []string {
	if i.idValues[0] == "" {
		return []string{i.ID}
	}
	return i.idValues[:]
}

// RequestID returns the request id, for log lines about the request; ""
// for a nil Info (a stage used without the observe stage).
func (i *Info) RequestID() string {
	if i == nil {
		return ""
	}
	return i.ID
}

// ClientIPString returns ClientIP in text form ("" when unknown), formatted
// by Begin.
func (i *Info) ClientIPString() string {
	if i.ipText == "" && i.ClientIP.IsValid() {
		return i.ClientIP.String()
	}
	return i.ipText
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

// Attach returns a context carrying value under key. Inside the gateway's
// chain the value is recorded in the request's Info and ctx itself is
// returned, so stages need not copy the request (see AttachTo); elsewhere a
// derived context is returned. Each key is attached once per request.
func Attach(ctx context.Context, key, value any) context.Context {
	if info := InfoFrom(ctx); info != nil && info.nAttached < len(info.attached) {
		info.attached[info.nAttached].key, info.attached[info.nAttached].value = key, value
		info.nAttached++
		return ctx
	}
	return context.WithValue(ctx, key, value)
}

// Attached returns the value attached under key, or nil.
func Attached(ctx context.Context, key any) any {
	if info := InfoFrom(ctx); info != nil {
		for i := range info.nAttached {
			if info.attached[i].key == key {
				return info.attached[i].value
			}
		}
	}
	return ctx.Value(key)
}

// AttachTo returns r with value attached under key: r itself when the value
// could be recorded in r's Info, else a copy with a derived context.
func AttachTo(r *http.Request, key, value any) *http.Request {
	ctx := Attach(r.Context(), key, value)
	if ctx == r.Context() {
		return r
	}
	return r.WithContext(ctx)
}

// WithBatch returns a context that carries the parsed request body.
func WithBatch(ctx context.Context, b *Batch) context.Context {
	return Attach(ctx, batchKey{}, b)
}

// BatchFrom returns the parsed request body, or nil when none was parsed.
func BatchFrom(ctx context.Context) *Batch {
	b, _ := Attached(ctx, batchKey{}).(*Batch)
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
	// ClaimsJSON is the token's verified payload, a JSON object in compact
	// form on one line (keys, order and numbers as signed), fit for a
	// header value.
	ClaimsJSON string
	// Expires is when the token expires; zero for a certificate.
	Expires time.Time
	// Names are the caller's alternative names, each with its kind:
	// "DNS:api.example.com", "URI:spiffe://example.org/billing",
	// "email:ops@example.com", "IP:10.0.0.7".
	Names []string

	headerOnce   sync.Once
	headerValues map[string][]string
}

// HeaderValues returns the claims that can be identity headers
// (ClaimHeaderValue), by claim name, as header values. They are rendered
// once: a principal is shared by every request of its token, so the values
// are too and must not be changed.
func (p *Principal) HeaderValues() map[string][]string {
	p.headerOnce.Do(func() {
		p.headerValues = make(map[string][]string, len(p.Claims))
		for claim, raw := range p.Claims {
			if v, ok := ClaimHeaderValue(raw); ok {
				p.headerValues[claim] = []string{v}
			}
		}
	})
	return p.headerValues
}

// ClaimHeaderValue renders the token claim v as the value of an identity
// header: a string as it is, a number or boolean in JSON form. ok is false
// when v cannot be one:
//   - another type (objects and lists go in the claims header);
//   - an empty or blank string: no identity at all;
//   - a string with leading or trailing white space, which HTTP strips, so
//     that " alice" would reach the upstream as "alice";
//   - a control character (C0, DEL, C1), which would make the header invalid
//     or let it be read as more than one.
//
// The verifier refuses a token whose required forwarded claims fail this,
// and the proxy never sends a value that fails it.
func ClaimHeaderValue(v any) (string, bool) {
	var s string
	switch c := v.(type) {
	case string:
		s = c
	case float64:
		return strconv.FormatFloat(c, 'f', -1, 64), true
	case json.Number:
		s = c.String()
	case bool:
		return strconv.FormatBool(c), true
	default:
		return "", false
	}
	if s == "" || strings.TrimSpace(s) != s || strings.ContainsFunc(s, unicode.IsControl) {
		return "", false
	}
	return s, true
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return Attach(ctx, principalKey{}, p)
}

// AttachPrincipal returns r carrying p (see AttachTo).
func AttachPrincipal(r *http.Request, p *Principal) *http.Request {
	return AttachTo(r, principalKey{}, p)
}

// PrincipalFrom returns the verified caller, or nil for an anonymous request.
// When several were attached (a client certificate, then a token), the last
// one counts.
func PrincipalFrom(ctx context.Context) *Principal {
	if info := InfoFrom(ctx); info != nil {
		for i := info.nAttached - 1; i >= 0; i-- {
			if info.attached[i].key == (principalKey{}) {
				p, _ := info.attached[i].value.(*Principal)
				return p
			}
		}
	}
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
