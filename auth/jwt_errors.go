package auth

import (
	"errors"

	"github.com/golang-jwt/jwt/v5"
)

// TokenError is why a bearer token was refused. Every failure of
// Verifier.Verify is one.
type TokenError struct {
	// Description says what was wrong in a few words, safe to send to the
	// client as the error_description of WWW-Authenticate: it is one of a
	// fixed set of phrases, never text taken from the token or a provider.
	Description string
	// Err is the cause, for logs. It wraps the sentinel errors of this
	// package and of github.com/golang-jwt/jwt/v5 (jwt.ErrTokenExpired, …),
	// and may quote parts of the token.
	Err error
}

// Error describes the failure, cause included.
func (e *TokenError) Error() string {
	if e.Err == nil {
		return "invalid token: " + e.Description
	}
	return "invalid token: " + e.Description + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *TokenError) Unwrap() error { return e.Err }

// Errors a TokenError may wrap, for callers that count or log failures by
// kind.
var (
	// ErrTokenTooLarge: the token is longer than auth.jwt.max_token_bytes.
	ErrTokenTooLarge = errors.New("token longer than the limit")
	// ErrUntrustedIssuer: the token's iss is none of the configured issuers.
	ErrUntrustedIssuer = errors.New("issuer not trusted")
	// ErrUnknownKey: no key of the issuer's key set has the token's kid,
	// even after the refresh an unknown kid may cause.
	ErrUnknownKey = errors.New("signing key not in the issuer's key set")
	// ErrKeysUnavailable: the issuer's key set has not been fetched yet
	// (see Verifier.Ready), so nothing can be verified.
	ErrKeysUnavailable = errors.New("issuer's key set not fetched yet")
)

var (
	errKIDRequired   = errors.New("token has no kid and the issuer's key set has several keys")
	errKeyMismatch   = errors.New("algorithm does not fit the signing key")
	errCritical      = errors.New("token has critical header parameters (crit)")
	errMissingClaim  = errors.New("required claim missing or empty")
	errUnforwardable = errors.New("claim cannot be sent as a header (not a string, number or boolean; empty; padded with white space; or holding a control character)")
	errAlgorithm     = errors.New("signing algorithm not allowed")
	errEmptyToken    = errors.New("empty bearer token")
)

// The descriptions a TokenError carries.
const (
	descMalformed     = "the token is malformed"
	descTooLarge      = "the token is too large"
	descEmpty         = "the token is empty"
	descAlgorithm     = "the token's signing algorithm is not allowed"
	descSignature     = "the token's signature is invalid"
	descIssuer        = "the token's issuer is not trusted"
	descUnknownKey    = "the token's signing key is unknown"
	descKIDRequired   = "the token does not name its signing key (kid)"
	descKeyMismatch   = "the token's algorithm does not match its signing key"
	descKeysMissing   = "the issuer's signing keys are not available"
	descCritical      = "the token has critical header parameters"
	descExpired       = "the token has expired"
	descNotYetValid   = "the token is not valid yet"
	descIssuedFuture  = "the token was issued in the future"
	descAudience      = "the token is not meant for this API"
	descMissingClaim  = "the token lacks a required claim"
	descClaimType     = "the token has a claim of the wrong type"
	descUnforwardable = "the token has a claim the API cannot receive as a header (empty, padded with spaces, holding a control character, or not a string, number or boolean)"
	descInvalid       = "the token is invalid"
)

// describe pairs the causes a parse error may wrap with their description,
// most specific first.
var describe = []struct {
	err  error
	desc string
}{
	{ErrUntrustedIssuer, descIssuer},
	{ErrKeysUnavailable, descKeysMissing},
	{ErrUnknownKey, descUnknownKey},
	{errKIDRequired, descKIDRequired},
	{errKeyMismatch, descKeyMismatch},
	{errCritical, descCritical},
	{jwt.ErrTokenMalformed, descMalformed},
	{jwt.ErrTokenExpired, descExpired},
	{jwt.ErrTokenNotValidYet, descNotYetValid},
	{jwt.ErrTokenUsedBeforeIssued, descIssuedFuture},
	{jwt.ErrTokenInvalidAudience, descAudience},
	{jwt.ErrTokenRequiredClaimMissing, descMissingClaim},
	{jwt.ErrInvalidType, descClaimType},
	{jwt.ErrTokenSignatureInvalid, descSignature},
}

// tokenError turns an error of jwt.Parser.ParseWithClaims into a
// TokenError. parsed is what the parser returned with it, possibly nil.
func (v *Verifier) tokenError(parsed *jwt.Token, err error) *TokenError {
	// The parser reports an alg outside the allowlist as an invalid
	// signature and an alg it does not know (none, made-up names) as
	// unverifiable; both mean the same to the client.
	if parsed != nil && (errors.Is(err, jwt.ErrTokenSignatureInvalid) || errors.Is(err, jwt.ErrTokenUnverifiable)) {
		alg, _ := parsed.Header["alg"].(string)
		if !v.allows(alg) {
			return &TokenError{Description: descAlgorithm, Err: errors.Join(errAlgorithm, err)}
		}
	}
	for _, d := range describe {
		if errors.Is(err, d.err) {
			return &TokenError{Description: d.desc, Err: err}
		}
	}
	return &TokenError{Description: descInvalid, Err: err}
}

// allows reports whether alg is on the configured allowlist.
func (v *Verifier) allows(alg string) bool {
	for _, a := range v.allowed {
		if a == alg {
			return true
		}
	}
	return false
}
