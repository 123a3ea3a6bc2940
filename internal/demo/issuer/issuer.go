package issuer

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// User is an account that may obtain tokens.
type User struct {
	// Username is what the user signs in with.
	Username string
	// CustomerID becomes the token's sub claim; the billing API maps sub to
	// the customer whose invoices the caller may see.
	CustomerID string
	// Name becomes the token's name claim.
	Name string
	// PasswordHash is the bcrypt hash of the user's password.
	PasswordHash []byte
}

// Options configure an Issuer.
type Options struct {
	// Issuer is the iss claim of issued tokens and the base URL of the
	// endpoints, such as "http://127.0.0.1:8081", with no path. The port is
	// known only after listening: call Listen first and use the URL it
	// returns. Required.
	Issuer string
	// Audience is the aud claim of issued tokens, such as "billing-api".
	// Required.
	Audience string
	// KeyFile is where the ES256 signing key is kept, as PKCS#8 PEM with
	// mode 0600. It is generated on first run and reused afterwards; a file
	// that does not hold such a key is replaced, with a warning. Required.
	KeyFile string
	// Users are the accounts that may obtain tokens. Required.
	Users []User
	// TTL is the lifetime of issued tokens, in whole seconds. Zero means
	// 15 minutes.
	TTL time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger receives a record of each token issued or refused, and the
	// warning about a replaced key file. Nil discards them.
	Logger *slog.Logger
}

// DefaultTTL is the lifetime of tokens when Options.TTL is zero.
const DefaultTTL = 15 * time.Minute

// Issuer issues ES256 access tokens to a fixed set of users and publishes
// the key that verifies them. Its methods are safe for concurrent use.
type Issuer struct {
	opts    Options
	key     *ecdsa.PrivateKey
	kid     string
	users   map[string]User
	dummy   []byte // bcrypt hash compared for unknown usernames
	handler http.Handler
}

// New returns an Issuer for opts, loading its signing key from
// opts.KeyFile or creating it there. It refuses incomplete options with an
// error naming each bad field.
func New(opts Options) (*Issuer, error) {
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	users, cost, err := validate(opts)
	if err != nil {
		return nil, err
	}
	// Unknown usernames are compared against this hash of a random
	// password, at the highest cost any user has, so that they take as long
	// to refuse as a wrong password for a known one.
	dummy, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	key, err := loadOrCreateKey(opts.KeyFile, opts.Logger)
	if err != nil {
		return nil, err
	}
	pub, err := publicJWK(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	i := &Issuer{opts: opts, key: key, kid: pub.Kid, users: users, dummy: dummy}
	discovery, err := json.Marshal(i.discovery())
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	jwks, err := json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{pub}})
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/openid-configuration", staticJSON(discovery))
	mux.Handle("GET /jwks.json", staticJSON(jwks))
	mux.HandleFunc("POST /token", i.serveToken)
	i.handler = mux
	return i, nil
}

// validate checks opts, with defaults applied, and returns the users by
// username and the highest bcrypt cost among them. It reports every problem
// at once, each prefixed by its field.
func validate(opts Options) (map[string]User, int, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("issuer: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if err := checkIssuerURL(opts.Issuer); err != nil {
		bad("Issuer", "%v", err)
	}
	if opts.Audience == "" {
		bad("Audience", "is required")
	}
	if opts.KeyFile == "" {
		bad("KeyFile", "is required")
	}
	if opts.TTL < time.Second || opts.TTL%time.Second != 0 {
		bad("TTL", "must be a positive whole number of seconds, not %v", opts.TTL)
	}
	if len(opts.Users) == 0 {
		bad("Users", "at least one user is required")
	}
	users := make(map[string]User, len(opts.Users))
	maxCost := bcrypt.MinCost
	for n, u := range opts.Users {
		field := fmt.Sprintf("Users[%d]", n)
		switch _, dup := users[u.Username]; {
		case u.Username == "":
			bad(field+".Username", "is required")
		case dup:
			bad(field+".Username", "%q appears twice", u.Username)
		}
		if u.CustomerID == "" {
			bad(field+".CustomerID", "is required")
		}
		cost, err := bcrypt.Cost(u.PasswordHash)
		if err != nil {
			bad(field+".PasswordHash", "not a bcrypt hash: %v", err)
		}
		maxCost = max(maxCost, cost)
		users[u.Username] = u
	}
	return users, maxCost, errors.Join(errs...)
}

// checkIssuerURL accepts an absolute http or https URL with no path,
// query, fragment or user information: the routes are served at the root.
func checkIssuerURL(s string) error {
	if s == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must be a bare origin such as http://127.0.0.1:8081", s)
	}
	return nil
}

// Handler returns the issuer's HTTP interface:
//
//	GET  /.well-known/openid-configuration  OpenID discovery document
//	GET  /jwks.json                         JWK Set with the signing key
//	POST /token                             password grant, form or JSON
//
// Other methods on these paths get 405, other paths 404.
func (i *Issuer) Handler() http.Handler {
	return i.handler
}

// discoveryDocument is the subset of OpenID Connect Discovery 1.0 provider
// metadata that a token verifier needs.
type discoveryDocument struct {
	Issuer           string   `json:"issuer"`
	JWKSURI          string   `json:"jwks_uri"`
	TokenEndpoint    string   `json:"token_endpoint"`
	SigningAlgs      []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypes    []string `json:"response_types_supported"`
	SubjectTypes     []string `json:"subject_types_supported"`
	GrantTypes       []string `json:"grant_types_supported"`
	TokenAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
}

func (i *Issuer) discovery() discoveryDocument {
	base := strings.TrimSuffix(i.opts.Issuer, "/")
	return discoveryDocument{
		Issuer:           i.opts.Issuer,
		JWKSURI:          base + "/jwks.json",
		TokenEndpoint:    base + "/token",
		SigningAlgs:      []string{"ES256"},
		ResponseTypes:    []string{"token"},
		SubjectTypes:     []string{"public"},
		GrantTypes:       []string{"password"},
		TokenAuthMethods: []string{"none"},
	}
}

// staticJSON serves body, computed once at construction.
func staticJSON(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		_, _ = w.Write(body)
	})
}

// ErrNotLoopback is returned by Listen for an address that is not on the
// loopback interface.
var ErrNotLoopback = errors.New("issuer: the demo issuer listens on loopback addresses only")

// Listen listens on addr, a loopback address such as "127.0.0.1:0", and
// returns the listener with the base URL to use as Options.Issuer. Other
// addresses are refused with ErrNotLoopback: the token endpoint takes
// passwords over plain HTTP, which must not leave the machine.
func Listen(addr string) (net.Listener, string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("issuer: listen address: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, "", fmt.Errorf("%w, not %q", ErrNotLoopback, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("issuer: %w", err)
	}
	return ln, "http://" + ln.Addr().String(), nil
}
