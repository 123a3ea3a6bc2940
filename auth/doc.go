// Package auth is the authenticate stage: it decides who the caller is
// before any GraphQL is read, out of band from the GraphQL document.
//
//   - Verifier checks bearer JWTs from configured OpenID providers: keys from
//     discovery or a JWKS URL, refreshed on an interval and (rate-limited) on
//     an unknown kid; algorithms from an allowlist (never none, never HMAC);
//     issuer, audience, expiry and required claims; verified tokens cached
//     until they expire.
//   - Authenticator is the HTTP stage: 401 with an RFC 6750 challenge for a
//     missing or bad token, failures rate-limited per client address, 503
//     while an issuer's signing keys are not loaded.
//   - ClientCertificate turns a verified client certificate into the caller.
//   - PublicOnly lets anonymous callers run only trusted documents marked
//     public.
//
// It never authorises: what a caller may do is the upstream's decision.
package auth
