package dirstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/atomicfile"
)

// filePerm is the mode of document and sidecar files: the documents are not
// secret, and other processes (CI, an operator) replace them.
const filePerm = 0o644

// writeText writes a document's text to <base>.graphql unless the file
// already holds exactly that text. It reports whether it wrote.
func (s *Store) writeText(base, text string) (bool, error) {
	path := s.prefix + base + textExt
	if old, err := os.ReadFile(path); err == nil && string(old) == text {
		return false, nil
	}
	if err := atomicfile.Write(path, []byte(text), filePerm); err != nil {
		return false, fmt.Errorf("dirstore: %w", err)
	}
	return true, nil
}

// writeMeta writes a document's metadata to <base>.json, or removes that
// sidecar when the metadata is zero. It reports whether the folder changed.
func (s *Store) writeMeta(base string, meta documents.Meta) (bool, error) {
	path := s.prefix + base + metaExt
	if meta.IsZero() {
		err := os.Remove(path)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err == nil {
			err = syncDir(s.dir)
		}
		if err != nil {
			return false, fmt.Errorf("dirstore: remove stale metadata: %w", err)
		}
		return true, nil
	}
	data, err := encodeMeta(meta)
	if err != nil {
		return false, err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := atomicfile.Write(path, data, filePerm); err != nil {
		return false, fmt.Errorf("dirstore: %w", err)
	}
	return true, nil
}

// putMeta writes the metadata an entry carries. For an entry that carries
// none it keeps the stored metadata: a sidecar under the canonical name
// stays as it is, and one under another name (hex digits in upper case),
// which the canonical text file just written makes the folder ignore, is
// copied to the canonical name. It reports whether the folder changed.
func (s *Store) putMeta(base string, e documents.Entry) (bool, error) {
	if e.CarriesMeta() {
		return s.writeMeta(base, e.Meta)
	}
	s.mu.RLock()
	st, ok := s.index[e.ID]
	s.mu.RUnlock()
	if !ok || !st.hasMeta || st.metaBase == "" {
		return false, nil
	}
	data, err := os.ReadFile(s.prefix + st.metaBase + metaExt)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dirstore: %w", err)
	}
	meta, err := decodeMeta(data)
	if err != nil {
		// Not metadata: the entry was refused with it, and is served
		// without it (not public) from now on.
		return false, nil
	}
	return s.writeMeta(base, meta)
}

// encodeMeta returns a sidecar's content: one line of JSON.
func encodeMeta(meta documents.Meta) ([]byte, error) {
	data, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("dirstore: encode metadata: %w", err)
	}
	return append(data, '\n'), nil
}

// decodeMeta reads a sidecar strictly: a misspelt field is an error rather
// than metadata silently missing (a "pubilc": true that made nothing public
// would be hard to find).
func decodeMeta(data []byte) (documents.Meta, error) {
	var meta documents.Meta
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		return documents.Meta{}, fmt.Errorf("metadata is not a JSON object of public and clients: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return documents.Meta{}, errors.New("metadata has data after its JSON object")
	}
	return meta, nil
}

// syncDir flushes a directory, so that a removal survives a crash. Windows
// cannot open a directory for syncing and makes removals durable on its own.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
