// Package headers sets the security headers the gateway sends on every
// response: HSTS, nosniff, no referrer, no framing.
package headers

import (
	"net/http"
	"strconv"
)

// Owned lists the response headers this stage sets. The forwarding stage drops
// an upstream's copies of them, so that the gateway's policy is the one a
// browser sees.
var Owned = []string{"Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Content-Security-Policy"}

// Security is the headers stage.
type Security struct {
	hsts []string // nil when HSTS is off
	next http.Handler
}

// New returns the stage. maxAge is the HSTS max-age in seconds (0 sends no
// HSTS header).
func New(maxAge int, includeSubdomains, preload bool, next http.Handler) *Security {
	s := &Security{next: next}
	if maxAge > 0 {
		v := "max-age=" + strconv.Itoa(maxAge)
		if includeSubdomains {
			v += "; includeSubDomains"
		}
		if preload {
			v += "; preload"
		}
		s.hsts = []string{v}
	}
	return s
}

var (
	nosniff  = []string{"nosniff"}
	noRef    = []string{"no-referrer"}
	deny     = []string{"DENY"}
	noFrames = []string{"default-src 'none'; frame-ancestors 'none'"}
)

// ServeHTTP sets the headers, then calls the next handler.
func (s *Security) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if s.hsts != nil {
		h["Strict-Transport-Security"] = s.hsts
	}
	// The header map is written once per response and never mutated in place,
	// so the shared value slices are safe.
	h["X-Content-Type-Options"] = nosniff
	h["Referrer-Policy"] = noRef
	h["X-Frame-Options"] = deny
	h["Content-Security-Policy"] = noFrames
	s.next.ServeHTTP(w, r)
}
