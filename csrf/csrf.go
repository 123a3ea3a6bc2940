// Package csrf is the CSRF-prevention stage: it refuses requests that a
// browser could send cross-site without a CORS preflight, before anything
// runs. It applies the rule Apollo Server enforces: a request is safe when
// its Content-Type is not one a plain HTML form can send, or when it carries
// a non-empty header a form cannot set (a custom header forces a preflight,
// which the CORS allowlist then decides).
package csrf

import (
	"mime"
	"net/http"
	"strings"

	"github.com/gqlguard/gqlguard/envelope"
)

// simpleTypes are the content types of requests browsers send cross-site
// without a preflight (HTML forms).
var simpleTypes = map[string]bool{
	"text/plain":                        true,
	"application/x-www-form-urlencoded": true,
	"multipart/form-data":               true,
}

// Prevention is the CSRF stage.
type Prevention struct {
	// Headers: any of them, non-empty, marks a request as preflighted.
	Headers []string
	// Next handles safe requests.
	Next http.Handler
}

// ServeHTTP refuses a request that could be a browser's simple request with
// 400 CSRF_PREFLIGHT_REQUIRED naming the headers to add. OPTIONS preflights
// pass through: they run no GraphQL.
func (p *Prevention) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodOptions && p.simple(r) {
		envelope.WriteError(w, r, envelope.Errorf(envelope.CodeCSRFPreflightRequired,
			"this request could have been sent cross-site by a browser: send Content-Type: application/json, or a non-empty %s header", strings.Join(p.Headers, " or ")))
		return
	}
	p.Next.ServeHTTP(w, r)
}

// simple reports whether a browser could have sent r without a preflight.
func (p *Prevention) simple(r *http.Request) bool {
	for _, h := range p.Headers {
		for _, v := range r.Header.Values(h) {
			if strings.TrimSpace(v) != "" {
				return false
			}
		}
	}
	values := r.Header.Values("Content-Type")
	if len(values) == 0 {
		return true // GET, or a body without a type: forms and images send these
	}
	// Browsers combine repeated headers; a value that does not parse is not
	// CORS-safelisted, so it would have needed a preflight.
	mediaType, _, err := mime.ParseMediaType(strings.Join(values, ", "))
	if err != nil {
		return false
	}
	return simpleTypes[strings.ToLower(mediaType)]
}
