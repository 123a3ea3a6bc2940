package envelope

import (
	"strconv"
	"strings"
)

// The response media types of the GraphQL-over-HTTP specification.
const (
	MediaTypeGraphQLResponse = "application/graphql-response+json"
	MediaTypeJSON            = "application/json"
)

// Negotiate chooses the response media type for an Accept header value as the
// GraphQL-over-HTTP specification says: application/graphql-response+json or
// application/json, whichever the client prefers by quality value, the former
// on a tie or a wildcard. A missing Accept header means a legacy client and
// application/json. It reports false when the client accepts neither.
func Negotiate(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return MediaTypeJSON, true
	}
	qGR, qJSON := acceptQuality(accept, MediaTypeGraphQLResponse), acceptQuality(accept, MediaTypeJSON)
	switch {
	case qGR <= 0 && qJSON <= 0:
		return "", false
	case qJSON > qGR:
		return MediaTypeJSON, true
	default:
		return MediaTypeGraphQLResponse, true
	}
}

// acceptQuality returns the quality the Accept header gives mediaType, taken
// from the most specific media range that matches it (RFC 9110 §12.5.1), or 0.
func acceptQuality(accept, mediaType string) float64 {
	mainType, _, _ := strings.Cut(mediaType, "/")
	best, q := -1, 0.0
	for part := range strings.SplitSeq(accept, ",") {
		rng, params, _ := strings.Cut(part, ";")
		rng = strings.ToLower(strings.TrimSpace(rng))
		specificity := -1
		switch {
		case rng == mediaType:
			specificity = 2
		case rng == mainType+"/*":
			specificity = 1
		case rng == "*/*":
			specificity = 0
		}
		if specificity <= best {
			continue
		}
		best, q = specificity, QualityParam(params)
	}
	return q
}

// QualityParam returns the q of a header element's parameters (RFC 9110
// §12.4.2): 1 without one, 0 for one that is not a number from 0 to 1.
func QualityParam(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}

// IdentityEncoding reports whether a Content-Encoding header's values say
// the body is as it is: none, or only identity.
func IdentityEncoding(values []string) bool {
	return len(values) == 0 || len(values) == 1 && strings.EqualFold(values[0], "identity")
}
