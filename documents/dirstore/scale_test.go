package dirstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/documents"
)

// scaleDocuments is the folder size the store is built to open quickly
// (BenchmarkOpen measures how quickly).
const scaleDocuments = 100_000

// writeFolder writes n small documents straight into dir, as CI copying a
// manifest's documents would, and returns their ids.
func writeFolder(tb testing.TB, dir string, n int) []documents.ID {
	tb.Helper()
	ids := make([]documents.ID, n)
	for i := range n {
		text := fmt.Sprintf("query Q%d($id: ID!) { node%d(id: $id) { id name } }\n", i, i)
		sum := sha256.Sum256([]byte(text))
		hash := hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(dir, hash+".graphql"), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
		ids[i] = documents.ID("sha256:" + hash)
	}
	return ids
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func TestOpenScalesTo100000Documents(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 000 files")
	}
	dir := t.TempDir()
	start := time.Now()
	ids := writeFolder(t, dir, scaleDocuments)
	t.Logf("wrote %d documents in %v", len(ids), time.Since(start))

	before := heapInUse()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	after := heapInUse()
	growth := int64(after) - int64(before)
	t.Logf("Open of %d documents: heap in use grew by %.1f MiB (%d B per document)",
		s.Count(), float64(growth)/(1<<20), growth/int64(s.Count()))
	if s.Count() != scaleDocuments {
		t.Errorf("Count = %d, want %d", s.Count(), scaleDocuments)
	}
	if growth > 64<<20 {
		t.Errorf("heap in use grew by %d MiB, want under 64 MiB", growth>>20)
	}
	if e, err := s.Get(t.Context(), ids[scaleDocuments/2]); err != nil || e.ID.Verify(e.Text) != nil {
		t.Errorf("Get = %v", err)
	}
	runtime.KeepAlive(s)
}

// BenchmarkOpen opens a folder of scaleDocuments documents: the start-up
// cost of the folder store (a listing and a stat per file, no file read).
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	writeFolder(b, dir, scaleDocuments)
	for b.Loop() {
		if _, err := Open(dir, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	dir := b.TempDir()
	ids := writeFolder(b, dir, scaleDocuments)
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	i := 0
	for b.Loop() {
		if _, err := s.Get(ctx, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
		i += 7919 // a prime: visit the folder out of order
	}
}
