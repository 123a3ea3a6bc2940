package atomicfile

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIsTemp(t *testing.T) {
	random := rand.Text()
	tests := []struct {
		name string
		want bool
	}{
		{tempName("abc.graphql", random), true},
		{tempName("abc.json", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), true},
		{tempName("x", "23456723456723456723456723"), true},
		{"abc.graphql", false},
		{".abc.graphql", false},
		{"abc.graphql.tmp-" + random, false},                   // not hidden
		{".abc.graphql.tmp-" + random[:25], false},             // too short
		{".abc.graphql.tmp-" + random + "A", false},            // too long
		{".abc.graphql.tmp-" + strings.ToLower(random), false}, // not rand.Text's alphabet
		{".abc.graphql.tmp-ABCDEFGHIJKLMNOPQRSTUVWXY1", false},
		{"..tmp-" + random, false}, // no target name
		{".tmp-" + random, false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsTemp(tt.name); got != tt.want {
			t.Errorf("IsTemp(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCleanDirRemovesOnlyStaleTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	old := now.Add(-StaleAge - time.Second)
	files := map[string]time.Time{
		tempName("a.graphql", rand.Text()):          old,                   // left by a crash: removed
		tempName("b.json", rand.Text()):             old,                   // left by a crash: removed
		tempName("c.graphql", rand.Text()):          now.Add(-time.Second), // being written: kept
		"a.graphql":                                 old,                   // a document: kept
		".hidden.tmp-something":                     old,                   // someone else's: kept
		".d.graphql.tmp-" + strings.Repeat("a", 26): old,                   // not Write's alphabet: kept
	}
	for name, mtime := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, tempName("e", rand.Text())), 0o700); err != nil {
		t.Fatal(err) // a directory is never removed
	}
	removed, err := CleanDir(dir, now)
	if err != nil || removed != 2 {
		t.Fatalf("CleanDir = %d, %v; want 2 removed", removed, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, de := range entries {
		left = append(left, de.Name())
	}
	for name, mtime := range files {
		stale := mtime.Equal(old) && IsTemp(name)
		if kept := slices.Contains(left, name); kept == stale {
			t.Errorf("%s: kept = %v, want %v", name, kept, !stale)
		}
	}
	if len(left) != 5 {
		t.Errorf("left %v, want 4 files and the directory", left)
	}
}

func TestRemoveStaleCountsFilesAlreadyGoneAsNoError(t *testing.T) {
	removed, err := RemoveStale(t.TempDir(), []string{tempName("a", rand.Text())})
	if removed != 0 || err != nil {
		t.Errorf("RemoveStale = %d, %v; want 0, nil", removed, err)
	}
}
