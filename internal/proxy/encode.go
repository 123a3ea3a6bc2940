package proxy

import (
	"unicode/utf8"

	"github.com/gqlguard/gqlguard/envelope"
)

// encodeBatch writes the GraphQL-over-HTTP JSON body sent upstream. Variables
// and extensions are copied as the client sent them (already checked to be
// JSON objects); only the strings are encoded.
func encodeBatch(b *envelope.Batch) []byte {
	n := 2
	for i := range b.Requests {
		r := &b.Requests[i]
		n += 64 + len(r.Query) + len(r.OperationName) + len(r.DocumentID) + len(r.Variables) + len(r.Extensions)
	}
	out := make([]byte, 0, n)
	if b.Array {
		out = append(out, '[')
	}
	for i := range b.Requests {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendRequest(out, &b.Requests[i])
	}
	if b.Array {
		out = append(out, ']')
	}
	return out
}

func appendRequest(out []byte, r *envelope.Request) []byte {
	out = append(out, '{')
	sep := false
	field := func(name string) {
		if sep {
			out = append(out, ',')
		}
		sep = true
		out = append(out, '"')
		out = append(out, name...)
		out = append(out, '"', ':')
	}
	if r.Query != "" {
		field("query")
		out = appendString(out, r.Query)
	}
	if r.OperationName != "" {
		field("operationName")
		out = appendString(out, r.OperationName)
	}
	if r.Variables != nil {
		field("variables")
		out = append(out, r.Variables...)
	}
	if r.Extensions != nil {
		field("extensions")
		out = append(out, r.Extensions...)
	}
	if r.DocumentID != "" {
		field("documentId")
		out = appendString(out, r.DocumentID)
	}
	return append(out, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping what RFC 8259 requires
// and replacing invalid UTF-8 with U+FFFD, as encoding/json does.
func appendString(out []byte, s string) []byte {
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			out = append(out, s[start:i]...)
			switch c {
			case '"', '\\':
				out = append(out, '\\', c)
			case '\n':
				out = append(out, '\\', 'n')
			case '\r':
				out = append(out, '\\', 'r')
			case '\t':
				out = append(out, '\\', 't')
			default:
				out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, s[start:i]...)
			out = append(out, "\ufffd"...)
			i += size
			start = i
			continue
		}
		i += size
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
