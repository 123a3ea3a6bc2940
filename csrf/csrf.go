// Package csrf is the CSRF-prevention stage: it refuses requests that a
// browser could send cross-site without a CORS preflight, before anything
// runs. It applies the rule Apollo Server enforces: a request is safe when
// its Content-Type is not one a plain HTML form can send, or when it carries
// a non-empty header a form cannot set (a custom header forces a preflight,
// which the CORS allowlist then decides).
package csrf

import (
	"net/http"
	"strings"

	"github.com/gqlguard/gqlguard/envelope"
)

// simpleTypes are the content types of requests browsers send cross-site
// without a preflight (HTML forms).
var simpleTypes = [...]struct{ typ, sub string }{
	{"text", "plain"},
	{"application", "x-www-form-urlencoded"},
	{"multipart", "form-data"},
}

// Prevention is the CSRF stage; build it with New.
type Prevention struct {
	headers []string // as configured, for the refusal's message
	lookup  []string // the same in canonical form, for map lookups
	next    http.Handler
}

// New returns the stage in front of next: a non-empty header of headers (in
// any case) marks a request as preflighted.
func New(headers []string, next http.Handler) *Prevention {
	p := &Prevention{headers: headers, next: next}
	for _, h := range headers {
		p.lookup = append(p.lookup, http.CanonicalHeaderKey(h))
	}
	return p
}

// ServeHTTP refuses a request that could be a browser's simple request with
// 400 CSRF_PREFLIGHT_REQUIRED naming the headers to add. OPTIONS preflights
// pass through: they run no GraphQL.
func (p *Prevention) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if simpleMethod(r.Method) && p.simple(r) {
		advice := "send Content-Type: application/json, or a non-empty %s header"
		if r.Method == http.MethodGet {
			advice = "a GET needs a non-empty %s header"
		}
		envelope.WriteError(w, r, envelope.Errorf(envelope.CodeCSRFPreflightRequired,
			"this request could have been sent cross-site by a browser: "+advice, strings.Join(p.headers, " or ")))
		return
	}
	p.next.ServeHTTP(w, r)
}

// simpleMethod reports whether a browser sends the method cross-site without
// a preflight (the CORS-safelisted methods); any other method is preflighted,
// and the later stages refuse what GraphQL does not use.
func simpleMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodPost
}

// simple reports whether a browser could have sent r without a preflight.
func (p *Prevention) simple(r *http.Request) bool {
	for _, h := range p.lookup {
		for _, v := range r.Header[h] {
			if strings.TrimSpace(v) != "" {
				return false
			}
		}
	}
	values := r.Header["Content-Type"]
	if len(values) == 0 {
		return true // GET, or a body without a type: forms and images send these
	}
	// Browsers combine repeated headers into one value, as here.
	v := values[0]
	if len(values) > 1 {
		v = strings.Join(values, ", ")
	}
	typ, sub, ok := mimeEssence(v)
	if !ok {
		return false
	}
	for _, t := range simpleTypes {
		if strings.EqualFold(typ, t.typ) && strings.EqualFold(sub, t.sub) {
			return true
		}
	}
	return false
}

// mimeEssence returns the type and subtype of a Content-Type value as
// browsers parse it (the WHATWG MIME Sniffing "parse a MIME type"
// algorithm): parameters are ignored however malformed they are, so
// "text/plain;;;==" is text/plain to a browser and was sent without a
// preflight. It reports false where a browser's parse fails; such a value is
// not CORS-safelisted, so the request needed a preflight.
func mimeEssence(v string) (typ, sub string, ok bool) {
	v = strings.Trim(v, " \t\r\n")
	typ, rest, ok := strings.Cut(v, "/")
	if !ok || !isToken(typ) {
		return "", "", false
	}
	sub, _, _ = strings.Cut(rest, ";")
	sub = strings.TrimRight(sub, " \t\r\n")
	if !isToken(sub) {
		return "", "", false
	}
	return typ, sub, true
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
