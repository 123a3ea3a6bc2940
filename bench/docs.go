package main

import (
	"fmt"
	"time"

	"github.com/gqlguard/gqlguard/bench/internal/docfolder"
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

// writeStore writes a folder of trusted documents and returns their ids,
// with modification times a minute back (see docfolder.Write).
func writeStore(dir string, texts []string) ([]documents.ID, error) {
	return docfolder.Write(dir, texts, time.Now().Add(-time.Minute))
}

// generatedStore writes n generated documents into dir.
func generatedStore(dir string, n int) ([]documents.ID, error) {
	texts := make([]string, n)
	for i := range texts {
		texts[i] = storeQuery(i)
	}
	return writeStore(dir, texts)
}
