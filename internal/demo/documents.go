package demo

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/documents/dirstore"
)

// client holds the example billing client's operations: what its build
// registers as trusted documents.
//
//go:embed client/*.graphql
var client embed.FS

// clientDocuments returns the client's documents by operation name.
func clientDocuments() (map[string]documents.Entry, error) {
	files, err := fs.Glob(client, "client/*.graphql")
	if err != nil {
		return nil, err
	}
	out := make(map[string]documents.Entry, len(files))
	for _, f := range files {
		text, err := fs.ReadFile(client, f)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(path.Base(f), ".graphql")
		// The status query is public: the login page shows it before anyone
		// signs in. Everything else needs a token.
		out[name] = documents.Entry{ID: documents.SHA256(string(text)), Text: string(text),
			Meta: documents.Meta{Clients: []string{"billing-web"}, Public: name == "Status"}}
	}
	return out, nil
}

// registerClient stores the client's documents in the folder store at dir,
// as the client's CI would with gqlguard docs push.
func registerClient(ctx context.Context, dir string) (map[string]documents.Entry, error) {
	docs, err := clientDocuments()
	if err != nil {
		return nil, err
	}
	store, err := dirstore.Open(dir, dirstore.Options{})
	if err != nil {
		return nil, fmt.Errorf("demo: trusted documents: %w", err)
	}
	entries := make([]documents.Entry, 0, len(docs))
	for _, e := range docs {
		entries = append(entries, e)
	}
	if err := store.Put(ctx, entries); err != nil {
		return nil, fmt.Errorf("demo: trusted documents: %w", err)
	}
	return docs, nil
}
