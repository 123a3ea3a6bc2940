// Package docfolder writes folders of trusted documents for the load
// benchmarks, as CI copying a manifest would: one <sha256 hex>.graphql per
// text.
package docfolder

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/documents"
)

// Write writes texts into dir, one goroutine per core, and returns their
// ids. The files' and the folder's modification times are set to mtime: a
// store distrusts entries changed within two seconds of a scan and reports
// them again at its next poll, which would empty its cache during a
// measurement, so callers pass a time in the past.
func Write(dir string, texts []string, mtime time.Time) ([]documents.ID, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
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
				if err := os.Chtimes(path, mtime, mtime); err != nil {
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
	return ids, os.Chtimes(dir, mtime, mtime)
}
