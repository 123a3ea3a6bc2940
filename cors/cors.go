// Package cors is the CORS stage: it answers preflights and tells browsers
// which other web origins may call the API and read its answers. It is built
// on github.com/rs/cors with an explicit, strict origin matcher: exact
// origins and patterns with one leading wildcard label; "null" and
// look-alike origins never match. GraphQL never runs for a preflight.
package cors

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	rscors "github.com/rs/cors"
)

// Options configure the stage; the zero value allows no cross-origin access.
type Options struct {
	// AllowedOrigins are exact origins, "https://*.example.com" patterns,
	// or "*" for any origin (refused together with AllowCredentials).
	AllowedOrigins []string
	// AllowCredentials lets browsers send cookies and read the answer.
	AllowCredentials bool
	// AllowedHeaders callers may send.
	AllowedHeaders []string
	// ExposedHeaders scripts may read.
	ExposedHeaders []string
	// MaxAge browsers may cache a preflight.
	MaxAge time.Duration
	// AllowPrivateNetwork answers Private Network Access preflights for
	// allowed origins.
	AllowPrivateNetwork bool
}

// ResponseHeaders are the response headers this stage decides. A gateway
// drops an upstream's copies of them: an upstream that reflects any Origin
// must not open reads that the allowlist refuses.
var ResponseHeaders = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Access-Control-Max-Age",
	"Access-Control-Allow-Private-Network", "Timing-Allow-Origin",
}

// New returns the CORS stage in front of next. It refuses a wildcard origin
// together with credentials, and "null".
func New(o Options, next http.Handler) (http.Handler, error) {
	m, err := newMatcher(o.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	if m.any && o.AllowCredentials {
		return nil, fmt.Errorf(`cors: "*" with credentials would let every website act as the signed-in user`)
	}
	c := rscors.New(rscors.Options{
		AllowOriginFunc:     m.allowed,
		AllowedMethods:      []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:      o.AllowedHeaders,
		ExposedHeaders:      o.ExposedHeaders,
		MaxAge:              int(o.MaxAge / time.Second),
		AllowCredentials:    o.AllowCredentials,
		AllowPrivateNetwork: o.AllowPrivateNetwork,
	})
	return c.Handler(next), nil
}

// matcher decides whether an Origin header value is allowed.
type matcher struct {
	exact    map[string]bool
	suffixes []wildcard
	any      bool
}

type wildcard struct{ scheme, suffix string } // suffix like ".example.com" or ".example.com:8443"

func newMatcher(origins []string) (*matcher, error) {
	m := &matcher{exact: map[string]bool{}}
	for _, o := range origins {
		o = strings.ToLower(o)
		switch {
		case o == "*":
			m.any = true
		case o == "null":
			return nil, fmt.Errorf(`cors: the origin "null" is never allowed`)
		case strings.Contains(o, "://*."):
			scheme, rest, _ := strings.Cut(o, "://*")
			m.suffixes = append(m.suffixes, wildcard{scheme: scheme + "://", suffix: rest})
		default:
			m.exact[o] = true
		}
	}
	return m, nil
}

// allowed matches an origin exactly, or against a pattern by a whole
// trailing domain: https://*.example.com matches https://app.example.com but
// never https://evil-example.com or https://example.com.evil.net.
func (m *matcher) allowed(origin string) bool {
	origin = strings.ToLower(origin)
	if origin == "" || origin == "null" {
		return false
	}
	if m.any || m.exact[origin] {
		return true
	}
	for _, w := range m.suffixes {
		rest, ok := strings.CutPrefix(origin, w.scheme)
		if !ok {
			continue
		}
		label, ok := strings.CutSuffix(rest, w.suffix)
		if ok && label != "" && !strings.ContainsAny(label, ":/@") {
			return true
		}
	}
	return false
}
