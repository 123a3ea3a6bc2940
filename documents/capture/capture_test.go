package capture

import (
	"context"
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

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/documents/dirstore"
	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

type store struct {
	mu sync.Mutex
	m  map[documents.ID]documents.Entry
}

func (s *store) Get(_ context.Context, id documents.ID) (documents.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok {
		return e, documents.ErrNotFound
	}
	return e, nil
}

func (s *store) Put(_ context.Context, es []documents.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		if err := e.ID.Verify(e.Text); err != nil {
			return err
		}
		s.m[e.ID] = e
	}
	return nil
}

func (s *store) List(context.Context, func(documents.Entry) error) error { return nil }

func TestRecordFlushReopenPromote(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	me, pay := "query Me { me { id } }", "mutation Pay { pay }"
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	r.Record(documents.SHA256(me), me, "Me", "web", t0)
	r.Record(documents.SHA256(me), me, "Me", "ios", t0.Add(time.Minute))
	r.Record(documents.SHA256(pay), pay, "", "", t0.Add(2*time.Minute))
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, err := Read(dir)
	if err != nil || len(recs) != 2 {
		t.Fatalf("read %d records: %v", len(recs), err)
	}
	got := recs[0]
	if got.ID != documents.SHA256(me) || got.Count != 2 || !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(time.Minute)) ||
		len(got.Clients) != 2 || got.Clients[0] != "ios" || len(got.OperationNames) != 1 {
		t.Errorf("record %+v", got)
	}
	// A new process continues the counts.
	r2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r2.Record(documents.SHA256(me), me, "Me", "web", t0.Add(time.Hour))
	if err := r2.Flush(); err != nil {
		t.Fatal(err)
	}
	if recs, _ := Read(dir); recs[0].Count != 3 || !recs[0].FirstSeen.Equal(t0) {
		t.Errorf("after reopen: %+v", recs[0])
	}

	st := &store{m: map[documents.ID]documents.Entry{}}
	ids, err := Promote(context.Background(), dir, st, []documents.ID{documents.SHA256(me)}, nil)
	if err != nil || len(ids) != 1 {
		t.Fatalf("promote: %v", err)
	}
	if e, err := st.Get(context.Background(), documents.SHA256(me)); err != nil || e.Text != me {
		t.Errorf("trusted store has %q, %v", e.Text, err)
	}
	if recs, _ := Read(dir); len(recs) != 1 || recs[0].ID != documents.SHA256(pay) {
		t.Errorf("captured after promote: %+v", recs)
	}
	if _, err := Promote(context.Background(), dir, st, nil, nil); err != nil {
		t.Fatal(err)
	}
	if recs, _ := Read(dir); len(recs) != 0 || len(st.m) != 2 {
		t.Errorf("promote --all left %d captured, store has %d", len(recs), len(st.m))
	}
}

func TestTamperedCaptureIsNotPromoted(t *testing.T) {
	dir := t.TempDir()
	r, _ := Open(dir, Options{})
	text := "{ a }"
	r.Record(documents.SHA256(text), text, "", "", time.Now())
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, documents.SHA256(text).Hash()+".graphql"), []byte("mutation { drop }"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := &store{m: map[documents.ID]documents.Entry{}}
	if _, err := Promote(context.Background(), dir, st, nil, nil); err == nil || len(st.m) != 0 {
		t.Errorf("tampered capture promoted: %v", err)
	}
}

func TestRecorderIsBounded(t *testing.T) {
	log := &logbuf.Buffer{}
	dir := t.TempDir()
	r, _ := Open(dir, Options{MaxDocuments: 2, MaxTextBytes: 16, Logger: slog.New(slog.NewTextHandler(log, nil))})
	large := "{ " + strings.Repeat("a ", 10) + "}"
	for _, q := range []string{"{ a }", large, "{ b }", "{ c }", "{ d }"} {
		r.Record(documents.SHA256(q), q, "", "", time.Now())
	}
	if len(r.records) != 2 {
		t.Errorf("recorded %d distinct documents, limit 2", len(r.records))
	}
	if _, err := os.Stat(filepath.Join(dir, documents.SHA256(large).Hash()+".graphql")); err == nil {
		t.Errorf("a text of %d bytes was recorded; the limit is 16", len(large))
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "documents not recorded") || !strings.Contains(log.String(), "over_max_documents=2") ||
		!strings.Contains(log.String(), "over_max_text_bytes=1") {
		t.Errorf("the documents not recorded were not counted in the log:\n%s", log)
	}
	// Counted per flush interval.
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "documents not recorded"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}

	// Operation and client names are bounded too.
	long := strings.Repeat("n", maxNameBytes+1)
	r.Record(documents.SHA256("{ a }"), "{ a }", long, long, time.Now())
	for i := range maxNames + 5 {
		r.Record(documents.SHA256("{ a }"), "{ a }", fmt.Sprint("Op", i), "", time.Now())
	}
	rec := r.records[documents.SHA256("{ a }")]
	if len(rec.OperationNames) != maxNames || slices.Contains(rec.OperationNames, long) || len(rec.Clients) != 0 {
		t.Errorf("record keeps %d operation names (a long one: %v) and clients %v", len(rec.OperationNames), slices.Contains(rec.OperationNames, long), rec.Clients)
	}
}

func TestNewDocumentIsDurableWhenFirstSeen(t *testing.T) {
	dir := t.TempDir()
	r, _ := Open(dir, Options{})
	text := "query Fresh { a }"
	id := documents.SHA256(text)
	r.Record(id, text, "Fresh", "web", time.Now())
	// No flush: the process may stop right after the answer.
	path := filepath.Join(dir, id.Hash()+".graphql")
	if data, err := os.ReadFile(path); err != nil || string(data) != text {
		t.Fatalf("after the first sighting, %s holds %q, %v; want the text", path, data, err)
	}
	if recs, err := Read(dir); err != nil || len(recs) != 1 || recs[0].ID != id || recs[0].Count != 1 {
		t.Errorf("a new process reads %+v, %v; want the document seen once", recs, err)
	}

	// Written once: later sightings do not touch it.
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	r.Record(id, text, "Fresh", "web", time.Now())
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || !info.ModTime().Equal(old) {
		t.Errorf("the text was written again: %v, %v", info.ModTime(), err)
	}
	if recs, _ := Read(dir); len(recs) != 1 || recs[0].Count != 2 {
		t.Errorf("after a flush: %+v, want the document seen twice", recs)
	}
}

func TestConcurrentFirstSightsWriteOneRecord(t *testing.T) {
	dir := t.TempDir()
	r, _ := Open(dir, Options{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			text := fmt.Sprintf("query Q%d { a }", i%4)
			r.Record(documents.SHA256(text), text, "", "", time.Now())
		})
		if i%5 == 0 {
			wg.Go(func() { _ = r.Flush() })
		}
	}
	wg.Wait()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, err := Read(dir)
	var total int64
	for _, rec := range recs {
		total += rec.Count
	}
	if err != nil || len(recs) != 4 || total != 16 {
		t.Errorf("Read = %d records with %d requests, %v; want 4 with 16", len(recs), total, err)
	}
}

func TestTextThatCannotBeWrittenIsTriedAgain(t *testing.T) {
	dir := t.TempDir()
	r, _ := Open(dir, Options{})
	text := "query Q { a }"
	// A folder where the text's file goes makes its write fail.
	blocker := filepath.Join(dir, documents.SHA256(text).Hash()+".graphql")
	if err := os.Mkdir(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	r.Record(documents.SHA256(text), text, "", "", time.Now())
	if err := r.Flush(); err == nil || !strings.Contains(err.Error(), "could not be written") {
		t.Errorf("Flush = %v, want the failed write reported", err)
	}
	if _, err := os.Stat(filepath.Join(dir, documents.SHA256(text).Hash()+".json")); err == nil {
		t.Error("statistics were written for a document whose text was not")
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	r.Record(documents.SHA256(text), text, "", "", time.Now())
	if recs, _ := Read(dir); len(recs) != 1 || recs[0].Count != 1 {
		t.Errorf("once the text can be written, Read = %+v; want the document seen once", recs)
	}
}

func TestPromoteKeepsTheMetadataOfATrustedDocument(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := "query Status { status }"
	id := documents.SHA256(text)
	r.Record(id, text, "Status", "", time.Now())
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	trusted, err := dirstore.Open(t.TempDir(), dirstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	public := documents.Meta{Public: true, Clients: []string{"web"}}
	if err := trusted.Put(t.Context(), []documents.Entry{{ID: id, Text: text, Meta: public}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Promote(t.Context(), dir, trusted, []documents.ID{id}, nil); err != nil {
		t.Fatal(err)
	}
	if e, err := trusted.Get(t.Context(), id); err != nil || !e.Meta.Public || !slices.Equal(e.Meta.Clients, public.Clients) {
		t.Errorf("after promoting a document the store held, Get = %+v, %v; want its metadata %+v kept", e, err, public)
	}
}

func TestPromoteRefusedByTheCheckStoresNothing(t *testing.T) {
	dir := t.TempDir()
	r, _ := Open(dir, Options{})
	good, deep := "query Good { a }", "query Deep { a { b { c } } }"
	r.Record(documents.SHA256(good), good, "", "", time.Now())
	r.Record(documents.SHA256(deep), deep, "", "", time.Now())
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	st := &store{m: map[documents.ID]documents.Entry{}}
	var checked []documents.ID
	refuse := errors.New("Deep: depth 3 > 2")
	_, err := Promote(t.Context(), dir, st, nil, func(es []documents.Entry) error {
		for _, e := range es {
			checked = append(checked, e.ID)
		}
		return refuse
	})
	if !errors.Is(err, refuse) || len(checked) != 2 {
		t.Fatalf("Promote = %v after checking %v; want the check's error after both documents", err, checked)
	}
	if len(st.m) != 0 {
		t.Errorf("a refused promotion stored %d documents", len(st.m))
	}
	if recs, _ := Read(dir); len(recs) != 2 {
		t.Errorf("a refused promotion left %d captured documents, want 2", len(recs))
	}
}

func TestEntriesOfAnIDNeverCapturedSaySo(t *testing.T) {
	_, err := Entries(t.TempDir(), []documents.ID{documents.SHA256("query Never { a }")})
	if !errors.Is(err, ErrNotCaptured) || strings.Contains(err.Error(), "no such file") {
		t.Errorf("got %v, want ErrNotCaptured without a file path", err)
	}
}

// TestNoRequestReturnsBeforeItsTextIsOnDisk: a request for a document whose
// first sighting is still being written waits for the write.
func TestNoRequestReturnsBeforeItsTextIsOnDisk(t *testing.T) {
	dir := t.TempDir()
	r, _ := Open(dir, Options{})
	text := "query Q { a }"
	id := documents.SHA256(text)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			r.Record(id, text, "", "", time.Now())
			if _, err := os.Stat(filepath.Join(dir, id.Hash()+".graphql")); err != nil {
				t.Errorf("Record returned before the text was written: %v", err)
			}
		})
	}
	wg.Wait()
}
