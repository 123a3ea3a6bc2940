// Package capture records the free-form documents clients send in capture
// mode, so that an existing API can move to trusted documents: run in capture
// mode, review what was recorded, promote it to the trusted store, switch to
// strict mode.
//
// Records live in a folder: <hash>.graphql holds the exact text and
// <hash>.json the statistics. Counts are kept in memory and flushed
// periodically with atomic, durable writes; a crash loses at most one flush
// interval of counts, never a document.
package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// maxNames bounds the operation and client names kept per document, so that
// a client cycling through names cannot grow a record without bound.
const maxNames = 32

// Record is what is known about one captured document.
type Record struct {
	ID             documents.ID `json:"id"`
	OperationNames []string     `json:"operationNames,omitempty"`
	Clients        []string     `json:"clients,omitempty"`
	FirstSeen      time.Time    `json:"firstSeen"`
	LastSeen       time.Time    `json:"lastSeen"`
	Count          int64        `json:"count"`
}

// Recorder records documents into a folder. It implements
// documents.Recorder.
type Recorder struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	records map[documents.ID]*Record
	texts   map[documents.ID]string // documents not yet written
	dirty   map[documents.ID]bool
	max     int
}

// Open loads the records already in dir (created if missing). max bounds
// the number of distinct documents recorded (0 means 100 000): past it new
// documents are counted in the log only, so a client sending random
// documents cannot fill the disk.
func Open(dir string, max int, logger *slog.Logger) (*Recorder, error) {
	if max <= 0 {
		max = 100_000
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("documents.capture.dir: %w", err)
	}
	r := &Recorder{dir: dir, log: logger, records: map[documents.ID]*Record{}, texts: map[documents.ID]string{}, dirty: map[documents.ID]bool{}, max: max}
	recs, err := Read(dir)
	if err != nil {
		return nil, err
	}
	for i := range recs {
		r.records[recs[i].ID] = &recs[i]
	}
	return r, nil
}

// Record notes one request for a free-form document.
func (r *Recorder) Record(id documents.ID, text, operationName, client string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.records[id]
	if !ok {
		if len(r.records) >= r.max {
			r.log.Warn("capture: too many distinct documents; not recording more", "max", r.max, "id", string(id))
			return
		}
		rec = &Record{ID: id, FirstSeen: at}
		r.records[id] = rec
		r.texts[id] = text
	}
	rec.Count++
	rec.LastSeen = at
	rec.OperationNames = addName(rec.OperationNames, operationName)
	rec.Clients = addName(rec.Clients, client)
	r.dirty[id] = true
}

func addName(names []string, n string) []string {
	if n == "" || len(names) >= maxNames || slices.Contains(names, n) {
		return names
	}
	names = append(names, n)
	sort.Strings(names)
	return names
}

// Flush writes every changed record: a new document's text first, then its
// statistics, each atomically and durably.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	var batch []Record
	texts := map[documents.ID]string{}
	for id := range r.dirty {
		batch = append(batch, cloneRecord(r.records[id]))
		if t, ok := r.texts[id]; ok {
			texts[id] = t
		}
	}
	clear(r.dirty)
	r.mu.Unlock()

	var errs []error
	for _, rec := range batch {
		base := filepath.Join(r.dir, rec.ID.Hash())
		if t, ok := texts[rec.ID]; ok {
			if err := atomicfile.Write(base+".graphql", []byte(t), 0o644); err != nil {
				errs = append(errs, err)
				r.markDirty(rec.ID)
				continue
			}
			r.mu.Lock()
			delete(r.texts, rec.ID)
			r.mu.Unlock()
		}
		data, _ := json.MarshalIndent(rec, "", "  ")
		if err := atomicfile.Write(base+".json", append(data, '\n'), 0o644); err != nil {
			errs = append(errs, err)
			r.markDirty(rec.ID)
		}
	}
	return errors.Join(errs...)
}

func (r *Recorder) markDirty(id documents.ID) {
	r.mu.Lock()
	r.dirty[id] = true
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
// text (already promoted) or that do not parse are skipped.
func Read(dir string) ([]Record, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var recs []Record
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var rec Record
		if err := json.Unmarshal(data, &rec); err != nil || rec.ID.Hash() != name {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, name+".graphql")); err != nil {
			continue // promoted, or its text was never written
		}
		recs = append(recs, rec)
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Count != recs[j].Count {
			return recs[i].Count > recs[j].Count
		}
		return recs[i].ID < recs[j].ID
	})
	return recs, nil
}

// Text returns a captured document's text, verified against its id.
func Text(dir string, id documents.ID) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, id.Hash()+".graphql"))
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
