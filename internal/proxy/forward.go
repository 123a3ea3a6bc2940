package proxy

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/clientip"
	"github.com/gqlguard/gqlguard/internal/jsonscan"
)

// The forward stage builds the upstream request itself rather than through
// httputil.ReverseProxy, which passes an upstream's 1xx answer on and then
// clears the response header map (the security headers, the CORS answer and
// the request id earlier stages set would be gone), and re-adds a client's
// Upgrade after removing hop-by-hop headers. The body, method and content
// type are always the gateway's own, so cloning the client's request and
// deleting from the clone (ReverseProxy's way) would only cost time. Headers are copied in one
// filtering pass; 1xx answers and trailers are not passed on (GraphQL over
// HTTP uses neither), and protocol upgrades never reach this stage.

// hopByHop are the connection-level headers of RFC 9110 section 7.6.1, never
// passed on in either direction, with the ones that name a client body the
// upstream request does not carry.
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

var (
	jsonType     = []string{"application/json"}
	protoHTTPS   = []string{"https"}
	protoHTTP    = []string{"http"}
	noAgent      = []string{""}
	gzipOnly     = []string{"gzip"}
	identityOnly = []string{"identity"}
)

// ServeHTTP forwards the request held in the context by the envelope stage.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := envelope.BatchFrom(r.Context())
	if b == nil {
		envelope.WriteError(w, r, errors.New("proxy: no parsed request in context"))
		return
	}
	var body []byte
	contentType := jsonType
	if b.Uploads == nil {
		body = encodeBatch(b)
	} else {
		var ct string
		var err error
		if body, ct, err = encodeUploads(b); err != nil {
			envelope.WriteError(w, r, err)
			return
		}
		contentType = []string{ct}
	}
	info := envelope.InfoFrom(r.Context())
	out := (&http.Request{
		Method: http.MethodPost,
		// Shared by every request: a RoundTripper must not modify
		// the request it is given.
		URL:           p.target,
		Header:        p.upstreamHeader(r, info, contentType),
		Body:          newBodyReader(body),
		GetBody:       func() (io.ReadCloser, error) { return newBodyReader(body), nil },
		ContentLength: int64(len(body)),
	}).WithContext(r.Context())

	start := time.Now()
	res, err := p.transport.RoundTrip(out)
	if info != nil {
		info.Upstream = time.Since(start)
	}
	if err != nil {
		p.errorHandler(w, r, err)
		return
	}
	mediaType, err := checkAnswer(res)
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	var head int // bytes of the answer already read into *bp
	whole := false
	if err == nil {
		head, err = readJSONStart(res, mediaType, out.Header["Accept-Encoding"][0] == "gzip", *bp)
	}
	if err == nil && isJSON(mediaType) {
		head, whole, err = readAhead(res.Body, *bp, head)
	}
	if err != nil {
		_ = res.Body.Close()
		p.errorHandler(w, r, err)
		return
	}
	p.copyHeader(w.Header(), res.Header)
	w.WriteHeader(res.StatusCode)
	var rest io.Reader = res.Body // what is left to read of the answer
	// A stream (server-sent events, incremental delivery, any answer of
	// unknown length) goes out as it comes; a sized answer is buffered by
	// net/http and written at once.
	var flusher *http.ResponseController
	if whole {
		rest = http.NoBody
	} else if res.ContentLength < 0 || mediaType == "text/event-stream" {
		// The head goes out now, not with the first event: clients
		// (EventSource's open event, a balancer's first-byte timeout)
		// wait for it.
		flusher = http.NewResponseController(w)
		_ = flusher.Flush()
	}
	err = copyBody(w, rest, *bp, head, flusher)
	_ = res.Body.Close()
	if err != nil {
		p.answerCut(r, res.StatusCode, err)
	}
}

// isJSON reports whether an answer of mediaType is one JSON document, which
// a client can use only once it is whole (the other GraphQL answers are
// streams).
func isJSON(mediaType string) bool {
	return mediaType == envelope.MediaTypeJSON || mediaType == envelope.MediaTypeGraphQLResponse
}

// readAhead reads more of an answer into buf after the n bytes it holds,
// until buf is full or the answer ends, and returns how many bytes buf holds
// and whether that is the whole answer. The head waits for it, so that an
// answer the upstream cuts short within buf (which most answers fit) is
// refused with the error contract while nothing has gone out yet, rather
// than cut at the client. It costs no read that copying would not do.
func readAhead(body io.Reader, buf []byte, n int) (int, bool, error) {
	for n < len(buf) {
		m, err := body.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, &cutError{err: err}
		}
	}
	return n, false, nil
}

// cutError is an upstream answer that ended before its end: the upstream
// closed the connection (or reset the stream) inside the body, or the body
// could not be read on.
type cutError struct{ err error }

func (e *cutError) Error() string { return "upstream answer cut short: " + e.err.Error() }
func (e *cutError) Unwrap() error { return e.err }

// answerCut ends a request whose answer failed after its head went out.
// There is nothing left to tell the client, so the answer is cut: the
// connection (HTTP/1.1) or the stream (HTTP/2) is aborted, and the client
// never takes a partial answer for a whole one. The log and the metrics
// record why: an upstream failure when the upstream's answer broke off, a
// client that went away when writing to it failed.
func (p *Proxy) answerCut(r *http.Request, status int, err error) {
	var cut *cutError
	if clientGone(r) || !errors.As(err, &cut) {
		p.clientClosed(r, err)
	} else {
		info := envelope.InfoFrom(r.Context())
		p.log.Warn("upstream answer cut", "reason", "answer cut short", "status", status, "error", err, "request_id", info.RequestID())
		envelope.RecordError(r, &envelope.Error{Code: envelope.CodeUpstreamUnavailable, Err: err,
			Message: "the upstream's answer broke off after its head (" + strconv.Itoa(status) + ") was sent; the client's answer was cut"})
	}
	panic(http.ErrAbortHandler)
}

// newBodyReader returns an upstream request body reading b. It must be
// io.NopCloser over a *bytes.Reader: net/http recognises that pair as in
// memory and writes headers and body in one go, where for any other body
// (a single-allocation wrapper type, say) it flushes the headers first, one
// more write for the gateway and one more read for the upstream per request.
func newBodyReader(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// upstreamHeader returns the header of the upstream request for r, in one
// pass over the client's: hop-by-hop headers (and those the client's
// Connection header names), the client's body headers, its copies of the
// headers only the gateway sets, and any spelling of those with underscores
// are dropped; X-Forwarded-*, X-Request-Id, X-Real-IP, the fixed headers and
// the identity headers are set. Values are shared with r's header, which
// nothing writes to afterwards.
func (p *Proxy) upstreamHeader(r *http.Request, info *envelope.Info, contentType []string) http.Header {
	in := r.Header
	h := make(http.Header, len(in)+8)
	connection := in["Connection"]
	for k, v := range in {
		if p.skip[k] || p.underscored(k) || len(connection) > 0 && namedIn(connection, k) {
			continue
		}
		h[k] = v
	}
	h["Content-Type"] = contentType
	// The upstream may compress only with gzip, which the answer check can
	// read (readJSONStart); without this header it sends the body as it is.
	// Without the header any coding would be acceptable (RFC 9110).
	if acceptsGzip(in["Accept-Encoding"]) {
		h["Accept-Encoding"] = gzipOnly
	} else {
		h["Accept-Encoding"] = identityOnly
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = noAgent // not Go's own
	}
	// One backing array for the three values below (each slice is capped,
	// so an append elsewhere cannot write into its neighbour).
	values := make([]string, 3)
	// A trusted proxy's X-Forwarded-For chain is kept and extended with the
	// peer's address; anyone else's is replaced.
	if peer, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if xff := in["X-Forwarded-For"]; len(xff) > 0 && len(p.trusted) > 0 && p.trusted.Contains(clientip.Peer(r)) {
			peer = strings.Join(xff, ", ") + ", " + peer
		}
		values[0] = peer
		h["X-Forwarded-For"] = values[0:1:1]
	}
	values[1] = r.Host
	h["X-Forwarded-Host"] = values[1:2:2]
	if r.TLS != nil {
		h["X-Forwarded-Proto"] = protoHTTPS
	} else {
		h["X-Forwarded-Proto"] = protoHTTP
	}
	if info != nil {
		h["X-Request-Id"] = info.IDValues()
		if ip := info.ClientIPString(); ip != "" {
			values[2] = ip
			h["X-Real-Ip"] = values[2:3:3]
		}
	}
	for k, v := range p.headers {
		h[k] = v
	}
	p.setIdentity(h, envelope.PrincipalFrom(r.Context()))
	return h
}

// namedIn reports whether a Connection header's values name the header k.
func namedIn(connection []string, k string) bool {
	for _, v := range connection {
		for name := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(name), k) {
				return true
			}
		}
	}
	return false
}

// copyHeader adds the upstream's answer headers to dst, leaving out the drop
// list (hop-by-hop headers and the ones the gateway sets itself) and those
// the upstream's Connection header names. A header the gateway has
// already set and does not own (Vary) gets the upstream's values added.
func (p *Proxy) copyHeader(dst, src http.Header) {
	connection := src["Connection"]
	for k, v := range src {
		if p.drop[k] || len(connection) > 0 && namedIn(connection, k) {
			continue
		}
		if prev, ok := dst[k]; ok {
			dst[k] = append(prev[:len(prev):len(prev)], v...)
			continue
		}
		dst[k] = v
	}
}

// copyBody copies the answer to w with a pooled buffer, flushing after every
// write through flusher unless it is nil. A read error other than the end
// of the body is returned as a *cutError; a write error as it is.
func copyBody(w http.ResponseWriter, body io.Reader, buf []byte, n int, flusher *http.ResponseController) error {
	for {
		var rerr error
		if n == 0 {
			n, rerr = body.Read(buf)
		}
		if n > 0 {
			if m, werr := w.Write(buf[:n]); werr != nil {
				return werr
			} else if m < n {
				return io.ErrShortWrite
			}
			if flusher != nil {
				if err := flusher.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					return err
				}
			}
			n = 0
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return &cutError{err: rerr}
		}
	}
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip
// (RFC 9110 §12.5.3): listed, or covered by "*", with a q above 0.
func acceptsGzip(values []string) bool {
	gz, star := -1.0, -1.0 // the q of each; -1 when not listed
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			switch name = strings.TrimSpace(name); {
			case strings.EqualFold(name, "gzip"), strings.EqualFold(name, "x-gzip"):
				gz = max(gz, envelope.QualityParam(params))
			case name == "*":
				star = max(star, envelope.QualityParam(params))
			}
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// readJSONStart reads the start of a JSON answer into buf, up to its first
// byte that is not white space (after a UTF-8 byte order mark), and refuses
// the answer unless that byte opens an object or a list: a framework's text
// error, a stack trace or an empty body sent as application/json is not a
// GraphQL response. A gzipped answer, when the gateway asked for gzip, is
// judged by the start of what it inflates to and still goes out
// compressed; any other encoding is refused, since the check could not
// read it. It returns how many bytes it read, which go to the client first;
// 0 for an answer it does not check (not JSON, or without a body). For an
// answer as it is, the check costs no extra read: the first read of the
// answer happens here instead of in copyBody.
//
// The answer's head waits for that byte: white space an upstream sends
// ahead of a slow answer (to keep idle connections open) is held back
// until the answer starts.
func readJSONStart(res *http.Response, mediaType string, askedGzip bool, buf []byte) (int, error) {
	if mediaType != envelope.MediaTypeJSON && mediaType != envelope.MediaTypeGraphQLResponse ||
		res.StatusCode == http.StatusNoContent || res.StatusCode == http.StatusNotModified {
		return 0, nil
	}
	refuse := func(why string) error {
		return &upstreamAnswerError{Status: res.StatusCode, MediaType: mediaType, Body: why}
	}
	switch ce := res.Header.Values("Content-Encoding"); {
	case envelope.IdentityEncoding(ce):
		return plainStart(res.Body, buf, refuse)
	case askedGzip && len(ce) == 1 && (strings.EqualFold(ce[0], "gzip") || strings.EqualFold(ce[0], "x-gzip")):
		return gzipStart(res.Body, buf, refuse)
	default:
		return 0, refuse("is encoded as " + strconv.Quote(strings.Join(ce, ", ")) + ", which the gateway did not ask for")
	}
}

// plainStart is readJSONStart for an answer as it is.
func plainStart(body io.Reader, buf []byte, refuse func(string) error) (int, error) {
	n, scanned := 0, 0
	for n < len(buf) {
		m, err := body.Read(buf[n:])
		n += m
		var v verdict
		v, scanned = jsonStart(buf[:n], scanned)
		switch {
		case v == startsJSON:
			return n, nil
		case v == notJSON:
			return 0, refuse("is not JSON")
		case err == io.EOF:
			return 0, refuse("is empty or white space")
		case err != nil:
			return 0, err
		}
	}
	return 0, refuse("does not start within 32 KiB")
}

// gzipStart is readJSONStart for a gzipped answer: one pass of a pooled
// gzip reader over the answer as it arrives, which is kept in buf on the
// way. It inflates at most as much as buf holds.
func gzipStart(body io.Reader, buf []byte, refuse func(string) error) (int, error) {
	f := inflaters.Get().(*inflater)
	defer inflaters.Put(f)
	f.tee = headTee{body: body, buf: buf}
	defer func() { f.tee = headTee{} }() // the pool keeps neither body nor buf
	err := f.zr.Reset(&f.tee)
	n, scanned, inflated := 0, 0, 0
	for err == nil {
		var m int
		m, err = f.zr.Read(f.out[n:])
		n, inflated = n+m, inflated+m
		var v verdict
		v, scanned = jsonStart(f.out[:n], scanned)
		switch {
		case v == startsJSON:
			return f.tee.n, nil
		case v == notJSON:
			return 0, refuse("is not JSON")
		case inflated >= len(buf):
			return 0, refuse("does not start within 32 KiB")
		case n == len(f.out):
			// White space so far: the window starts again after one byte
			// of it, so a byte order mark still counts only first.
			f.out[0], n, scanned = ' ', 1, 1
		}
	}
	switch {
	case f.tee.err != nil: // reading the answer failed
		return 0, f.tee.err
	case errors.Is(err, errHeadFull):
		return 0, refuse("does not start within 32 KiB")
	case err == io.EOF:
		return 0, refuse("is empty or white space")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return 0, refuse("is cut short")
	default:
		return 0, refuse("is not gzip")
	}
}

// inflater is the pooled state of gzipStart.
type inflater struct {
	zr  gzip.Reader
	tee headTee
	out [512]byte
}

var inflaters = sync.Pool{New: func() any { return new(inflater) }}

// headTee reads an answer into buf, as far as buf goes, and hands on what
// it read; a read error other than the end is kept in err.
type headTee struct {
	body io.Reader
	buf  []byte
	n    int
	err  error
}

var errHeadFull = errors.New("the answer's start fills the buffer")

func (t *headTee) Read(p []byte) (int, error) {
	if t.n == len(t.buf) {
		return 0, errHeadFull
	}
	m, err := t.body.Read(t.buf[t.n:min(len(t.buf), t.n+len(p))])
	copy(p, t.buf[t.n:t.n+m])
	t.n += m
	if err != nil && err != io.EOF {
		t.err = err
	}
	return m, err
}

// bom is UTF-8's byte order mark.
var bom = []byte("\xef\xbb\xbf")

// A verdict on the start of an answer.
type verdict int

const (
	undecided verdict = iota
	startsJSON
	notJSON
)

// jsonStart judges b, the start of an answer, of which the first from bytes
// were white space (or the byte order mark) already scanned, and returns
// how far it scanned.
func jsonStart(b []byte, from int) (verdict, int) {
	if from == 0 {
		if len(b) < len(bom) && bytes.HasPrefix(bom, b) {
			return undecided, 0
		}
		if bytes.HasPrefix(b, bom) {
			from = len(bom)
		}
	}
	i := jsonscan.SkipSpace(b, from)
	switch {
	case i == len(b):
		return undecided, i
	case b[i] == '{' || b[i] == '[':
		return startsJSON, i
	}
	return notJSON, i
}
