package envelope

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/gqlguard/gqlguard/internal/jsonscan"
)

// decodeFast reads the common request object — known keys spelled exactly,
// string values without escapes, object values kept raw — without
// reflection. It reports false for anything else (escapes, a key that
// differs from a known one only in case, a repeated key, a value of the
// wrong type, invalid UTF-8, invalid JSON), and the caller then decodes with
// encoding/json, whose results and errors stay the contract: on the inputs it
// accepts, decodeFast returns exactly what encoding/json would (FuzzParse
// checks this on every input it tries).
//
// The body is first checked by json.Valid, so the scan below walks text
// that is known to be one well-formed JSON value.
func decodeFast(data []byte) (w wireFields, ok bool) {
	if !json.Valid(data) {
		return w, false
	}
	s := scanner{data: data}
	s.space()
	if !s.eat('{') {
		return w, false
	}
	s.space()
	if s.eat('}') {
		return w, true
	}
	var seen [len(wireNames)]bool
	for {
		s.space()
		key, plain := s.str()
		if !plain {
			return w, false
		}
		field := fieldOf(key)
		if field < 0 && foldsToKnown(key) {
			return w, false // encoding/json matches keys without regard to case
		}
		s.space()
		s.eat(':')
		s.space()
		if field >= 0 {
			if seen[field] {
				return w, false // the last one wins in encoding/json: let it decide
			}
			seen[field] = true
			if !w.set(field, &s) {
				return w, false
			}
		} else {
			s.skip()
		}
		s.space()
		if s.eat('}') {
			return w, true
		}
		s.eat(',')
	}
}

// wireFields is a decoded request object; an absent or null field is
// empty, as encoding/json leaves it.
type wireFields struct {
	str [5]string          // query, operationName, documentId, doc_id, id
	raw [2]json.RawMessage // variables, extensions
}

// wireNames are the keys of a request object, in wireFields order: the
// strings, then the raw objects.
var wireNames = [...]string{"query", "operationName", "documentId", "doc_id", "id", "variables", "extensions"}

func fieldOf(key []byte) int {
	for i, name := range wireNames {
		if string(key) == name {
			return i
		}
	}
	return -1
}

func foldsToKnown(key []byte) bool {
	for _, name := range wireNames {
		if bytes.EqualFold(key, []byte(name)) {
			return true
		}
	}
	return false
}

// set reads the value of field from s.
func (w *wireFields) set(field int, s *scanner) bool {
	if field >= len(w.str) {
		i := field - len(w.str)
		start := s.i
		s.skip()
		if v := s.data[start:s.i]; !bytes.Equal(v, null) {
			w.raw[i] = bytes.Clone(v)
		}
		return true
	}
	if s.peek() == 'n' { // null: absent, as encoding/json leaves a nil pointer
		s.skip()
		return true
	}
	if s.peek() != '"' {
		return false // a type error: encoding/json words it
	}
	v, plain := s.str()
	if !plain || !utf8.Valid(v) {
		return false // escapes or invalid UTF-8: encoding/json rewrites them
	}
	w.str[field] = string(v)
	return true
}

// scanner walks JSON text already known to be valid.
type scanner struct {
	data []byte
	i    int
}

func (s *scanner) peek() byte {
	if s.i < len(s.data) {
		return s.data[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) space() { s.i = jsonscan.SkipSpace(s.data, s.i) }

// str reads a string at s.i and returns its contents; plain is false when
// they hold an escape.
func (s *scanner) str() (v []byte, plain bool) {
	if s.peek() != '"' {
		return nil, false
	}
	end, escaped := jsonscan.StringEnd(s.data, s.i)
	v, s.i = s.data[s.i+1:end-1], end
	return v, !escaped
}

// skip moves past the value at s.i.
func (s *scanner) skip() {
	if s.i < len(s.data) {
		s.i = jsonscan.ValueEnd(s.data, s.i)
	}
}
