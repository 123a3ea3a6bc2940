package dirstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/documents/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) documents.Store {
		s, err := Open(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// changes records the ids reported to OnChange.
type changes struct {
	mu  sync.Mutex
	ids []documents.ID
}

func (c *changes) record(id documents.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, id)
}

// take returns the ids reported since the last take.
func (c *changes) take() []documents.ID {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := c.ids
	c.ids = nil
	return ids
}

// fixture is an open store with its folder, log and change reports.
type fixture struct {
	dir     string
	store   *Store
	log     *logbuf.Buffer
	changes *changes
	now     time.Time // the store's clock; tests move it with advance
	clockMu sync.Mutex
}

// newFixture opens a store on a new folder with a clock that tests move by
// hand, and a poll interval of opts.PollInterval.
func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), log: &logbuf.Buffer{}, changes: &changes{}, now: time.Now()}
	opts.Logger = slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Now = f.clock
	s, err := Open(f.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.OnChange(f.changes.record)
	f.store = s
	return f
}

func (f *fixture) clock() time.Time {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	return f.now
}

// advance moves the store's clock past the window in which fresh
// modification times are distrusted.
func (f *fixture) advance() {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	f.now = f.now.Add(time.Hour)
}

// write writes a file into the folder as another process would.
func (f *fixture) write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) poll(t *testing.T) []documents.ID {
	t.Helper()
	if err := f.store.Poll(); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	return f.changes.take()
}

func entry(text string, meta documents.Meta) documents.Entry {
	return documents.Entry{ID: documents.SHA256(text), Text: text, Meta: meta}
}

func TestOpenCreatesTheFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "trusted")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		t.Fatalf("Stat(%s) = %v, %v; want a folder", dir, info, err)
	}
	if s.Count() != 0 {
		t.Errorf("Count = %d, want 0", s.Count())
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	if _, err := Open("", Options{}); err == nil {
		t.Error("Open with no folder succeeded")
	}
	if _, err := Open(t.TempDir(), Options{PollInterval: -time.Second}); err == nil || !strings.Contains(err.Error(), "PollInterval") {
		t.Errorf("Open with a negative poll interval = %v, want an error naming PollInterval", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file, Options{}); err == nil {
		t.Error("Open of a file succeeded, want an error")
	}
}

func TestPutWritesTheLayout(t *testing.T) {
	f := newFixture(t, Options{})
	public := entry("query Public { a }\n", documents.Meta{Public: true, Clients: []string{"web"}})
	plain := documents.Entry{ID: "x-checkout.v2", Text: "query Checkout { b }"}
	if err := f.store.Put(t.Context(), []documents.Entry{public, plain}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		public.ID.Hash() + ".graphql": public.Text,
		public.ID.Hash() + ".json":    `{"public":true,"clients":["web"]}` + "\n",
		"x-checkout.v2.graphql":       plain.Text,
	}
	assertFolder(t, f.dir, want)

	// Registered again without metadata: the sidecar stays.
	bare := documents.Entry{ID: public.ID, Text: public.Text}
	if err := f.store.Put(t.Context(), []documents.Entry{bare}); err != nil {
		t.Fatal(err)
	}
	assertFolder(t, f.dir, want)

	// Metadata given as zero removes it.
	bare.MetaGiven = true
	if err := f.store.Put(t.Context(), []documents.Entry{bare}); err != nil {
		t.Fatal(err)
	}
	delete(want, public.ID.Hash()+".json")
	assertFolder(t, f.dir, want)
}

func TestPutWithoutMetadataKeepsSidecarsWrittenByHand(t *testing.T) {
	f := newFixture(t, Options{})
	copied := entry("query Copied { a }", documents.Meta{})
	upper := entry("query Upper { a }", documents.Meta{})
	upperBase := strings.ToUpper(upper.ID.Hash())
	f.write(t, upperBase+".graphql", upper.Text)
	f.write(t, upperBase+".json", `{"public":true}`)
	f.poll(t)
	// Copied in after the last poll: the store has not seen it yet.
	f.write(t, copied.ID.Hash()+".graphql", copied.Text)
	f.write(t, copied.ID.Hash()+".json", `{"clients":["web"]}`)

	if err := f.store.Put(t.Context(), []documents.Entry{copied, upper}); err != nil {
		t.Fatal(err)
	}
	f.poll(t)
	for _, want := range []documents.Entry{
		{ID: copied.ID, Text: copied.Text, Meta: documents.Meta{Clients: []string{"web"}}},
		{ID: upper.ID, Text: upper.Text, Meta: documents.Meta{Public: true}},
	} {
		got, err := f.store.Get(t.Context(), want.ID)
		if err != nil || got.Text != want.Text || got.Meta.Public != want.Meta.Public || !slices.Equal(got.Meta.Clients, want.Meta.Clients) {
			t.Errorf("Get(%s) after a Put without metadata = %+v, %v; want the sidecar's metadata %+v", want.ID, got, err, want.Meta)
		}
	}
}

// assertFolder checks that dir holds exactly the files of want.
func assertFolder(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got[e.Name()] = string(data)
	}
	for name, content := range want {
		if got[name] != content {
			t.Errorf("%s = %q, want %q", name, got[name], content)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected file %s", name)
		}
	}
}

func TestPutOfTheSameTextDoesNotRewriteTheFile(t *testing.T) {
	f := newFixture(t, Options{})
	e := entry("{ a }", documents.Meta{})
	if err := f.store.Put(t.Context(), []documents.Entry{e}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.dir, e.ID.Hash()+".graphql")
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Put(t.Context(), []documents.Entry{e}); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || !info.ModTime().Equal(old) {
		t.Errorf("the file was rewritten: %v, %v", info.ModTime(), err)
	}
}

func TestPutReportsChanges(t *testing.T) {
	f := newFixture(t, Options{})
	e := entry("{ a }", documents.Meta{})
	if err := f.store.Put(t.Context(), []documents.Entry{e}); err != nil {
		t.Fatal(err)
	}
	if got := f.changes.take(); !slices.Equal(got, []documents.ID{e.ID}) {
		t.Errorf("OnChange after a new document = %v, want %s", got, e.ID)
	}
	e.Meta.Public = true
	if err := f.store.Put(t.Context(), []documents.Entry{e}); err != nil {
		t.Fatal(err)
	}
	if got := f.changes.take(); !slices.Equal(got, []documents.ID{e.ID}) {
		t.Errorf("OnChange after making it public = %v, want %s", got, e.ID)
	}
	if err := f.store.Put(t.Context(), []documents.Entry{e}); err != nil {
		t.Fatal(err)
	}
	if got := f.changes.take(); len(got) != 0 {
		t.Errorf("OnChange after putting the same entry again = %v, want nothing", got)
	}
}

func TestPollDoesNotReportWhatPutWrote(t *testing.T) {
	f := newFixture(t, Options{})
	f.advance() // the files Put writes are not fresh to the store's clock
	e := entry("{ a }", documents.Meta{Clients: []string{"web"}})
	if err := f.store.Put(t.Context(), []documents.Entry{e}); err != nil {
		t.Fatal(err)
	}
	f.changes.take()
	if got := f.poll(t); len(got) != 0 {
		t.Errorf("OnChange after a poll = %v, want nothing: Put recorded these files", got)
	}
}

// What Put wrote while its times were too fresh to trust is checked again
// by the next poll, but not logged as a change of the folder; a file copied
// in is logged as added.
func TestPollLogsOnlyChangesOfTheFolder(t *testing.T) {
	f := newFixture(t, Options{})
	put := entry("{ a }", documents.Meta{})
	if err := f.store.Put(t.Context(), []documents.Entry{put}); err != nil {
		t.Fatal(err)
	}
	f.changes.take()
	if got := f.poll(t); !slices.Equal(got, []documents.ID{put.ID}) {
		t.Errorf("OnChange = %v, want the fresh %s checked again", got, put.ID)
	}
	if strings.Contains(f.log.String(), "folder changed") {
		t.Errorf("a poll after Put logged a change:\n%s", f.log)
	}
	copied := entry("query Copied { a }", documents.Meta{})
	f.write(t, copied.ID.Hash()+".graphql", copied.Text)
	f.poll(t)
	if !strings.Contains(f.log.String(), "added=1 removed=0 changed=0") {
		t.Errorf("a copied file not logged as added:\n%s", f.log)
	}
}

func TestTamperedFileIsRefused(t *testing.T) {
	f := newFixture(t, Options{})
	good := entry("query Good { a }", documents.Meta{})
	victim := entry("query Victim { me { id } }", documents.Meta{Public: true})
	if err := f.store.Put(t.Context(), []documents.Entry{good, victim}); err != nil {
		t.Fatal(err)
	}
	name := victim.ID.Hash() + ".graphql"
	f.write(t, name, "mutation Evil { deleteEverything }")

	for range 2 {
		got, err := f.store.Get(t.Context(), victim.ID)
		if !errors.Is(err, ErrCorrupt) || errors.Is(err, documents.ErrNotFound) {
			t.Fatalf("Get of a tampered file = %+v, %v; want ErrCorrupt, not ErrNotFound", got, err)
		}
		if got.Text != "" {
			t.Errorf("Get of a tampered file returned text %q", got.Text)
		}
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name the file", err)
		}
	}
	logs := f.log.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, name) {
		t.Errorf("log does not report the file at ERROR:\n%s", logs)
	}
	if n := strings.Count(logs, "level=ERROR"); n != 1 {
		t.Errorf("the tampered file was logged %d times, want once", n)
	}

	var listed []documents.ID
	if err := f.store.List(t.Context(), func(e documents.Entry) error {
		listed = append(listed, e.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listed, []documents.ID{good.ID}) {
		t.Errorf("List = %v, want only %s", listed, good.ID)
	}
	ok, bad := f.store.Verify(t.Context())
	if ok != 1 || len(bad) != 1 || !errors.Is(bad[0], ErrCorrupt) {
		t.Errorf("Verify = %d, %v; want 1 and one ErrCorrupt", ok, bad)
	}
}

func TestTamperedSidecarIsRefused(t *testing.T) {
	for _, content := range []string{
		`{"public": tru`,
		`{"pubilc": true}`,
		`{"public": "yes"}`,
		`{"public": true} {"public": false}`,
	} {
		t.Run(content, func(t *testing.T) {
			f := newFixture(t, Options{})
			e := entry("{ a }", documents.Meta{Public: true})
			if err := f.store.Put(t.Context(), []documents.Entry{e}); err != nil {
				t.Fatal(err)
			}
			f.write(t, e.ID.Hash()+".json", content)
			if _, err := f.store.Get(t.Context(), e.ID); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Get with sidecar %s = %v, want ErrCorrupt", content, err)
			}
		})
	}
}

func TestFileCopiedInIsServedAfterAPoll(t *testing.T) {
	f := newFixture(t, Options{})
	e := entry("query Copied { a }\n", documents.Meta{})
	f.write(t, e.ID.Hash()+".graphql", e.Text)
	if _, err := f.store.Get(t.Context(), e.ID); !errors.Is(err, documents.ErrNotFound) {
		t.Fatalf("Get before a poll = %v, want ErrNotFound", err)
	}
	if got := f.poll(t); !slices.Equal(got, []documents.ID{e.ID}) {
		t.Errorf("OnChange = %v, want %s", got, e.ID)
	}
	got, err := f.store.Get(t.Context(), e.ID)
	if err != nil || got.Text != e.Text {
		t.Fatalf("Get after a poll = %q, %v", got.Text, err)
	}
	if f.store.Count() != 1 {
		t.Errorf("Count = %d, want 1", f.store.Count())
	}
	f.advance()
	f.poll(t) // the fresh file is reported once more once it settles
	if got := f.poll(t); len(got) != 0 {
		t.Errorf("OnChange with nothing changed = %v", got)
	}
}

func TestRunPollsTheFolder(t *testing.T) {
	f := newFixture(t, Options{PollInterval: 10 * time.Millisecond})
	seen := make(chan documents.ID, 16)
	f.store.OnChange(func(id documents.ID) { seen <- id })
	go f.store.Run(t.Context())
	e := entry("query Polled { a }", documents.Meta{})
	f.write(t, e.ID.Hash()+".graphql", e.Text)
	select {
	case id := <-seen:
		if id != e.ID {
			t.Errorf("OnChange(%s), want %s", id, e.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported within 10s")
	}
	if _, err := f.store.Get(t.Context(), e.ID); err != nil {
		t.Errorf("Get after Run saw the file: %v", err)
	}
}

func TestRemovedFileDisappears(t *testing.T) {
	f := newFixture(t, Options{})
	e := entry("query Gone { a }", documents.Meta{Public: true})
	if err := f.store.Put(t.Context(), []documents.Entry{e}); err != nil {
		t.Fatal(err)
	}
	f.changes.take()
	for _, ext := range []string{".graphql", ".json"} {
		if err := os.Remove(filepath.Join(f.dir, e.ID.Hash()+ext)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.store.Get(t.Context(), e.ID); !errors.Is(err, documents.ErrNotFound) {
		t.Errorf("Get of a removed file before a poll = %v, want ErrNotFound", err)
	}
	if got := f.poll(t); !slices.Equal(got, []documents.ID{e.ID}) {
		t.Errorf("OnChange = %v, want %s", got, e.ID)
	}
	if _, err := f.store.Get(t.Context(), e.ID); !errors.Is(err, documents.ErrNotFound) {
		t.Errorf("Get after a poll = %v, want ErrNotFound", err)
	}
	if f.store.Count() != 0 {
		t.Errorf("Count = %d, want 0", f.store.Count())
	}
}

func TestMetadataSidecar(t *testing.T) {
	f := newFixture(t, Options{})
	e := entry("query Meta { a }", documents.Meta{})
	f.write(t, e.ID.Hash()+".graphql", e.Text)
	f.write(t, e.ID.Hash()+".json", `{"public":true,"clients":["web","ios"]}`)
	f.poll(t)
	f.advance()
	f.poll(t)

	got, err := f.store.Get(t.Context(), e.ID)
	if err != nil || !got.Meta.Public || !slices.Equal(got.Meta.Clients, []string{"web", "ios"}) {
		t.Fatalf("Get = %+v, %v; want the sidecar's metadata", got.Meta, err)
	}

	f.write(t, e.ID.Hash()+".json", `{"public":false}`)
	if got := f.poll(t); !slices.Equal(got, []documents.ID{e.ID}) {
		t.Errorf("OnChange after a sidecar change = %v, want %s", got, e.ID)
	}
	if got, err := f.store.Get(t.Context(), e.ID); err != nil || got.Meta.Public {
		t.Errorf("Get after the change = %+v, %v; want not public", got.Meta, err)
	}

	if err := os.Remove(filepath.Join(f.dir, e.ID.Hash()+".json")); err != nil {
		t.Fatal(err)
	}
	if got := f.poll(t); !slices.Equal(got, []documents.ID{e.ID}) {
		t.Errorf("OnChange after removing the sidecar = %v, want %s", got, e.ID)
	}
}

// A sidecar rewritten with the same size within one tick of a coarse file
// system clock keeps its modification time; the store must still report it.
func TestRewriteWithinOneTimestampTickIsReported(t *testing.T) {
	f := newFixture(t, Options{})
	e := entry("query Racy { a }", documents.Meta{})
	f.write(t, e.ID.Hash()+".graphql", e.Text)
	sidecar := filepath.Join(f.dir, e.ID.Hash()+".json")
	f.write(t, e.ID.Hash()+".json", `{"public":true}`)
	tick := f.clock().Truncate(time.Second)
	for _, name := range []string{sidecar, filepath.Join(f.dir, e.ID.Hash()+".graphql")} {
		if err := os.Chtimes(name, tick, tick); err != nil {
			t.Fatal(err)
		}
	}
	f.poll(t)

	f.write(t, e.ID.Hash()+".json", `{"clients":[]}`) // same size, not public
	if err := os.Chtimes(sidecar, tick, tick); err != nil {
		t.Fatal(err)
	}
	f.advance()
	if got := f.poll(t); !slices.Equal(got, []documents.ID{e.ID}) {
		t.Errorf("OnChange after a rewrite in the same tick = %v, want %s", got, e.ID)
	}
	if got := f.poll(t); len(got) != 0 {
		t.Errorf("OnChange once settled = %v, want nothing", got)
	}
}

func TestUnsafeCustomIDsAreRefused(t *testing.T) {
	f := newFixture(t, Options{})
	for _, id := range []documents.ID{
		"x-../../etc/passwd",
		"x-a/b",
		`x-a\b`,
		"x-.hidden",
		"x-..",
		"x-a:b",
		"x-a*b",
		"x-a%2fb",
		"x-",
	} {
		err := f.store.Put(t.Context(), []documents.Entry{{ID: id, Text: "{ a }"}})
		if err == nil {
			t.Errorf("Put with id %q succeeded", id)
		}
	}
	assertFolder(t, f.dir, map[string]string{})
	outside, err := os.ReadDir(filepath.Dir(f.dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(outside) != 1 {
		t.Errorf("files were written next to the folder: %v", outside)
	}
}

func TestFilesOutsideTheLayoutAreIgnoredAndLoggedOnce(t *testing.T) {
	f := newFixture(t, Options{})
	e := entry("{ a }", documents.Meta{})
	f.write(t, e.ID.Hash()+".graphql", e.Text)
	for _, name := range []string{
		"README.md",
		"query.graphql",
		"x-has space.graphql",
		strings.Repeat("g", 64) + ".graphql",
		strings.Repeat("a", 63) + ".graphql",
		strings.Repeat("b", 64) + ".json", // a sidecar of no document
	} {
		f.write(t, name, "{ ignored }")
	}
	if err := os.Mkdir(filepath.Join(f.dir, strings.Repeat("c", 64)+".graphql"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.poll(t)
	f.poll(t)
	if f.store.Count() != 1 {
		t.Errorf("Count = %d, want 1", f.store.Count())
	}
	logs := f.log.String()
	for _, name := range []string{"README.md", "query.graphql", strings.Repeat("b", 64) + ".json"} {
		if n := strings.Count(logs, "file="+name); n != 1 {
			t.Errorf("%s logged %d times, want once:\n%s", name, n, logs)
		}
	}
	if strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "level=WARN") {
		t.Errorf("ignored files logged above DEBUG:\n%s", logs)
	}
}

func TestUpperCaseHexFileNamesAreServed(t *testing.T) {
	f := newFixture(t, Options{})
	e := entry("query Upper { a }", documents.Meta{})
	f.write(t, strings.ToUpper(e.ID.Hash())+".graphql", e.Text)
	f.write(t, strings.ToUpper(e.ID.Hash())+".json", `{"public":true}`)
	f.poll(t)
	got, err := f.store.Get(t.Context(), e.ID)
	if err != nil || got.Text != e.Text || !got.Meta.Public {
		t.Errorf("Get = %+v, %v", got, err)
	}
}

func TestSymbolicLinksAreFollowed(t *testing.T) {
	// A Kubernetes ConfigMap volume: each file is a link into a folder
	// that is swapped atomically on update.
	f := newFixture(t, Options{})
	v1 := entry("query V1 { a }", documents.Meta{})
	data := filepath.Join(f.dir, "..data")
	version := filepath.Join(f.dir, "..v1")
	if err := os.Mkdir(version, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(version, v1.ID.Hash()+".graphql"), []byte(v1.Text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..v1", data); err != nil {
		t.Skipf("symbolic links: %v", err)
	}
	if err := os.Symlink(filepath.Join("..data", v1.ID.Hash()+".graphql"), filepath.Join(f.dir, v1.ID.Hash()+".graphql")); err != nil {
		t.Fatal(err)
	}
	if got := f.poll(t); !slices.Equal(got, []documents.ID{v1.ID}) {
		t.Errorf("OnChange = %v, want %s", got, v1.ID)
	}
	if got, err := f.store.Get(t.Context(), v1.ID); err != nil || got.Text != v1.Text {
		t.Errorf("Get through a link = %q, %v", got.Text, err)
	}
}

func TestPutRefusesToRebindAnIDCopiedInByHand(t *testing.T) {
	f := newFixture(t, Options{})
	// Not polled yet: the index does not know the file.
	f.write(t, "x-report.graphql", "query Report { report }")
	err := f.store.Put(t.Context(), []documents.Entry{{ID: "x-report", Text: "mutation Report { deleteReport }"}})
	if !errors.Is(err, documents.ErrConflict) {
		t.Fatalf("Put = %v, want a conflict", err)
	}
	if data, _ := os.ReadFile(filepath.Join(f.dir, "x-report.graphql")); string(data) != "query Report { report }" {
		t.Errorf("the file holds %q after a refused Put", data)
	}

	// A Relay id whose file does not verify is corrupt, not registered: a
	// Put of its text repairs it.
	text := "query Relay { a }"
	relay := documents.Entry{ID: md5ID(text), Text: text}
	f.write(t, relay.ID.Hash()+".graphql", "mutation Evil { a }")
	if err := f.store.Put(t.Context(), []documents.Entry{relay}); err != nil {
		t.Fatalf("Put over a corrupt file = %v, want it replaced", err)
	}
	if got, err := f.store.Get(t.Context(), relay.ID); err != nil || got.Text != text {
		t.Errorf("Get = %q, %v; want %q", got.Text, err, text)
	}
}

func md5ID(text string) documents.ID {
	sum := md5.Sum([]byte(text))
	return documents.ID("md5:" + hex.EncodeToString(sum[:]))
}

// TestPollAndPutRunTogether registers documents while the folder is polled;
// the race detector checks that the two never touch the index at once.
func TestPollAndPutRunTogether(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			if err := s.Poll(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range 50 {
		text := fmt.Sprintf("query Q%d { a }", i)
		if err := s.Put(context.Background(), []documents.Entry{{ID: documents.SHA256(text), Text: text}}); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if n := s.Count(); n != 50 {
		t.Errorf("%d documents, want 50", n)
	}
}
