package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is the smallest RSA modulus accepted in a key set: shorter
// keys are factorable by a well-funded attacker.
const minRSABits = 2048

// keySet is one issuer's usable signature keys, as fetched at one time. It
// is immutable: a refresh builds a new one and swaps it in.
type keySet struct {
	byKID map[string][]*verificationKey
	all   []*verificationKey
}

// verificationKey is one public key of a key set.
type verificationKey struct {
	kid    string
	alg    string // the JWK's alg, empty when the provider left it out
	public crypto.PublicKey
}

// fits reports whether a token signed with alg may be checked with k. The
// key's type decides the algorithm family (RFC 7518): RSA keys verify RS*
// and PS*, EC keys ES* on the curve the algorithm names, Ed25519 keys
// EdDSA. So a token cannot pick an algorithm that reinterprets the key, and
// no key is ever an HMAC secret.
func (k *verificationKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch pub := k.public.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch pub.Curve.Params().Name {
		case "P-256":
			return alg == "ES256"
		case "P-384":
			return alg == "ES384"
		case "P-521":
			return alg == "ES512"
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// find returns the key that verifies a token with kid and alg.
//
// A token without kid is checked against the set's only key when it has
// exactly one (some providers leave kid out of single-key sets); with
// several keys it is refused rather than tried against each, which would
// multiply the cost of every forged token.
func (s *keySet) find(kid, alg string) (*verificationKey, error) {
	var candidates []*verificationKey
	switch {
	case kid != "":
		candidates = s.byKID[kid]
		if len(candidates) == 0 {
			return nil, fmt.Errorf("%w: kid %.64q", ErrUnknownKey, kid)
		}
	case len(s.all) == 1:
		candidates = s.all
	default:
		return nil, errKIDRequired
	}
	for _, k := range candidates {
		if k.fits(alg) {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: %s with kid %.64q", errKeyMismatch, alg, kid)
}

// kids lists the set's key ids, for the log.
func (s *keySet) kids() []string {
	out := make([]string, 0, len(s.all))
	for _, k := range s.all {
		out = append(out, k.kid)
	}
	return out
}

// holds reports whether s has a key equal to k: the same kid, alg and
// public key. Keys are compared by value because every fetch builds new key
// objects, even when the provider's set has not changed.
func (s *keySet) holds(k *verificationKey) bool {
	return slices.ContainsFunc(s.byKID[k.kid], func(n *verificationKey) bool {
		return n == k || n.alg == k.alg && publicEqual(n.public, k.public)
	})
}

// withdraws reports whether old holds a key that s does not.
func (s *keySet) withdraws(old *keySet) bool {
	return slices.ContainsFunc(old.all, func(k *verificationKey) bool { return !s.holds(k) })
}

// publicEqual compares two public keys of the types a key set holds.
func publicEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// newKeySet turns a fetched JWK Set into the usable signature keys. Keys are
// decoded and validated by jwkset; keys meant for encryption, symmetric
// keys, unsupported types and short RSA keys are skipped, each with a log
// record. A set with no usable key is an error, so that a broken answer
// never replaces keys that work.
func newKeySet(raw jwkset.JWKSMarshal, log *slog.Logger) (*keySet, error) {
	s := &keySet{byKID: map[string][]*verificationKey{}}
	for i, m := range raw.Keys {
		k, err := usableKey(m)
		if err != nil {
			level := slog.LevelWarn
			if errors.Is(err, errNotForSignatures) {
				level = slog.LevelDebug // encryption keys are routinely published beside signature keys
			}
			log.Log(context.Background(), level, "auth: JWK skipped", "index", i, "kid", m.KID, "kty", string(m.KTY), "error", err)
			continue
		}
		s.all = append(s.all, k)
		s.byKID[k.kid] = append(s.byKID[k.kid], k)
	}
	if len(s.all) == 0 {
		return nil, fmt.Errorf("the JWK Set holds no usable signature key (of %d keys)", len(raw.Keys))
	}
	return s, nil
}

// errNotForSignatures marks a JWK published for another purpose.
var errNotForSignatures = errors.New("not a signature key")

// usableKey decodes one JWK into a verification key, or says why it is not
// one.
func usableKey(m jwkset.JWKMarshal) (*verificationKey, error) {
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, fmt.Errorf("%w: use is %q", errNotForSignatures, m.USE)
	}
	if len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
		return nil, fmt.Errorf("%w: key_ops lacks verify", errNotForSignatures)
	}
	if m.KTY == jwkset.KtyOct {
		// A symmetric key in a public key set is a provider mistake; using
		// it would let anyone who fetched the set sign tokens.
		return nil, errors.New("symmetric keys are never used")
	}
	// Private: false decodes only the public part, whatever the JWK holds.
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{Private: false}, jwkset.JWKValidateOptions{})
	if err != nil {
		return nil, err
	}
	k := &verificationKey{kid: m.KID, alg: string(m.ALG), public: jwk.Key()}
	switch pub := k.public.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits; at least %d required", pub.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("key type %T does not sign", pub)
	}
	if k.alg != "" && !asymmetric(k.alg) {
		return nil, fmt.Errorf("alg %q is not a signature algorithm gqlguard accepts", k.alg)
	}
	if k.alg != "" && !k.fits(k.alg) {
		return nil, fmt.Errorf("alg %q does not fit the key", k.alg)
	}
	return k, nil
}

// keyChoice is the key lookup of one verification: the jwt.Keyfunc that
// picks the key, and what it picked, for the cache.
type keyChoice struct {
	v      *Verifier
	ctx    context.Context
	issuer *issuer
	key    *verificationKey
}

// keyfunc is called by the parser after the alg allowlist check and before
// the signature check, with the header and claims decoded but unverified.
// The unverified iss only chooses whose keys to try: a token naming issuer
// A can only verify with a key from A's set, so a key of issuer B never
// vouches for a token claiming A. Keys are only ever taken from the fetched
// sets: header parameters that point at keys (jwk, jku, x5u, x5c) are
// ignored.
func (c *keyChoice) keyfunc(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 §4.1.11: extensions the recipient does not understand
		// must make the token invalid, and this verifier understands none.
		return nil, errCritical
	}
	iss, err := t.Claims.GetIssuer()
	if err != nil {
		return nil, fmt.Errorf("iss: %w", err)
	}
	is := c.v.issuers[iss]
	if is == nil {
		return nil, fmt.Errorf("%w: %.200q", ErrUntrustedIssuer, iss)
	}
	kid, ok := t.Header["kid"].(string)
	if _, present := t.Header["kid"]; present && !ok {
		return nil, fmt.Errorf("%w: kid is not a string", jwt.ErrTokenMalformed)
	}
	alg := t.Method.Alg()
	set := is.keys.Load()
	if set == nil {
		return nil, fmt.Errorf("%w: issuer %q", ErrKeysUnavailable, is.name)
	}
	key, err := set.find(kid, alg)
	if errors.Is(err, ErrUnknownKey) {
		// The provider may have started signing with a new key: fetch its
		// set again (rate-limited, shared with concurrent requests) and look
		// once more. The second look happens even when no fetch was
		// allowed, since another request's fetch may have just finished.
		c.v.refreshForUnknownKID(c.ctx, is)
		key, err = is.keys.Load().find(kid, alg)
	}
	if err != nil {
		return nil, err
	}
	c.issuer, c.key = is, key
	c.v.signatureChecks.Add(1)
	return key.public, nil
}
