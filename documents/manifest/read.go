// Package manifest imports trusted documents from the manifests client build
// tools write, and writes the Apollo manifest.
//
// Read accepts the Apollo persisted query manifest (with gqlguard's optional
// "meta" field of an operation, the document's metadata), Relay's persisted
// query JSON and GraphQL Code Generator's persisted-documents.json; ReadDir
// reads a folder of .graphql files and their metadata sidecars; FromFiles turns chosen .graphql files into
// documents keyed by their SHA-256. Every entry is checked: an id that does
// not verify against its text fails the whole import with an error naming
// the id and where it was found, never skipped. The package does not store
// anything; hand its entries to a documents.Store.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/gqlguard/gqlguard/documents"
)

// Format names a manifest format.
type Format string

// The formats Read recognises.
const (
	// FormatApollo is the Apollo persisted query manifest:
	// {"format":"apollo-persisted-query-manifest","version":1,
	// "operations":[{"id":"<sha256 hex>","name":"…","type":"query","body":"…"}]}.
	// An operation may carry gqlguard's extension, "meta":
	// {"public":true,"clients":["web"]}: the entry's metadata (Entry.MetaGiven
	// set, even for "meta":{}). Without it the entry carries none.
	FormatApollo Format = "apollo"
	// FormatRelay is a JSON object of ids to document texts, {"<id>":"<text>"},
	// as Relay's compiler writes it (ids are often MD5 hex digits).
	FormatRelay Format = "relay"
	// FormatCodegen is GraphQL Code Generator's persisted-documents.json: the
	// same {"<id>":"<text>"} object, every id a SHA-256.
	FormatCodegen Format = "graphql-codegen"
)

// apolloFormat is the format field of an Apollo manifest.
const apolloFormat = "apollo-persisted-query-manifest"

// wantShapes ends the message of an unknown format.
const wantShapes = `want an Apollo persisted query manifest ({"format":"apollo-persisted-query-manifest","version":1,"operations":[…]}) or an object of ids to document texts ({"<id>":"<document>"}, as Relay and GraphQL Code Generator write)`

// ErrUnknownFormat is wrapped by Read's error for input that is none of the
// formats it knows.
var ErrUnknownFormat = errors.New("manifest: unknown format")

// EntryError reports an entry of a manifest that cannot be imported: an id of
// no accepted form, or a text that does not hash to its id.
type EntryError struct {
	// File is the file the entry came from, when known.
	File string
	// Position says where in the file: "operations[3]", "line 12".
	Position string
	// ID is the id as written in the manifest.
	ID string
	// Err is what is wrong with the entry.
	Err error
}

// Error names the file, position and id of the entry, and what is wrong.
func (e *EntryError) Error() string {
	where := "manifest: "
	if e.File != "" {
		where += e.File + ": "
	}
	if e.Position != "" {
		where += e.Position + ": "
	}
	if e.ID == "" {
		return fmt.Sprintf("%s%v", where, e.Err)
	}
	return fmt.Sprintf("%sid %s: %v", where, quoteID(e.ID), e.Err)
}

// Unwrap returns what is wrong with the entry.
func (e *EntryError) Unwrap() error { return e.Err }

// quoteID quotes an id for a message, shortening one too long to be an id.
func quoteID(id string) string {
	if len(id) > 80 {
		return strconv.Quote(id[:77] + "...")
	}
	return strconv.Quote(id)
}

// Read reads a manifest in any format it recognises and returns its entries,
// in the order of the manifest, with each id in canonical form and verified
// against its text. An entry listed twice with the same text is returned
// once. It reads r to the end: bound r (http.MaxBytesReader) when it comes
// from a client.
func Read(r io.Reader) ([]documents.Entry, Format, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, "", fmt.Errorf("manifest: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, "", fmt.Errorf("%w: the input is empty", ErrUnknownFormat)
	}
	tok, err := json.NewDecoder(bytes.NewReader(data)).Token()
	if err != nil {
		return nil, "", fmt.Errorf("%w: the input is not JSON: %v", ErrUnknownFormat, err)
	}
	if tok != json.Delim('{') {
		return nil, "", fmt.Errorf("%w: the input is %s; %s", ErrUnknownFormat, describe(tok), wantShapes)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, "", fmt.Errorf("%w: the input is not JSON: %v", ErrUnknownFormat, err)
	}
	if _, ok := top["format"]; ok {
		entries, err := readApollo(data)
		return entries, FormatApollo, err
	}
	return readMap(data)
}

// ReadFile is Read of the file at path; its errors name the file.
func ReadFile(path string) ([]documents.Entry, Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	entries, format, err := Read(f)
	var entryErr *EntryError
	switch {
	case err == nil:
		return entries, format, nil
	case errors.As(err, &entryErr):
		entryErr.File = path
		return nil, "", entryErr
	}
	return nil, "", fmt.Errorf("%s: %w", path, err)
}

type apolloManifest struct {
	Format     string            `json:"format"`
	Version    int               `json:"version"`
	Operations []apolloOperation `json:"operations"`
}

type apolloOperation struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Body string `json:"body"`
	// Meta is gqlguard's extension of the format: the document's metadata,
	// {"public":true,"clients":["web"]}. Absent, the entry carries none.
	Meta *documents.Meta `json:"meta,omitempty"`
}

// readApollo reads an Apollo persisted query manifest, strictly: a field
// the format does not have is a typo to report, not to ignore.
func readApollo(data []byte) ([]documents.Entry, error) {
	var m apolloManifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: not an Apollo persisted query manifest: %v", ErrUnknownFormat, err)
	}
	switch {
	case m.Format != apolloFormat:
		return nil, fmt.Errorf("%w: format %q, want %q", ErrUnknownFormat, m.Format, apolloFormat)
	case m.Version != 1:
		return nil, fmt.Errorf("%w: version %d of the Apollo persisted query manifest; only version 1 is supported", ErrUnknownFormat, m.Version)
	case m.Operations == nil:
		return nil, fmt.Errorf("%w: the Apollo persisted query manifest has no operations list", ErrUnknownFormat)
	}
	var b builder
	for i, op := range m.Operations {
		if err := b.add(op.ID, op.Body, op.Meta, location{pos: "operations[" + strconv.Itoa(i) + "]"}); err != nil {
			return nil, err
		}
	}
	return b.entries, nil
}

// readMap reads a {"<id>": "<text>"} object, in file order, so that errors
// name the first bad entry and its line.
func readMap(data []byte) ([]documents.Entry, Format, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') { // checked by Read
		return nil, "", fmt.Errorf("%w: want a JSON object", ErrUnknownFormat)
	}
	var b builder
	allSHA256 := true
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, "", fmt.Errorf("manifest: %w", err)
		}
		id, _ := tok.(string) // object keys are strings
		pos := "line " + strconv.Itoa(lineAt(data, dec.InputOffset()))
		tok, err = dec.Token()
		if err != nil {
			return nil, "", fmt.Errorf("manifest: %s: %w", pos, err)
		}
		text, ok := tok.(string)
		if !ok {
			return nil, "", fmt.Errorf("%w: %s: the value of %s is %s, not a document text; %s",
				ErrUnknownFormat, pos, quoteID(id), describe(tok), wantShapes)
		}
		if err := b.add(id, text, nil, location{pos: pos}); err != nil {
			return nil, "", err
		}
		allSHA256 = allSHA256 && len(b.entries[len(b.entries)-1].ID.Hash()) == 64
	}
	if len(b.entries) > 0 && allSHA256 {
		return b.entries, FormatCodegen, nil
	}
	return b.entries, FormatRelay, nil
}

// describe names the kind of a JSON token for a message.
func describe(tok json.Token) string {
	switch tok {
	case json.Delim('{'):
		return "an object"
	case json.Delim('['):
		return "an array"
	case nil:
		return "null"
	}
	switch tok.(type) {
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	}
	return fmt.Sprintf("%v", tok)
}

// lineAt returns the line number of offset in data.
func lineAt(data []byte, offset int64) int {
	return bytes.Count(data[:min(offset, int64(len(data)))], []byte{'\n'}) + 1
}

// location says where an entry was found.
type location struct {
	file, pos string
}

// refuse returns the error for the entry at l.
func (l location) refuse(rawID string, err error) error {
	return &EntryError{File: l.file, Position: l.pos, ID: rawID, Err: err}
}

// builder collects verified entries, each id once.
type builder struct {
	entries []documents.Entry
	seen    map[documents.ID]int
}

// add parses rawID and adds the entry.
func (b *builder) add(rawID, text string, meta *documents.Meta, at location) error {
	id, err := documents.ParseID(rawID)
	if err != nil {
		return at.refuse(rawID, err)
	}
	return b.addID(id, rawID, text, meta, at)
}

// addID verifies text against id and adds the entry, with meta as its
// metadata (nil: the entry carries none), unless the same entry was added
// before. An entry listed twice must have one text, and at most one
// metadata.
func (b *builder) addID(id documents.ID, rawID, text string, meta *documents.Meta, at location) error {
	if text == "" {
		return at.refuse(rawID, errors.New("the document text is empty"))
	}
	if err := id.Verify(text); err != nil {
		return at.refuse(rawID, err)
	}
	e := documents.Entry{ID: id, Text: text}
	if meta != nil {
		e.Meta, e.MetaGiven = *meta, true
	}
	if b.seen == nil {
		b.seen = map[documents.ID]int{}
	}
	i, dup := b.seen[id]
	switch {
	case !dup:
		b.seen[id] = len(b.entries)
		b.entries = append(b.entries, e)
	case b.entries[i].Text != text:
		return at.refuse(rawID, fmt.Errorf("%s is listed twice with different texts", id))
	case !e.MetaGiven:
	case !b.entries[i].MetaGiven:
		b.entries[i] = e
	case !sameMeta(b.entries[i].Meta, e.Meta):
		return at.refuse(rawID, fmt.Errorf("%s is listed twice with different metadata", id))
	}
	return nil
}

// sameMeta compares metadata, a nil and an empty client list being equal.
func sameMeta(a, b documents.Meta) bool {
	return a.Public == b.Public && slices.Equal(a.Clients, b.Clients)
}
