package limits

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// The helpers in this file, like internal/jsonscan's, move through JSON text
// that json.Valid has already accepted.

// unquote returns the text of the JSON string s (quotes included). Strings
// without escapes are only copied out, not decoded.
func unquote(s []byte, escaped bool) string {
	if !escaped {
		return string(s[1 : len(s)-1])
	}
	var v string
	if err := json.Unmarshal(s, &v); err != nil {
		return string(s[1 : len(s)-1])
	}
	return v
}

// sameKey reports whether the JSON string s (quotes included) is name.
func sameKey(s []byte, escaped bool, name string) bool {
	if !escaped {
		return string(s[1:len(s)-1]) == name
	}
	return unquote(s, true) == name
}

// maxShown bounds how much of a client's value an error message repeats.
const maxShown = 40

// shown returns the JSON value v as an error message shows it: scalars as
// written, shortened when long; containers by their kind.
func shown(v []byte) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	}
	return clip(v)
}

// clip returns b as a string of at most maxShown bytes, cut on a rune
// boundary and marked when cut.
func clip(b []byte) string {
	if len(b) <= maxShown {
		return string(b)
	}
	n := maxShown
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…"
}

// segment returns the path segment of an object key: .name for GraphQL
// names, a quoted form for anything else.
func segment(key string) string {
	if isName(key) {
		return "." + key
	}
	return "[" + strconv.Quote(clip([]byte(key))) + "]"
}

// isName reports whether s is a GraphQL name: /[_A-Za-z][_0-9A-Za-z]*/.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// keySet remembers the keys of one object. Small objects are searched
// linearly without allocating; large ones spill into a map.
type keySet struct {
	small [8]jsonString
	n     int
	big   map[string]struct{}
}

// jsonString is a JSON string as written, quotes included.
type jsonString struct {
	raw     []byte
	escaped bool
}

func (a jsonString) equal(b jsonString) bool {
	if !a.escaped && !b.escaped {
		return bytes.Equal(a.raw, b.raw)
	}
	return unquote(a.raw, a.escaped) == unquote(b.raw, b.escaped)
}

// add adds the JSON string key and reports whether it was already there.
func (s *keySet) add(key []byte, esc bool) (dup bool) {
	k := jsonString{key, esc}
	if s.big != nil {
		text := unquote(key, esc)
		if _, dup = s.big[text]; !dup {
			s.big[text] = struct{}{}
		}
		return dup
	}
	for _, seen := range s.small[:s.n] {
		if seen.equal(k) {
			return true
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = k
		s.n++
		return false
	}
	s.big = make(map[string]struct{}, 2*len(s.small))
	for _, seen := range s.small {
		s.big[unquote(seen.raw, seen.escaped)] = struct{}{}
	}
	s.big[unquote(key, esc)] = struct{}{}
	return false
}

// nestsDeeper reports whether the valid JSON b nests arrays and objects more
// than max levels deep. It is one loop with a counter, so that no input
// can make it recurse.
func nestsDeeper(b []byte, max int) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++ // the escaped character, which may be a quote
				}
			}
		case '{', '[':
			if depth++; depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}
