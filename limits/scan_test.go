package limits

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// depthOf is the nesting depth of valid JSON b, by encoding/json's tokens.
func depthOf(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// FuzzNestsDeeper holds nestsDeeper to encoding/json's reading of the same
// text at every depth around the input's own.
func FuzzNestsDeeper(f *testing.F) {
	for _, seed := range []string{`{}`, `[[1],[[2]]]`, `{"a":"[[\"{{"}`, `"\\"`, `{"a":{"b":[{"c":"]]]}"}]}}`, strings.Repeat("[", 40) + strings.Repeat("]", 40)} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		d := depthOf(b)
		for _, limit := range []int{max(d-1, 0), d, d + 1} {
			if got, want := nestsDeeper(b, limit), d > limit; got != want {
				t.Fatalf("nestsDeeper(%q, %d) = %v; depth is %d", b, limit, got, d)
			}
		}
	})
}
