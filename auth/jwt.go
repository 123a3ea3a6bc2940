package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gqlguard/gqlguard/envelope"
)

// Verifier checks bearer tokens against the configured issuers.
//
// A token is accepted only when its signature verifies with a key from the
// key set of the issuer its iss claim names, with an algorithm from the
// allowlist that fits that key, and its claims pass: aud names one of the
// audiences, exp is in the future, nbf and iat are not, and every required
// claim is present. Key sets are fetched and refreshed by Run; Verify never
// fetches anything but the one rate-limited refresh an unknown kid may cause.
//
// A Verifier is safe for concurrent use.
type Verifier struct {
	log    *slog.Logger
	now    func() time.Time
	parser *jwt.Parser

	issuers   map[string]*issuer
	order     []*issuer         // as configured, for Run and Ready
	allowed   []string          // algorithms
	required  []string          // claims
	forwarded map[string]string // claims sent upstream as headers: cfg.Headers
	maxBytes  int
	cache     *tokenCache // nil when disabled

	refreshEvery    time.Duration // JWKSRefresh
	unknownKIDEvery time.Duration // UnknownKIDRefresh
	retryMin        time.Duration // first backoff after a failed fetch
	retryMax        time.Duration // longest backoff
	fetchTimeout    time.Duration // one discovery or JWKS request
	// fetchClock times the unknown-kid rate limit: time.Now, since fetch
	// timing is real time whatever Now says; tests advance their own.
	fetchClock func() time.Time

	// signatureChecks counts the keys handed to the signature check: a
	// cache hit does not add to it.
	signatureChecks atomic.Int64
}

// VerifierOptions are what a Verifier takes from its host besides the
// configuration. Every field is optional.
type VerifierOptions struct {
	// Logger receives key set loads and fetch failures. Nil discards them.
	Logger *slog.Logger
	// Now is the clock that token times (exp, nbf, iat) and cached tokens
	// are checked against. Nil means time.Now. Fetch timing always uses the
	// real clock.
	Now func() time.Time
	// HTTPClient, when set, fetches every issuer's discovery document and
	// key set instead of the clients built from the configuration (whose
	// ca_file roots it then does not use).
	HTTPClient *http.Client
}

// issuer is one identity provider and the key set last fetched from it.
type issuer struct {
	name    string // the iss value, exactly as configured
	jwksURL string // configured; empty means OpenID discovery
	client  *http.Client

	keys atomic.Pointer[keySet] // nil until the first successful fetch

	mu             sync.Mutex
	ctx            context.Context // Run's; bounds every fetch
	inflight       *refreshCall    // the fetch under way, shared by all waiters
	lastUnknownKID time.Time       // when an unknown kid last caused a fetch
	discovered     string          // jwks_uri from discovery, until a fetch fails
}

const (
	// defaultFetchTimeout bounds one request to a provider.
	defaultFetchTimeout = 10 * time.Second
	// maxBackoff caps the wait between failed fetches.
	maxBackoff = 5 * time.Minute
)

// NewVerifier builds a Verifier from the auth.jwt configuration. It checks
// the configuration, reads each issuer's ca_file and builds its HTTP client;
// it contacts no provider and starts nothing: call Run for that.
func NewVerifier(cfg JWTConfig, opts VerifierOptions) (*Verifier, error) {
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("auth.jwt.issuers: no issuer configured: without one there is nothing to verify tokens against")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{
		log:             opts.Logger,
		now:             opts.Now,
		issuers:         make(map[string]*issuer, len(cfg.Issuers)),
		allowed:         slices.Clone(cfg.Algorithms),
		required:        slices.Clone(cfg.RequiredClaims),
		forwarded:       maps.Clone(cfg.Headers),
		maxBytes:        cfg.MaxTokenBytes,
		refreshEvery:    cfg.JWKSRefresh,
		unknownKIDEvery: cfg.UnknownKIDRefresh,
		fetchClock:      time.Now,
		retryMin:        time.Second,
		retryMax:        min(maxBackoff, cfg.JWKSRefresh),
		fetchTimeout:    defaultFetchTimeout,
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if v.now == nil {
		v.now = time.Now
	}
	var errs []error
	for i, ic := range cfg.Issuers {
		client, err := newProviderClient(ic.CAFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("auth.jwt.issuers[%d].ca_file: %w", i, err))
			continue
		}
		if opts.HTTPClient != nil {
			client = opts.HTTPClient
		}
		is := &issuer{name: ic.Issuer, jwksURL: ic.JWKSURL, client: client}
		v.issuers[ic.Issuer] = is
		v.order = append(v.order, is)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.CacheSize > 0 {
		v.cache = newTokenCache(cfg.CacheSize)
	}
	v.parser = jwt.NewParser(
		// The allowlist comes first: a token whose alg is not on it (none,
		// HS256 made with a public key as the secret) is refused before any
		// key is looked up.
		jwt.WithValidMethods(v.allowed),
		jwt.WithAudience(cfg.Audiences...),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.ClockSkew),
		jwt.WithTimeFunc(v.now),
		// Numbers stay as written (json.Number), so that large integer
		// claims reach the upstream unrounded.
		jwt.WithJSONNumber(),
		// One encoding per token: no padding, no stray bits.
		jwt.WithStrictDecoding(),
	)
	return v, nil
}

// Validate reports every problem of the configuration, each prefixed by
// its key below auth.jwt, without I/O: what NewVerifier refuses besides
// the lack of an issuer (a configuration without one turns verification
// off). gqlguard's
// config check runs it too, so that a file serve would refuse never passes.
func (cfg JWTConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("auth.jwt.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for i, ic := range cfg.Issuers {
		key := fmt.Sprintf("issuers[%d]", i)
		if ic.Issuer == "" {
			bad(key+".issuer", "is required")
		} else if seen[ic.Issuer] {
			bad(key+".issuer", "%q is listed twice", ic.Issuer)
		}
		seen[ic.Issuer] = true
		if ic.Issuer != "" && ic.JWKSURL == "" {
			if err := checkFetchURL(ic.Issuer); err != nil {
				bad(key+".issuer", "%v", err)
			}
		}
		if ic.JWKSURL != "" {
			if err := checkFetchURL(ic.JWKSURL); err != nil {
				bad(key+".jwks_url", "%v", err)
			}
		}
	}
	if len(cfg.Issuers) > 0 && len(cfg.Audiences) == 0 || slices.Contains(cfg.Audiences, "") {
		bad("audiences", "name at least one audience, none empty: a token must be meant for this API")
	}
	if len(cfg.Algorithms) == 0 {
		bad("algorithms", "allow at least one algorithm")
	}
	for i, a := range cfg.Algorithms {
		if !asymmetric(a) {
			bad(fmt.Sprintf("algorithms[%d]", i), "%q is not allowed (asymmetric only: RS*, PS*, ES*, EdDSA; never none or HMAC)", a)
		}
	}
	if cfg.ClockSkew < 0 {
		bad("clock_skew", "must not be negative")
	}
	if cfg.MaxTokenBytes <= 0 {
		bad("max_token_bytes", "must be positive")
	}
	if cfg.JWKSRefresh <= 0 {
		bad("jwks_refresh", "must be positive")
	}
	if cfg.UnknownKIDRefresh <= 0 {
		bad("unknown_kid_refresh", "must be positive")
	}
	if cfg.CacheSize < 0 {
		bad("cache_size", "must not be negative")
	}
	for i, c := range cfg.RequiredClaims {
		if c == "" {
			bad(fmt.Sprintf("required_claims[%d]", i), "is empty")
		}
	}
	return errors.Join(errs...)
}

// checkFetchURL refuses a provider URL that keys must not be fetched from:
// anything but https, except plain http on a loopback host.
func checkFetchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q: keys must be fetched over https (plain http only on loopback)", raw)
	}
	return fmt.Errorf("%q is not an http(s) URL", raw)
}

// Verify checks token (the bearer token, without "Bearer ") and returns the
// principal it proves. Any failure is a *TokenError whose Description can be
// sent to the client.
//
// A token verified before and still unexpired is answered from the cache
// without a signature check. The returned principal may be shared with
// other requests bearing the same token: treat it as read-only.
func (v *Verifier) Verify(ctx context.Context, token string) (*envelope.Principal, error) {
	if token == "" {
		return nil, &TokenError{Description: descMalformed, Err: jwt.ErrTokenMalformed}
	}
	// Refused unread: parsing and hashing cost grows with the size, and a
	// provider's tokens are far smaller than any sane limit.
	if len(token) > v.maxBytes {
		return nil, &TokenError{Description: descTooLarge, Err: ErrTokenTooLarge}
	}
	var sum [sha256.Size]byte
	if v.cache != nil {
		sum = tokenSum(token)
		if p := v.cache.get(sum, v.now()); p != nil {
			return p, nil
		}
	}
	p, from, err := v.verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if v.cache != nil && v.now().Before(p.Expires) {
		v.cache.add(sum, cacheEntry{principal: p, issuer: from.issuer, key: from.key})
	}
	return p, nil
}

// Cached returns the principal of token when Verify accepted it before and
// it has not expired, without checking anything again; nil when it is not
// in the cache (or the cache is off).
func (v *Verifier) Cached(token string) *envelope.Principal {
	if v.cache == nil || token == "" || len(token) > v.maxBytes {
		return nil
	}
	return v.cache.get(tokenSum(token), v.now())
}

// verify parses and checks token with the library, then builds its
// principal.
func (v *Verifier) verify(ctx context.Context, token string) (*envelope.Principal, *keyChoice, error) {
	claims := jwt.MapClaims{}
	choice := &keyChoice{v: v, ctx: ctx}
	parsed, err := v.parser.ParseWithClaims(token, claims, choice.keyfunc)
	if err != nil {
		return nil, nil, v.tokenError(parsed, err)
	}
	for _, name := range v.required {
		val, ok := claims[name]
		if s, isString := val.(string); !ok || val == nil || isString && strings.TrimSpace(s) == "" {
			return nil, nil, &TokenError{Description: descMissingClaim, Err: fmt.Errorf("%w: %s", errMissingClaim, name)}
		}
		// A required claim the upstream receives as a header must arrive
		// as signed: the proxy leaves out a value that cannot be a header,
		// which would hand the upstream no identity. (An optional claim is
		// left out as if the token did not hold it.)
		if _, forwarded := v.forwarded[name]; !forwarded {
			continue
		}
		if _, ok := envelope.ClaimHeaderValue(val); !ok {
			return nil, nil, &TokenError{Description: descUnforwardable, Err: fmt.Errorf("%w: %s", errUnforwardable, name)}
		}
	}
	sub, err := claims.GetSubject()
	if err != nil {
		return nil, nil, &TokenError{Description: descClaimType, Err: fmt.Errorf("sub: %w", err)}
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil { // WithExpirationRequired makes this unreachable
		return nil, nil, &TokenError{Description: descMissingClaim, Err: fmt.Errorf("%w: exp", errMissingClaim)}
	}
	payload, err := v.payload(token)
	if err == nil {
		payload, err = compactClaims(payload)
	}
	if err != nil {
		return nil, nil, &TokenError{Description: descMalformed, Err: err}
	}
	p := &envelope.Principal{
		Method:     "jwt",
		Subject:    sub,
		Claims:     claims,
		ClaimsJSON: string(payload),
		Expires:    exp.Time,
	}
	return p, choice, nil
}

// payload returns the token's second segment decoded: the claims JSON
// as signed.
func (v *Verifier) payload(token string) ([]byte, error) {
	_, rest, _ := strings.Cut(token, ".")
	seg, _, _ := strings.Cut(rest, ".")
	return v.parser.DecodeSegment(seg)
}

// compactClaims returns the payload JSON on one line, fit for a header
// value: json.Compact drops the whitespace a provider may put between
// tokens (a newline would make the header invalid and fail the request),
// and DEL, which JSON allows unescaped inside strings but a header does
// not, is escaped. Done once per verification, the cache keeps the result.
func compactClaims(payload []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(payload))
	if err := json.Compact(&b, payload); err != nil {
		return nil, err
	}
	out := b.Bytes()
	if bytes.IndexByte(out, 0x7f) < 0 {
		return out, nil
	}
	// Valid JSON holds DEL only inside strings, where \u007f means the same.
	return bytes.ReplaceAll(out, []byte{0x7f}, []byte(`\u007f`)), nil
}

// Ready reports whether every issuer has a key set: nil once each has been
// fetched, else an error naming the issuers still without keys. Until then
// their tokens fail with ErrKeysUnavailable.
func (v *Verifier) Ready() error {
	var missing []string
	for _, is := range v.order {
		if is.keys.Load() == nil {
			missing = append(missing, fmt.Sprintf("%q", is.name))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("auth: no signing keys yet for issuer %s", strings.Join(missing, ", "))
}

// asymmetric reports whether alg is one of the signature algorithms a
// Verifier may allow.
func asymmetric(alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		return true
	}
	return false
}

var _ CachedVerifier = (*Verifier)(nil)
