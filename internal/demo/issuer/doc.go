// Package issuer is the demo's identity provider: a small OpenID-provider
// shaped token issuer on its own loopback port, so that `gqlguard demo` can
// show the gateway verifying JWTs issued out of band, as it would in front
// of a real provider.
//
// It publishes an OpenID discovery document, a JWK Set with one ES256
// public key, and a token endpoint that exchanges a username and password
// for a short-lived signed access token whose sub is the user's customer
// id. The signing key is kept in a file so that tokens survive a restart of
// the demo.
//
// It is not an identity provider for anything but the demo: users are fixed
// at construction, there are no refresh tokens, no clients, no consent and
// no key rotation, and the password grant it offers is one that production
// providers should not (see the token endpoint).
package issuer
