package auth

import "time"

// JWTConfig configures bearer-token verification: the jwt section of
// gqlguard's auth configuration, or the options of a server that embeds the
// package. The defaults named below are gqlguard's; NewVerifier needs at
// least one issuer and one audience.
type JWTConfig struct {
	// Issuers whose tokens are accepted.
	Issuers []Issuer `yaml:"issuers"`
	// Audiences: a token must name at least one. Required with issuers.
	Audiences []string `yaml:"audiences"`
	// Algorithms allowed. Default RS256, ES256, EdDSA; never none, never
	// HMAC.
	Algorithms []string `yaml:"algorithms"`
	// ClockSkew tolerated on exp, nbf and iat. Default 60s.
	ClockSkew time.Duration `yaml:"clock_skew"`
	// RequiredClaims must be present and, when strings, not blank (besides
	// exp, iss and aud, always required). Default sub.
	RequiredClaims []string `yaml:"required_claims"`
	// Cookie, when set, reads the token from this cookie instead of the
	// Authorization header; CSRF prevention must then be on.
	Cookie string `yaml:"cookie"`
	// MaxTokenBytes refuses longer tokens unread. Default 8192.
	MaxTokenBytes int `yaml:"max_token_bytes"`
	// JWKSRefresh is how often key sets are refreshed. Default 15m.
	JWKSRefresh time.Duration `yaml:"jwks_refresh"`
	// UnknownKIDRefresh is the least time between refreshes caused by a
	// token whose kid is not in the key set. Default 30s.
	UnknownKIDRefresh time.Duration `yaml:"unknown_kid_refresh"`
	// CacheSize bounds the verified tokens remembered (until their exp).
	// Default 10000.
	CacheSize int `yaml:"cache_size"`
	// Headers maps claims to the request headers the upstream receives
	// (client copies are removed). Default sub: X-User-Id. A token whose
	// required claim among these cannot be sent intact as a header (see
	// envelope.ClaimHeaderValue) is refused; an optional one is left out.
	Headers map[string]string `yaml:"headers"`
	// ClaimsHeader, when set, carries the whole verified claim set as JSON.
	ClaimsHeader string `yaml:"claims_header"`
	// ForwardToken passes the original Authorization header upstream.
	// Default false.
	ForwardToken bool `yaml:"forward_token"`
}

// Issuer is one identity provider.
type Issuer struct {
	// Issuer is the iss value; its OpenID discovery document
	// (<issuer>/.well-known/openid-configuration) names the key set unless
	// JWKSURL is set.
	Issuer string `yaml:"issuer"`
	// JWKSURL is the key set's URL, skipping discovery.
	JWKSURL string `yaml:"jwks_url"`
	// CAFile holds PEM roots to trust for the provider's HTTPS; default the
	// system roots.
	CAFile string `yaml:"ca_file"`
}

// DefaultJWTConfig returns gqlguard's defaults: RS256, ES256 and EdDSA, 60 s
// of clock skew, sub required, tokens up to 8 KiB, key sets refreshed every
// 15 minutes and at most every 30 s for an unknown kid, 10 000 verified
// tokens cached, and sub forwarded as X-User-Id. It has no issuer and no
// audience: those are the caller's.
func DefaultJWTConfig() JWTConfig {
	return JWTConfig{
		Algorithms:        []string{"RS256", "ES256", "EdDSA"},
		ClockSkew:         60 * time.Second,
		RequiredClaims:    []string{"sub"},
		MaxTokenBytes:     8192,
		JWKSRefresh:       15 * time.Minute,
		UnknownKIDRefresh: 30 * time.Second,
		CacheSize:         10000,
		Headers:           map[string]string{"sub": "X-User-Id"},
	}
}
