package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gqlguard/gqlguard/documents"
)

// graphqlExt is the extension of document files.
const graphqlExt = ".graphql"

// ReadDir reads the .graphql files of the folder dir (not of its
// subfolders), in name order. A file named after an id, as the folder store
// lays them out (<64, 40 or 32 hex digits>.graphql, x-<name>.graphql), is
// verified against that id and takes its metadata from a <same base>.json
// sidecar if there is one (Entry.MetaGiven set; without a sidecar the entry
// carries no metadata); any other .graphql file is keyed by the SHA-256 of
// its exact bytes. Hidden files and other files are skipped.
func ReadDir(dir string) ([]documents.Entry, error) {
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var b builder
	for _, f := range files {
		base, ok := strings.CutSuffix(f.Name(), graphqlExt)
		if !ok || strings.HasPrefix(base, ".") || f.IsDir() {
			continue
		}
		path := filepath.Join(dir, f.Name())
		text, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		at := location{file: path}
		if !namedAfterID(base) {
			if err := b.addID(documents.SHA256(string(text)), "", string(text), nil, at); err != nil {
				return nil, err
			}
			continue
		}
		meta, err := readSidecar(filepath.Join(dir, base+".json"))
		if err != nil {
			return nil, err
		}
		if err := b.add(base, string(text), meta, at); err != nil {
			return nil, err
		}
	}
	if len(b.entries) == 0 {
		return nil, fmt.Errorf("manifest: %s has no .graphql files", dir)
	}
	return b.entries, nil
}

// namedAfterID reports whether a file base name has the shape of an id of
// the folder layout, so that its content must verify against it: hex digits
// of a hash's length, or a custom id. Names of that shape that are not
// valid ids are refused by ParseID rather than taken as arbitrary names.
func namedAfterID(base string) bool {
	switch len(base) {
	case 64, 40, 32:
		return isHex(base)
	}
	return strings.HasPrefix(base, "x-")
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// readSidecar reads the metadata of a document of the folder layout; a
// missing sidecar is nil: the document carries no metadata. It is strict: a
// misspelt field would otherwise drop metadata silently.
func readSidecar(path string) (*documents.Meta, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var meta documents.Meta
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		return nil, fmt.Errorf("manifest: %s: metadata is not a JSON object of public and clients: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("manifest: %s: metadata has data after its JSON object", path)
	}
	return &meta, nil
}

// FromFiles makes one document of each .graphql file named, its id the
// SHA-256 of the file's exact bytes, in the order given. A file given twice,
// or two files with the same text, give one document.
func FromFiles(paths []string) ([]documents.Entry, error) {
	var b builder
	for _, path := range paths {
		if !strings.HasSuffix(path, graphqlExt) {
			return nil, fmt.Errorf("manifest: %s is not a .graphql file", path)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		if err := b.addID(documents.SHA256(string(text)), "", string(text), nil, location{file: path}); err != nil {
			return nil, err
		}
	}
	return b.entries, nil
}
