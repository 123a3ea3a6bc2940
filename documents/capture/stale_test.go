package capture

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

// A gateway killed while it records leaves the temporary files of its atomic
// writes; the next start removes them, and only them.
func TestOpenRemovesTemporaryFilesLeftByACrash(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Minute)
	stale := []string{".abc.json.tmp-ABCDEFGHIJKLMNOPQRSTUVWXYZ", ".abc.graphql.tmp-ABCDEFGHIJKLMNOPQRSTUVWX23"}
	fresh := ".def.json.tmp-ABCDEFGHIJKLMNOPQRSTUVWX45"
	for _, name := range append([]string{fresh}, stale...) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
		if name != fresh {
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	log := &logbuf.Buffer{}
	if _, err := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(log, nil))}); err != nil {
		t.Fatal(err)
	}
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s is still there (stat: %v)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, fresh)); err != nil {
		t.Errorf("a temporary file being written was removed: %v", err)
	}
	if !strings.Contains(log.String(), "removed temporary files left by an interrupted write") || !strings.Contains(log.String(), "files=2") {
		t.Errorf("the removal is not logged with its count:\n%s", log)
	}
}
