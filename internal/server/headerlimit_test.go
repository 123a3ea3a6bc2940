package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/config"
)

// TestOversizedTokensGetTheAuthContractUpToTheHTTPStacksLimit sends tokens
// over auth.jwt.max_token_bytes in ever larger Authorization headers over
// HTTP/1.1 and HTTP/2, to the limits of Go's HTTP stack and one byte past
// them, with the sizes docs/authentication.md states. Within the limits the answer is
// the gateway's 401; past them, the stack's own refusal.
func TestOversizedTokensGetTheAuthContractUpToTheHTTPStacksLimit(t *testing.T) {
	defaults := config.Default()
	maxHeader, maxToken := defaults.Server.MaxHeaderBytes, defaults.Auth.JWT.MaxTokenBytes
	g, up, _ := authGateway(t, func(c *config.Config) { c.Auth.FailureLimit = config.RateLimit{Rate: 1000, Burst: 1000} })
	body := `{"documentId":"` + string(documents.SHA256(invoiceDoc)) + `"}`

	// Token lengths that make the HTTP/2 header list (RFC 7541 §4.1), the
	// Authorization value or the HTTP/1.1 request head exactly n bytes.
	listOf := func(n int) int { return n - h2ListSize(h2Fields("Bearer ")) }
	valueOf := func(n int) int { return n - len("Bearer ") }
	headOf := func(n int) int { return n - len(h1Head("Bearer ", body)) }
	// Go's HTTP/2 server advertises max_header_bytes + 320 as
	// SETTINGS_MAX_HEADER_LIST_SIZE; its HTTP/1.1 server reads up to
	// max_header_bytes + 4096 bytes of request head.
	h2Limit, h1Limit := maxHeader+320, maxHeader+4096

	const unauthorized, tooLarge, goAway = "401", "431", "GOAWAY"
	tests := []struct {
		name   string
		token  int
		h1, h2 string
	}{
		{"one byte over max_token_bytes", maxToken + 1, unauthorized, unauthorized},
		{"four times max_token_bytes", 4 * maxToken, unauthorized, unauthorized},
		{"a header list of max_header_bytes", listOf(maxHeader), unauthorized, unauthorized},
		{"a header list at HTTP/2's advertised limit", listOf(h2Limit), unauthorized, unauthorized},
		{"a header list one byte over HTTP/2's limit", listOf(h2Limit + 1), unauthorized, tooLarge},
		{"an Authorization value one byte over HTTP/2's limit", valueOf(h2Limit + 1), unauthorized, goAway},
		{"a request head at HTTP/1.1's limit", headOf(h1Limit), unauthorized, goAway},
		{"a request head one byte over HTTP/1.1's limit", headOf(h1Limit + 1), tooLarge, goAway},
	}
	for _, tt := range tests {
		token := strings.Repeat("a", tt.token)
		t.Run(tt.name+" over HTTP/1.1", func(t *testing.T) {
			checkAnswer(t, h1Exchange(t, g, token, body), tt.h1, "HTTP/1.1")
		})
		t.Run(tt.name+" over HTTP/2", func(t *testing.T) {
			checkAnswer(t, h2Exchange(t, g, token, body), tt.h2, "HTTP/2")
		})
	}
	if n := up.count(); n != 0 {
		t.Errorf("%d oversized tokens reached the upstream", n)
	}
	// The authentication page states the largest tokens these requests may carry.
	page, err := os.ReadFile("../../docs/authentication.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(page)), " ")
	if want := fmt.Sprintf("for tokens up to %s bytes over HTTP/2 and %s over HTTP/1.1", spaced(listOf(h2Limit)), spaced(headOf(h1Limit))); !strings.Contains(text, want) {
		t.Errorf("docs/authentication.md does not say %q", want)
	}
}

// spaced writes n as the docs do: 65 490.
func spaced(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// answer is what a client got: a response, or the end of its HTTP/2
// connection.
type answer struct {
	status int
	header http.Header
	body   string
	goAway *http2.GoAwayFrame
}

func checkAnswer(t *testing.T, a answer, want, proto string) {
	t.Helper()
	switch want {
	case "401":
		const challenge = `Bearer realm="GraphQL", error="invalid_token", error_description="the token is too large"`
		if a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") != challenge ||
			!strings.HasPrefix(a.header.Get("Content-Type"), "application/graphql-response+json") || errorCode(t, a.body) != "UNAUTHENTICATED" {
			t.Fatalf("got %d %v %q, want 401 with %s and UNAUTHENTICATED", a.status, a.header, a.body, challenge)
		}
	case "431":
		if a.status != http.StatusRequestHeaderFieldsTooLarge || a.header.Get("WWW-Authenticate") != "" {
			t.Fatalf("got %d %v %q, want the HTTP stack's 431", a.status, a.header, a.body)
		}
		// HTTP/1.1's is plain text; HTTP/2's a line of HTML.
		if proto == "HTTP/1.1" && (a.header.Get("Content-Type") != "text/plain; charset=utf-8" || a.body != "431 Request Header Fields Too Large") {
			t.Fatalf("got %v %q, want net/http's plain-text 431", a.header, a.body)
		}
	case "GOAWAY":
		if a.goAway == nil || a.goAway.ErrCode != http2.ErrCodeCompression {
			t.Fatalf("got %d %q, goaway %v; want the connection ended with COMPRESSION_ERROR", a.status, a.body, a.goAway)
		}
	}
}

// h1Head is the head of the HTTP/1.1 request h1Exchange sends.
func h1Head(authorization, body string) string {
	return "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
		"Accept: application/graphql-response+json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Authorization: " + authorization + "\r\n\r\n"
}

// h1Exchange sends one request carrying token over a new HTTP/1.1
// connection, writing each byte itself so that the head's size is exact.
func h1Exchange(t *testing.T, g *gateway, token, body string) answer {
	t.Helper()
	conn, err := tls.Dial("tcp", g.https, &tls.Config{RootCAs: g.roots, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	// The server may answer and close before it has read everything.
	go func() { _, _ = io.WriteString(conn, h1Head("Bearer "+token, body)+body) }()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: res.StatusCode, header: res.Header, body: readBody(t, res)}
}

// h2Fields are the header fields h2Exchange sends.
func h2Fields(authorization string) []hpack.HeaderField {
	return []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "https"}, {Name: ":authority", Value: "localhost"},
		{Name: ":path", Value: "/graphql"}, {Name: "content-type", Value: "application/json"},
		{Name: "accept", Value: "application/graphql-response+json"}, {Name: "authorization", Value: authorization},
	}
}

// h2ListSize is a header list's size as HTTP/2 counts it against
// SETTINGS_MAX_HEADER_LIST_SIZE.
func h2ListSize(fields []hpack.HeaderField) int {
	n := 0
	for _, f := range fields {
		n += int(f.Size())
	}
	return n
}

// h2Exchange sends one request carrying token on a new HTTP/2 connection,
// with its header block in frames of 16 KiB as browsers and curl send
// them, whatever limit the server advertised (Go's own client would refuse
// to send more).
func h2Exchange(t *testing.T, g *gateway, token, body string) answer {
	t.Helper()
	conn, err := tls.Dial("tcp", g.https, &tls.Config{RootCAs: g.roots, ServerName: "localhost", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range h2Fields("Bearer " + token) {
		if err := enc.WriteField(f); err != nil {
			t.Fatal(err)
		}
	}
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	go func() {
		_, _ = io.WriteString(conn, http2.ClientPreface)
		_ = fr.WriteSettings()
		frag := block.Bytes()
		for first := true; len(frag) > 0; first = false {
			n := min(len(frag), 16<<10)
			chunk, end := frag[:n], n == len(frag)
			frag = frag[n:]
			var err error
			if first {
				err = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: chunk, EndHeaders: end})
			} else {
				err = fr.WriteContinuation(1, end, chunk)
			}
			if err != nil {
				return
			}
		}
		_ = fr.WriteData(1, true, []byte(body))
	}()
	a := answer{header: http.Header{}}
	var data strings.Builder
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %+v: %v", a, err)
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			a.status, _ = strconv.Atoi(f.PseudoValue("status"))
			for _, hf := range f.RegularFields() {
				a.header.Add(hf.Name, hf.Value)
			}
			if f.StreamEnded() {
				return a
			}
		case *http2.DataFrame:
			data.Write(f.Data())
			if f.StreamEnded() {
				a.body = data.String()
				return a
			}
		case *http2.GoAwayFrame:
			a.goAway = f
			return a
		case *http2.RSTStreamFrame:
			t.Fatalf("stream reset with %v after %+v", f.ErrCode, a)
		}
	}
}
