package envelope

import (
	"net/http"
	"strings"
)

// Handler is the envelope stage: it parses each request with Parse, answers
// failures with WriteError, and passes the parsed Batch to Next through the
// request context (read it with BatchFrom).
type Handler struct {
	// Limits bounds the request body and batches, and enables file uploads.
	Limits Limits
	// CachePrefix, when set (for example "/graphql/"), also accepts GET
	// cache URLs below it: <prefix><id>/<operationName>.
	CachePrefix string
	// Next receives every request that parsed.
	Next http.Handler
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := Negotiate(strings.Join(r.Header.Values("Accept"), ", ")); !ok {
		WriteError(w, r, Errorf(CodeNotAcceptable,
			"the Accept header allows neither %s nor %s", MediaTypeGraphQLResponse, MediaTypeJSON))
		return
	}
	var b *Batch
	var err error
	isCacheURL := false
	if h.CachePrefix != "" {
		b, isCacheURL, err = ParseCacheURL(r, h.CachePrefix)
	}
	if !isCacheURL {
		b, err = Parse(r, h.Limits)
	}
	if err != nil {
		WriteError(w, r, err)
		return
	}
	h.Next.ServeHTTP(w, AttachTo(r, batchKey{}, b))
}
