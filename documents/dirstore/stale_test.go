package dirstore

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

// A gateway killed during a registration leaves the temporary file of its
// atomic write; the next start removes it, and only it.
func TestOpenRemovesTemporaryFilesLeftByACrash(t *testing.T) {
	dir := t.TempDir()
	const text = "{ a }"
	id := documents.SHA256(text)
	stale := "." + id.Hash() + ".graphql.tmp-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	fresh := "." + id.Hash() + ".json.tmp-ABCDEFGHIJKLMNOPQRSTUVWX23"
	other := ".editor-swap.tmp-file"
	old := time.Now().Add(-2 * time.Minute)
	for name, content := range map[string]string{id.Hash() + ".graphql": text, stale: "{ a", fresh: "{", other: "x"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if name != fresh {
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	log := &logbuf.Buffer{}
	s, err := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, stale)); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there (stat: %v)", err)
	}
	for _, kept := range []string{fresh, other, id.Hash() + ".graphql"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s was removed: %v", kept, err)
		}
	}
	if !strings.Contains(log.String(), "removed temporary files left by an interrupted write") || !strings.Contains(log.String(), "files=1") {
		t.Errorf("the removal is not logged with its count:\n%s", log)
	}
	if e, err := s.Get(context.Background(), id); err != nil || e.Text != text {
		t.Errorf("Get = %q, %v", e.Text, err)
	}
}

// A start with nothing to clean says nothing about it.
func TestOpenWithoutLeftoversLogsNoRemoval(t *testing.T) {
	log := &logbuf.Buffer{}
	if _, err := Open(t.TempDir(), Options{Logger: slog.New(slog.NewTextHandler(log, nil))}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "temporary files") {
		t.Errorf("a clean folder logged a removal:\n%s", log)
	}
}
