package manifest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/gqlguard/gqlguard/documents"
)

// WriteApollo writes entries as an Apollo persisted query manifest, sorted
// by id, so that the same entries always give the same bytes. Each
// operation's name and type are those of the first operation of its
// document; ids are written as Read reads them back (hash ids as bare hex
// digits, custom ids as they are). Metadata has no place in the format and
// is not written (WriteRegistration writes it). An entry whose text does not
// verify against its id, or does not parse, is an error and nothing is
// written.
func WriteApollo(w io.Writer, entries []documents.Entry) error {
	return writeApollo(w, entries, false)
}

// WriteRegistration writes the body of a registration with a gateway's
// admin API: the manifest WriteApollo writes, with the metadata of each
// entry that carries some (Entry.CarriesMeta) as gqlguard's "meta" field of
// its operation, which Read reads back. An entry that carries none has no
// meta field, so that the gateway keeps the metadata it has stored for it.
func WriteRegistration(w io.Writer, entries []documents.Entry) error {
	return writeApollo(w, entries, true)
}

func writeApollo(w io.Writer, entries []documents.Entry, withMeta bool) error {
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b documents.Entry) int { return cmp.Compare(a.ID, b.ID) })
	m := apolloManifest{Format: apolloFormat, Version: 1, Operations: make([]apolloOperation, 0, len(sorted))}
	for i, e := range sorted {
		if i > 0 && sorted[i-1].ID == e.ID {
			if sorted[i-1].Text != e.Text {
				return fmt.Errorf("manifest: %s is given twice with different texts", e.ID)
			}
			continue
		}
		op, err := apolloOperationOf(e)
		if err != nil {
			return err
		}
		if withMeta && e.CarriesMeta() {
			op.Meta = &e.Meta
		}
		m.Operations = append(m.Operations, op)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

// apolloOperationOf checks one entry and describes it as the Apollo
// manifest does.
func apolloOperationOf(e documents.Entry) (apolloOperation, error) {
	id := e.ID.Hash()
	if id == "" {
		id = string(e.ID)
	}
	if parsed, err := documents.ParseID(id); err != nil || parsed != e.ID {
		return apolloOperation{}, fmt.Errorf("manifest: %q is not a document id in canonical form", e.ID)
	}
	if err := e.ID.Verify(e.Text); err != nil {
		return apolloOperation{}, fmt.Errorf("manifest: %w", err)
	}
	doc, err := documents.Parse(e)
	if err != nil {
		return apolloOperation{}, fmt.Errorf("manifest: %s: %w", e.ID, err)
	}
	op := doc.Operations[0]
	return apolloOperation{ID: id, Name: op.Name, Type: string(op.Type), Body: e.Text}, nil
}
