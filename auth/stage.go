package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/envelope"
)

// TokenVerifier verifies a bearer token; *Verifier is one.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*envelope.Principal, error)
}

// CachedVerifier is a TokenVerifier that can also tell, without checking a
// signature, that a token was verified before and is still valid; *Verifier
// is one.
type CachedVerifier interface {
	TokenVerifier
	// Cached returns the principal of a token verified before and not yet
	// expired, or nil.
	Cached(token string) *envelope.Principal
}

// FailureLimiter rate-limits failed authentications per client address;
// *limits.FailureLimiter is one.
type FailureLimiter interface {
	// Fail counts a failure from addr and reports whether it is within
	// the limit, and if not, how long until the next one would be.
	Fail(addr netip.Addr) (ok bool, retryAfter time.Duration)
	// Blocked reports whether addr has used up its failures, without
	// counting one.
	Blocked(addr netip.Addr) (blocked bool, retryAfter time.Duration)
}

// Authenticator is the authenticate stage. It runs before the request body
// is read: a request with a token is verified (401 on failure); a request
// without one is anonymous, which later stages allow only for public trusted
// documents (see RequirePublic), or is refused here at once when Anonymous
// is false.
type Authenticator struct {
	// Verifier checks tokens. Required.
	Verifier TokenVerifier
	// Cookie, when set, is where the token is read from instead of the
	// Authorization header.
	Cookie string
	// MaxTokenBytes refuses longer tokens unread; 0 means 8192.
	MaxTokenBytes int
	// ClientCertificates accepts a verified client certificate (attached
	// by ClientCertificate) as authentication.
	ClientCertificates bool
	// Anonymous lets requests without a token continue (strict document
	// mode: public documents may run).
	Anonymous bool
	// Limiter slows down clients whose authentications fail. A blocked
	// address is refused before its tokens are verified, unless the
	// Verifier is a CachedVerifier that verified the token before.
	Limiter FailureLimiter
	// Next receives authenticated and anonymous requests.
	Next http.Handler
}

// ServeHTTP implements http.Handler.
func (a *Authenticator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, err := a.token(r)
	if err != nil {
		a.refuse(w, r, err)
		return
	}
	if token == "" {
		if p := envelope.PrincipalFrom(r.Context()); a.ClientCertificates && p != nil && p.Method == "mtls" {
			a.Next.ServeHTTP(w, r)
			return
		}
		if !a.Anonymous {
			a.refuse(w, r, errNoToken)
			return
		}
		a.Next.ServeHTTP(w, envelope.AttachTo(r, anonymousKey{}, true))
		return
	}
	if a.Verifier == nil {
		a.refuse(w, r, &requestError{"this API accepts client certificates, not bearer tokens"})
		return
	}
	// A token verified before passes at once, whatever the failure limit
	// says of its address: good clients behind it are not held up, and
	// the limiter is not consulted on the common path.
	if p := a.cached(token); p != nil {
		a.Next.ServeHTTP(w, envelope.AttachPrincipal(r, p))
		return
	}
	// Signature checks are what a brute force costs the gateway, so a
	// blocked address gets none.
	if blocked, wait := a.blocked(r); blocked {
		a.rateLimited(w, r, wait, errBlocked)
		return
	}
	p, err := a.Verifier.Verify(r.Context(), token)
	if err != nil {
		a.refuse(w, r, err)
		return
	}
	a.Next.ServeHTTP(w, envelope.AttachPrincipal(r, p))
}

var (
	errNoToken = errors.New("no token")
	// errOtherScheme is an Authorization header of another scheme (Basic,
	// …): like no token at all, it gets a bare challenge (RFC 6750 §3).
	errOtherScheme = errors.New("authorization scheme other than Bearer")
	errBlocked     = errors.New("too many failed authentications; the token was not checked")
)

// blocked reports whether the request's client address has used up its
// failed authentications.
func (a *Authenticator) blocked(r *http.Request) (bool, time.Duration) {
	if a.Limiter == nil {
		return false, 0
	}
	info := envelope.InfoFrom(r.Context())
	if info == nil {
		return false, 0
	}
	return a.Limiter.Blocked(info.ClientIP)
}

// cached returns the principal of token if the Verifier verified it before.
func (a *Authenticator) cached(token string) *envelope.Principal {
	if cv, ok := a.Verifier.(CachedVerifier); ok {
		return cv.Cached(token)
	}
	return nil
}

// requestError is a malformed request (RFC 6750 invalid_request).
type requestError struct{ description string }

func (e *requestError) Error() string { return e.description }

// token extracts the bearer token. The URL never carries one: it ends up in
// logs, histories and Referer headers.
func (a *Authenticator) token(r *http.Request) (string, error) {
	if r.URL.RawQuery != "" {
		if q := r.URL.Query(); q.Has("access_token") || q.Has("token") {
			return "", &requestError{"tokens are not accepted in the URL; send Authorization: Bearer <token>"}
		}
	}
	max := a.MaxTokenBytes
	if max <= 0 {
		max = 8192
	}
	var token string
	if a.Cookie != "" {
		c, err := r.Cookie(a.Cookie)
		if err != nil {
			return "", nil
		}
		token = c.Value
	} else {
		values := r.Header.Values("Authorization")
		switch {
		case len(values) == 0:
			return "", nil
		case len(values) > 1:
			return "", &requestError{"send exactly one Authorization header"}
		}
		// The scheme is case-insensitive (RFC 7235); "Bearer" alone is a
		// token that was sent empty.
		scheme, t, _ := strings.Cut(values[0], " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", errOtherScheme
		}
		token = strings.TrimSpace(t)
	}
	// A token was sent, so these are invalid_token (RFC 6750 §3.1). An
	// oversized one is refused unread: parsing and hashing cost grows with
	// the size.
	if len(token) > max {
		return "", &TokenError{Description: descTooLarge, Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTokenTooLarge, len(token), max)}
	}
	if token == "" {
		return "", &TokenError{Description: descEmpty, Err: errEmptyToken}
	}
	return token, nil
}

// refuse answers 401 with the RFC 6750 challenge (or 429 once the client
// has failed too often), or 503 while the signing keys are not loaded.
func (a *Authenticator) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrKeysUnavailable) {
		// The token may well be good: invalid_token would make clients
		// throw it away, and counting a failure would push every client
		// behind one NAT towards 429 during a provider outage. Nothing is
		// let through either way.
		envelope.WriteError(w, r, keysUnavailable(err))
		return
	}
	if !errors.Is(err, errNoToken) && !errors.Is(err, errOtherScheme) && a.Limiter != nil {
		if info := envelope.InfoFrom(r.Context()); info != nil {
			if ok, wait := a.Limiter.Fail(info.ClientIP); !ok {
				a.rateLimited(w, r, wait, err)
				return
			}
		}
	}
	envelope.WriteError(w, r, Unauthenticated(err))
}

// rateLimited answers 429 with Retry-After: the client address has failed
// to authenticate too often.
func (a *Authenticator) rateLimited(w http.ResponseWriter, r *http.Request, wait time.Duration, err error) {
	secs := strconv.Itoa(max(int(wait.Seconds()+0.999), 1))
	envelope.WriteError(w, r, &envelope.Error{
		Code:    envelope.CodeRateLimited,
		Message: "too many failed authentications from this address; retry in " + secs + " s",
		Header:  http.Header{"Retry-After": {secs}},
		Err:     err,
	})
}

// keysRetryAfter is the Retry-After of a refusal for want of signing keys:
// the Verifier retries a failed first fetch within seconds.
const keysRetryAfter = "5"

// keysUnavailable is the 503 for a token that cannot be checked because its
// issuer's signing keys have not been fetched yet.
func keysUnavailable(err error) *envelope.Error {
	return &envelope.Error{
		Code:    envelope.CodeAuthUnavailable,
		Message: "the identity provider's signing keys are not available yet, so the token cannot be checked; retry in " + keysRetryAfter + " s",
		Header:  http.Header{"Retry-After": {keysRetryAfter}},
		Err:     err,
	}
}

// Unauthenticated returns the 401 for err: with no token (or credentials
// of another scheme), a bare challenge; with a malformed request,
// invalid_request; with a bad token, invalid_token and a description of
// what was wrong. RFC 6750 §3.1 suggests 400 for invalid_request; the
// gateway's error contract answers every authentication failure 401.
func Unauthenticated(err error) *envelope.Error {
	challenge := `Bearer realm="GraphQL"`
	msg := "authentication required: send Authorization: Bearer <token> from the identity provider"
	var reqErr *requestError
	var tokErr *TokenError
	switch {
	case errors.Is(err, errOtherScheme):
		msg = "this API accepts only bearer tokens: send Authorization: Bearer <token> from the identity provider"
	case errors.As(err, &reqErr):
		challenge += `, error="invalid_request", error_description="` + quoteSafe(reqErr.description) + `"`
		msg = reqErr.description
	case errors.As(err, &tokErr):
		challenge += `, error="invalid_token", error_description="` + quoteSafe(tokErr.Description) + `"`
		msg = "the token was refused: " + tokErr.Description
	}
	return &envelope.Error{Code: envelope.CodeUnauthenticated, Message: msg, Err: err,
		Header: http.Header{"Www-Authenticate": {challenge}}}
}

// quoteSafe keeps a description within RFC 6750's allowed characters.
func quoteSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			b[i] = ' '
		}
	}
	return string(b)
}

type anonymousKey struct{}

func withAnonymous(ctx context.Context) context.Context {
	return envelope.Attach(ctx, anonymousKey{}, true)
}

// Anonymous reports whether the authenticate stage let the request through
// without authentication.
func Anonymous(ctx context.Context) bool {
	a, _ := envelope.Attached(ctx, anonymousKey{}).(bool)
	return a
}

// PublicOnly is a documents.Resolver Authorize hook: an anonymous request
// may run a document only if it is a trusted document marked public in the
// store. The decision uses the resolved document, never anything the client
// names (such as operationName), and is taken before the operation is even
// selected.
func PublicOnly(r *http.Request, res documents.Resolved) error {
	if Anonymous(r.Context()) && (!res.Trusted || !res.Document.Meta.Public) {
		return Unauthenticated(errNoToken)
	}
	return nil
}
