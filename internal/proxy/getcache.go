package proxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gqlguard/gqlguard/envelope"
)

// maxETagBody is the largest answer that gets an ETag; a larger one is
// streamed without.
const maxETagBody = 1 << 20

// CacheVary names the request headers that can change a GET answer: the
// media type chosen from Accept, the encoding, and the caller's identity.
const CacheVary = "Accept, Accept-Encoding, Authorization, Cookie"

// GETCache makes answers to GET queries cacheable: a 200 answer gets the
// configured Cache-Control, a strong ETag (the SHA-256 of the body) and a
// Vary naming every request header that changes the answer, and a request
// whose If-None-Match names the current ETag gets 304 without a body. Other
// answers get Cache-Control: no-store. POST requests pass through untouched.
func GETCache(cacheControl string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := envelope.BatchFrom(r.Context()); b == nil || b.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		cw := &cachingWriter{w: w}
		next.ServeHTTP(cw, r)
		cw.finish(r, cacheControl)
	})
}

// cachingWriter buffers an answer up to maxETagBody so that its ETag can be
// computed before the headers go out; past that it streams.
type cachingWriter struct {
	w         http.ResponseWriter
	status    int
	buf       bytes.Buffer
	streaming bool
}

// Header is the response's own header map: nothing is sent before
// sendHeader, so stages before and after this one share it as usual.
func (c *cachingWriter) Header() http.Header { return c.w.Header() }

func (c *cachingWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *cachingWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.streaming {
		return c.w.Write(p)
	}
	if c.buf.Len()+len(p) <= maxETagBody {
		return c.buf.Write(p)
	}
	// Too large to hash before sending: send what we have and stream on.
	c.streaming = true
	c.sendHeader(http.StatusOK, "", "no-store")
	if _, err := c.w.Write(c.buf.Bytes()); err != nil {
		return 0, err
	}
	c.buf.Reset()
	return c.w.Write(p)
}

// Flush is a no-op while buffering; the answer goes out in finish.
func (c *cachingWriter) Flush() {
	if c.streaming {
		_ = http.NewResponseController(c.w).Flush()
	}
}

func (c *cachingWriter) sendHeader(status int, etag, cacheControl string) {
	h := c.w.Header()
	h.Set("Cache-Control", cacheControl)
	if etag != "" {
		h.Set("ETag", etag)
		// Joined, not set: an earlier stage (CORS) or the upstream may
		// already vary the answer by Origin.
		h["Vary"] = []string{strings.Join(append(h["Vary"], CacheVary), ", ")}
	}
	if c.status != http.StatusOK || status == http.StatusNotModified {
		h.Del("Content-Length")
	}
	c.w.WriteHeader(status)
}

func (c *cachingWriter) finish(r *http.Request, cacheControl string) {
	if c.streaming {
		return
	}
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.status != http.StatusOK {
		cc := c.w.Header().Get("Cache-Control")
		if cc == "" {
			cc = "no-store"
		}
		c.sendHeader(c.status, "", cc)
		_, _ = c.w.Write(c.buf.Bytes())
		return
	}
	sum := sha256.Sum256(c.buf.Bytes())
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
	if etagMatches(r.Header.Values("If-None-Match"), etag) {
		c.sendHeader(http.StatusNotModified, etag, cacheControl)
		return
	}
	c.sendHeader(http.StatusOK, etag, cacheControl)
	_, _ = c.w.Write(c.buf.Bytes())
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "*" || strings.TrimPrefix(part, "W/") == etag {
				return true
			}
		}
	}
	return false
}
