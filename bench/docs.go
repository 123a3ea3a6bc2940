package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/documents"
)

// invoicesQuery is the document every gqlguard request runs.
const invoicesQuery = "query Invoices($first: Int) { invoices(first: $first) { number amountCents status customer { name } } }"

// storeQuery returns the i-th document of a generated store: the same
// query under its own operation name, so every one has its own hash.
func storeQuery(i int) string {
	return fmt.Sprintf("query Invoices%d($first: Int) { invoices(first: $first) { number amountCents status customer { name } } }", i)
}

// requestBody is the JSON body that runs the trusted document id.
func requestBody(id documents.ID) []byte {
	return []byte(`{"documentId":"` + string(id) + `","variables":{"first":10}}`)
}

// writeStore writes a folder of trusted documents, <sha256 hex>.graphql,
// as CI copying a manifest would, and returns their ids. Modification
// times are set a minute back: the store distrusts entries changed within
// two seconds of a scan and reports them again at its next poll, which
// would empty the cache during the first measurement.
func writeStore(dir string, texts []string) ([]documents.ID, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	past := time.Now().Add(-time.Minute)
	ids := make([]documents.ID, len(texts))
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for i := w; i < len(texts); i += len(errs) {
				ids[i] = documents.SHA256(texts[i])
				path := filepath.Join(dir, ids[i].Hash()+".graphql")
				if err := os.WriteFile(path, []byte(texts[i]), 0o644); err != nil {
					errs[w] = err
					return
				}
				if err := os.Chtimes(path, past, past); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ids, os.Chtimes(dir, past, past)
}

// generatedStore writes n generated documents into dir.
func generatedStore(dir string, n int) ([]documents.ID, error) {
	texts := make([]string, n)
	for i := range texts {
		texts[i] = storeQuery(i)
	}
	return writeStore(dir, texts)
}
