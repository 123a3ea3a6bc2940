package dirstore

import (
	"fmt"
	"strings"

	"github.com/gqlguard/gqlguard/documents"
)

// File name extensions of the folder layout.
const (
	textExt = ".graphql"
	metaExt = ".json"
)

// baseFor returns the file base name (without extension) that holds id:
// the hex digits of a hash id, or the custom id itself. It refuses ids that
// are not in the canonical form documents.ParseID returns, so that no id can
// name a file outside the layout, and custom ids whose names are not safe in
// a file name.
func baseFor(id documents.ID) (string, error) {
	if !isCanonical(id) {
		return "", fmt.Errorf("dirstore: %q is not a document id in canonical form (sha256:<64 lowercase hex>, sha1:<40>, md5:<32> or x-<name>)", id)
	}
	if h := id.Hash(); h != "" {
		return h, nil
	}
	if !safeName(strings.TrimPrefix(string(id), "x-")) {
		return "", fmt.Errorf("dirstore: custom id %q cannot be a file name: after \"x-\" use only letters, digits, '.', '_' and '-', not starting with '.'", id)
	}
	return string(id), nil
}

// isCanonical reports whether id is in the form documents.ParseID returns.
// ParseID reads md5 and sha1 ids from their bare hex digits only, so a hash
// id is checked through its digits.
func isCanonical(id documents.ID) bool {
	s := string(id)
	if h := id.Hash(); h != "" {
		s = h
	}
	got, err := documents.ParseID(s)
	return err == nil && got == id
}

// parseBase reads the id a file base name stands for: 64, 40 or 32 hex
// digits (SHA-256, SHA-1, MD5, as documents.ParseID reads a bare id) or
// x-<safe name>. canonical reports whether base is the name baseFor gives the
// id (hex digits in upper case are accepted but not canonical).
func parseBase(base string) (id documents.ID, canonical, ok bool) {
	switch {
	case strings.HasPrefix(base, "x-"):
		if !safeName(base[2:]) {
			return "", false, false
		}
	case len(base) == 64, len(base) == 40, len(base) == 32:
	default:
		return "", false, false
	}
	id, err := documents.ParseID(base)
	if err != nil {
		return "", false, false
	}
	h := id.Hash()
	return id, h == "" || h == base, true
}

// safeName reports whether a custom id's name (after "x-") is safe as part of
// a file name on every platform: only [A-Za-z0-9._-], not starting with a
// dot. Path separators, "..", control characters and shell metacharacters
// can never reach the file system.
func safeName(name string) bool {
	if name == "" || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
