package documents

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/gqlguard/gqlguard/envelope"
)

// ID is a trusted document's key in canonical form:
//
//   - "sha256:<64 lowercase hex>", the SHA-256 of the document text (a bare
//     64-hex id, as Apollo clients send it, means the same);
//   - "md5:<32 hex>" or "sha1:<40 hex>", a Relay manifest's own ids, which
//     are hashes of the text too, told apart by their length;
//   - "x-<name>", a custom id from the persisted-documents appendix, which
//     no hash can verify: only the store vouches for it.
type ID string

// maxCustomID bounds custom ids, which are echoed in logs.
const maxCustomID = 128

// ParseID reads a client- or manifest-supplied id. Anything that is not of
// an accepted form is an INVALID_DOCUMENT_ID error.
func ParseID(s string) (ID, error) {
	for algo, n := range map[string]int{"sha256:": 64, "sha1:": 40, "md5:": 32} {
		if rest, ok := strings.CutPrefix(s, algo); ok {
			if isHex(rest, n) {
				return ID(algo + strings.ToLower(rest)), nil
			}
			return "", invalidID(s)
		}
	}
	switch {
	case isHex(s, 64):
		return ID("sha256:" + strings.ToLower(s)), nil
	case isHex(s, 40):
		return ID("sha1:" + strings.ToLower(s)), nil
	case isHex(s, 32):
		return ID("md5:" + strings.ToLower(s)), nil
	case strings.HasPrefix(s, "x-") && len(s) > 2 && len(s) <= maxCustomID && printable(s):
		return ID(s), nil
	}
	return "", invalidID(s)
}

func invalidID(s string) *envelope.Error {
	shown := s
	if len(shown) > 80 || !printable(shown) {
		shown = "(an id of " + fmt.Sprint(len(s)) + " bytes)"
	}
	return envelope.Errorf(envelope.CodeInvalidDocumentID,
		"%q is not a document id: send \"sha256:\" followed by the 64 hex digits of the document's SHA-256, or a custom id starting with \"x-\"", shown)
}

// SHA256 returns the canonical id of a document text.
func SHA256(text string) ID {
	sum := sha256.Sum256([]byte(text))
	return ID("sha256:" + hex.EncodeToString(sum[:]))
}

// Hash returns the hex digits of a hash id ("" for a custom id).
func (id ID) Hash() string {
	_, h, ok := strings.Cut(string(id), ":")
	if !ok {
		return ""
	}
	return h
}

// Verify checks that text is the document id names: its hash must match.
// A custom id cannot be verified and is accepted; an id that is not in
// canonical form (as ParseID returns it) is refused.
func (id ID) Verify(text string) error {
	if canonical, err := ParseID(string(id)); err != nil || canonical != id {
		return fmt.Errorf("%q is not a canonical document id", string(id))
	}
	algo, want, ok := strings.Cut(string(id), ":")
	if !ok {
		return nil
	}
	var got string
	switch algo {
	case "sha256":
		s := sha256.Sum256([]byte(text))
		got = hex.EncodeToString(s[:])
	case "sha1":
		s := sha1.Sum([]byte(text))
		got = hex.EncodeToString(s[:])
	case "md5":
		s := md5.Sum([]byte(text))
		got = hex.EncodeToString(s[:])
	default:
		return fmt.Errorf("document %s: unknown hash algorithm", id)
	}
	if got != want {
		return fmt.Errorf("document %s: its text hashes to %s:%s; the entry is refused", id, algo, got)
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
