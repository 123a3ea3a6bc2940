package billing

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
)

// Options configures an [API]. The zero value serves the API with no notion
// of who is calling.
type Options struct {
	// UserHeader names the request header that carries the id of the
	// customer making the request (for example "X-User-Id"). The gateway
	// sets it after verifying the caller, so the API trusts it as given.
	// A request without the header is anonymous: `me` is null and
	// invoices are not filtered, since whether anonymous requests get
	// through is the gateway's decision. Empty means requests never carry
	// an identity.
	UserHeader string

	// Now returns the time recorded on new invoices and payments. Nil
	// means time.Now.
	Now func() time.Time
}

// API is the billing GraphQL API, served over HTTP by its ServeHTTP method.
// Its data lives in memory, starts from the same seed every time and is safe
// for concurrent use.
type API struct {
	schema     *graphql.Schema
	userHeader string
}

// New returns an API with freshly seeded data. It fails when
// opts.UserHeader is not a valid header name.
func New(opts Options) (*API, error) {
	if opts.UserHeader != "" && !isToken(opts.UserHeader) {
		return nil, fmt.Errorf("billing: UserHeader %q is not a valid HTTP header name", opts.UserHeader)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	schema, err := graphql.ParseSchema(schemaSDL, &resolver{s: newSeededStore(now)})
	if err != nil {
		return nil, fmt.Errorf("billing: parse schema: %w", err)
	}
	return &API{schema: schema, userHeader: opts.UserHeader}, nil
}

// isToken reports whether s is an HTTP token (RFC 9110, section 5.6.2).
func isToken(s string) bool {
	for _, c := range []byte(s) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !ok && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return s != ""
}

var _ http.Handler = (*API)(nil)
