// Package capture records the free-form documents clients send in capture
// mode, so that an existing API can move to trusted documents: run in capture
// mode, review what was recorded, promote it to the trusted store, switch to
// strict mode.
//
// Records live in a folder: <hash>.graphql holds the exact text and
// <hash>.json the statistics. A new document's text is written when it is
// first seen, before its request goes on, once per document; counts are kept
// in memory and flushed periodically. Every write is atomic and durable, so
// a crash loses at most one flush interval of counts, never a document that
// was answered.
//
// The recorder is bounded, because what it records is whatever clients
// send: at most Options.MaxDocuments distinct documents, each at most
// Options.MaxTextBytes long, and at most maxNames operation and client names
// per document. Documents past a bound still run; they are counted and the
// count is logged at each flush.
package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/atomicfile"
)

// maxNames bounds the operation and client names kept per document, and
// maxNameBytes their length, so that a client cycling through names cannot
// grow a record without bound.
const (
	maxNames     = 32
	maxNameBytes = 256
)

// The bounds of a Recorder whose Options leave them zero.
const (
	DefaultMaxDocuments = 100_000
	DefaultMaxTextBytes = 64 << 10
)

// Record is what is known about one captured document.
type Record struct {
	ID             documents.ID `json:"id"`
	OperationNames []string     `json:"operationNames,omitempty"`
	Clients        []string     `json:"clients,omitempty"`
	FirstSeen      time.Time    `json:"firstSeen"`
	LastSeen       time.Time    `json:"lastSeen"`
	Count          int64        `json:"count"`
}

// Options configures a Recorder. The zero value is usable.
type Options struct {
	// MaxDocuments bounds the distinct documents recorded (those already
	// in the folder count), so that a client sending random documents
	// cannot fill the disk. Zero means DefaultMaxDocuments.
	MaxDocuments int
	// MaxTextBytes bounds the length of a recorded text: a document can be
	// nearly as large as a request body while its tokens stay few (one
	// string literal is one token). Zero means DefaultMaxTextBytes.
	MaxTextBytes int
	// Logger receives the counts of documents not recorded and write
	// failures. Nil discards.
	Logger *slog.Logger
}

// Recorder records documents into a folder. It implements
// documents.Recorder.
type Recorder struct {
	dir     string
	log     *slog.Logger
	max     int
	maxText int

	// flushing serialises flushes: two running at once could write their
	// snapshots of a record in the wrong order, leaving the older count on
	// disk while the record is no longer marked changed.
	flushing sync.Mutex

	mu      sync.Mutex
	records map[documents.ID]*Record
	writing map[documents.ID]chan struct{} // texts being written at first sight; closed when done
	dirty   map[documents.ID]bool
	// Since the last flush: documents not recorded, and failed writes of
	// new texts.
	tooMany, tooLarge, failed int
	lastFailure               error
}

// Open loads the records already in dir (created if missing).
func Open(dir string, opts Options) (*Recorder, error) {
	if opts.MaxDocuments <= 0 {
		opts.MaxDocuments = DefaultMaxDocuments
	}
	if opts.MaxTextBytes <= 0 {
		opts.MaxTextBytes = DefaultMaxTextBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("documents.capture.dir: %w", err)
	}
	// A process killed mid-write leaves its temporary file behind; nothing
	// else would ever remove it.
	switch removed, err := atomicfile.CleanDir(dir, time.Now()); {
	case err != nil:
		opts.Logger.Error("capture: temporary files left by an interrupted write could not be removed", "dir", dir, "error", err)
	case removed > 0:
		opts.Logger.Warn("capture: removed temporary files left by an interrupted write", "dir", dir, "files", removed)
	}
	r := &Recorder{dir: dir, log: opts.Logger, max: opts.MaxDocuments, maxText: opts.MaxTextBytes,
		records: map[documents.ID]*Record{}, writing: map[documents.ID]chan struct{}{}, dirty: map[documents.ID]bool{}}
	recs, err := Read(dir)
	if err != nil {
		return nil, err
	}
	for i := range recs {
		r.records[recs[i].ID] = &recs[i]
	}
	return r, nil
}

// Record notes one request for a free-form document. The text of a document
// seen for the first time is written to the folder before Record returns;
// a document over a bound is only counted.
func (r *Recorder) Record(id documents.ID, text, operationName, client string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// A request for a document whose text is being written waits for it:
	// none is answered before the text is on disk.
	for done := r.writing[id]; done != nil; done = r.writing[id] {
		r.mu.Unlock()
		<-done
		r.mu.Lock()
	}
	rec, ok := r.records[id]
	if !ok {
		if rec = r.firstSight(id, text, at); rec == nil {
			return
		}
	}
	rec.Count++
	if at.After(rec.LastSeen) {
		rec.LastSeen = at
	}
	rec.OperationNames = addName(rec.OperationNames, operationName)
	rec.Clients = addName(rec.Clients, client)
	r.dirty[id] = true
}

// firstSight records a new document, writing its text (without r.mu held,
// so that other documents are not held up), and returns its record; nil if
// it is not recorded. The caller holds r.mu.
func (r *Recorder) firstSight(id documents.ID, text string, at time.Time) *Record {
	switch {
	case len(text) > r.maxText:
		r.tooLarge++
		return nil
	case len(r.records) >= r.max:
		r.tooMany++
		return nil
	}
	// The record exists before its text is on disk; Flush leaves it
	// alone, and other requests for it wait, until then.
	rec := &Record{ID: id, FirstSeen: at, LastSeen: at}
	done := make(chan struct{})
	r.records[id], r.writing[id] = rec, done
	r.mu.Unlock()
	err := atomicfile.Write(TextPath(r.dir, id), []byte(text), 0o644)
	r.mu.Lock()
	delete(r.writing, id)
	close(done)
	if err != nil {
		// Forgotten, so that the next request for it tries again.
		delete(r.records, id)
		delete(r.dirty, id)
		r.failed++
		r.lastFailure = err
		return nil
	}
	return rec
}

func addName(names []string, n string) []string {
	if n == "" || len(n) > maxNameBytes || len(names) >= maxNames || slices.Contains(names, n) {
		return names
	}
	names = append(names, n)
	sort.Strings(names)
	return names
}

// Flush writes the statistics of every changed record, each atomically and
// durably, and logs how many documents were not recorded since the last
// flush. Its error includes the new texts that could not be written.
func (r *Recorder) Flush() error {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	r.mu.Lock()
	var batch []Record
	for id := range r.dirty {
		if r.writing[id] != nil {
			continue // flushed once its text is on disk
		}
		batch = append(batch, cloneRecord(r.records[id]))
		delete(r.dirty, id)
	}
	tooMany, tooLarge, failed, lastFailure := r.tooMany, r.tooLarge, r.failed, r.lastFailure
	r.tooMany, r.tooLarge, r.failed, r.lastFailure = 0, 0, 0, nil
	r.mu.Unlock()

	if tooMany > 0 || tooLarge > 0 {
		r.log.Warn("capture: documents not recorded since the last flush; they ran",
			"over_max_documents", tooMany, "max_documents", r.max,
			"over_max_text_bytes", tooLarge, "max_text_bytes", r.maxText)
	}
	var errs []error
	if failed > 0 {
		errs = append(errs, fmt.Errorf("capture: %d new document texts could not be written (they will be tried again when next seen): %w", failed, lastFailure))
	}
	for _, rec := range batch {
		data, _ := json.MarshalIndent(rec, "", "  ")
		if err := atomicfile.Write(filepath.Join(r.dir, rec.ID.Hash()+".json"), append(data, '\n'), 0o644); err != nil {
			errs = append(errs, err)
			r.markDirty(rec.ID)
		}
	}
	return errors.Join(errs...)
}

func (r *Recorder) markDirty(id documents.ID) {
	r.mu.Lock()
	if _, ok := r.records[id]; ok {
		r.dirty[id] = true
	}
	r.mu.Unlock()
}

func cloneRecord(rec *Record) Record {
	c := *rec
	c.OperationNames = slices.Clone(rec.OperationNames)
	c.Clients = slices.Clone(rec.Clients)
	return c
}

// Run flushes every interval until ctx is done, then flushes once more.
func (r *Recorder) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := r.Flush(); err != nil {
				r.log.Error("capture: flush failed", "error", err)
			}
			return
		case <-t.C:
			if err := r.Flush(); err != nil {
				r.log.Error("capture: flush failed", "error", err)
			}
		}
	}
}

// Read lists the records in dir, most requested first. Records without their
// text (already promoted) or that do not parse are skipped. A text whose
// statistics were never flushed (the process stopped first) is listed as
// seen once, when its file was written.
func Read(dir string) ([]Record, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name()] = true
	}
	var recs []Record
	for _, e := range entries {
		var rec Record
		var ok bool
		if name, isText := strings.CutSuffix(e.Name(), ".graphql"); isText && !names[name+".json"] {
			rec, ok = unflushed(e, name)
		} else if name, isStats := strings.CutSuffix(e.Name(), ".json"); isStats && names[name+".graphql"] {
			if rec, ok, err = readStats(filepath.Join(dir, e.Name()), name); err != nil {
				return nil, err
			}
		}
		if ok {
			recs = append(recs, rec)
		}
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Count != recs[j].Count {
			return recs[i].Count > recs[j].Count
		}
		return recs[i].ID < recs[j].ID
	})
	return recs, nil
}

// readStats reads the statistics of the document whose hash is name.
func readStats(path, name string) (Record, bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Record{}, false, err
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil || rec.ID.Hash() != name || len(name) != 64 {
		return Record{}, false, nil
	}
	return rec, true, nil
}

// unflushed is the record of a text written at first sight whose statistics
// were not flushed: seen once, when the file was written.
func unflushed(e os.DirEntry, name string) (Record, bool) {
	id, err := documents.ParseID(name)
	if err != nil || id.Hash() != name || len(name) != 64 {
		return Record{}, false
	}
	info, err := e.Info()
	if err != nil {
		return Record{}, false
	}
	return Record{ID: id, FirstSeen: info.ModTime(), LastSeen: info.ModTime(), Count: 1}, true
}

// ErrNotCaptured reports an id capture mode never recorded.
var ErrNotCaptured = errors.New("not captured: `gqlguard docs captured` lists the captured documents")

// TextPath is the file a captured document's text is kept in.
func TextPath(dir string, id documents.ID) string {
	return filepath.Join(dir, id.Hash()+".graphql")
}

// Text returns a captured document's text, verified against its id.
func Text(dir string, id documents.ID) (string, error) {
	b, err := os.ReadFile(TextPath(dir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNotCaptured
	}
	if err != nil {
		return "", err
	}
	if err := id.Verify(string(b)); err != nil {
		return "", err
	}
	return string(b), nil
}

// Entries returns the captured documents ids (every captured document, most
// requested first, when ids is empty), each text verified against its id,
// for review before Promote.
func Entries(dir string, ids []documents.ID) ([]documents.Entry, error) {
	if len(ids) == 0 {
		recs, err := Read(dir)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			ids = append(ids, rec.ID)
		}
	}
	entries := make([]documents.Entry, 0, len(ids))
	for _, id := range ids {
		text, err := Text(dir, id)
		if err != nil {
			return nil, fmt.Errorf("captured document %s: %w", id, err)
		}
		entries = append(entries, documents.Entry{ID: id, Text: text})
	}
	return entries, nil
}

// Promote copies the captured documents ids (every captured document when
// ids is empty) into the trusted store in one Put, then removes them from
// the capture folder. It returns the ids promoted. Check, when not nil, is
// called with the documents first (the safety rules a registration passes);
// its error refuses them all and nothing is stored. A document promoted
// that the store already holds keeps its stored metadata.
func Promote(ctx context.Context, dir string, store documents.Store, ids []documents.ID, check func([]documents.Entry) error) ([]documents.ID, error) {
	entries, err := Entries(dir, ids)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(entries); err != nil {
			return nil, err
		}
	}
	if err := store.Put(ctx, entries); err != nil {
		return nil, err
	}
	ids = make([]documents.ID, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	for _, id := range ids {
		base := filepath.Join(dir, id.Hash())
		_ = os.Remove(base + ".json")
		_ = os.Remove(base + ".graphql")
	}
	return ids, nil
}

var _ documents.Recorder = (*Recorder)(nil)
