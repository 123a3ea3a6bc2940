// Package cors is the CORS stage: it answers preflights and tells browsers
// which other web origins may call the API and read its answers. It is built
// on github.com/rs/cors with an explicit, strict origin matcher: an Origin
// header matches only as the exact string of an allowed origin, or of a
// pattern whose leading "*" label stands for one label; "null", look-alike
// origins and spellings no browser sends never match. GraphQL never runs for
// a preflight.
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
// together with credentials, "null", and entries not written as browsers
// send origins (see Canonical).
func New(o Options, next http.Handler) (http.Handler, error) {
	m, err := newMatcher(o.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	if m.any && o.AllowCredentials {
		return nil, fmt.Errorf(`cors: "*" with credentials would let every website act as the signed-in user`)
	}
	c := rscors.New(rscors.Options{
		// rs/cors would lowercase origins for its own matching; this
		// matcher compares them exactly and sees every Origin header.
		AllowOriginVaryRequestFunc: m.allowed,
		AllowedMethods:             []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:             o.AllowedHeaders,
		ExposedHeaders:             o.ExposedHeaders,
		MaxAge:                     int(o.MaxAge / time.Second),
		AllowCredentials:           o.AllowCredentials,
		AllowPrivateNetwork:        o.AllowPrivateNetwork,
	})
	return c.Handler(next), nil
}

// matcher decides whether an Origin header is allowed.
type matcher struct {
	exact     map[string]bool
	wildcards []wildcard
	any       bool
}

// wildcard is a pattern like https://*.example.com:8443, split around its
// "*" label: scheme "https://", suffix ".example.com:8443".
type wildcard struct{ scheme, suffix string }

func newMatcher(origins []string) (*matcher, error) {
	m := &matcher{exact: map[string]bool{}}
	for _, o := range origins {
		switch {
		case o == "*":
			m.any = true
			continue
		case strings.EqualFold(o, "null"):
			return nil, fmt.Errorf(`cors: the origin "null" is never allowed`)
		}
		c, err := Canonical(o)
		if err != nil {
			return nil, fmt.Errorf("cors: allowed origin %w", err)
		}
		if c != o {
			return nil, fmt.Errorf("cors: allowed origin %q is not spelt as browsers send it, so it would never match; write %q", o, c)
		}
		if scheme, suffix, ok := strings.Cut(o, "://*"); ok {
			m.wildcards = append(m.wildcards, wildcard{scheme: scheme + "://", suffix: suffix})
			continue
		}
		m.exact[o] = true
	}
	return m, nil
}

// allowed matches the request's one Origin header byte for byte against
// the allowlist, whose entries are canonical: rs/cors echoes the header as
// sent, and a spelling no browser sends (HTTPS://APP.example.com, a default
// port) comes from a client that forged it, so it is never echoed with
// credentials. A pattern's "*" stands for exactly one label:
// https://*.example.com matches https://app.example.com, never
// https://a.b.example.com, https://example.com or https://evil-example.com.
func (m *matcher) allowed(r *http.Request, origin string) (bool, []string) {
	// Browsers send one Origin; rs/cors would echo every copy while
	// checking the first.
	if len(r.Header["Origin"]) != 1 || origin == "" || origin == "null" {
		return false, nil
	}
	if m.exact[origin] {
		return true, nil
	}
	for _, w := range m.wildcards {
		rest, ok := strings.CutPrefix(origin, w.scheme)
		if !ok {
			continue
		}
		if label, ok := strings.CutSuffix(rest, w.suffix); ok && hostLabel(label) {
			return true, nil
		}
	}
	if m.any {
		c, err := canonical(origin, false)
		return err == nil && c == origin, nil
	}
	return false, nil
}
