// Package dirstore is the embedded default documents.Store: a folder of
// trusted documents, one file per document, that CI or an operator fills and
// the gateway watches.
//
// The layout is one file per document named after its id, holding the exact
// document text:
//
//	<64 hex>.graphql    a document keyed by its SHA-256 (sha256:<hex>)
//	<40 hex>.graphql    a Relay id, SHA-1
//	<32 hex>.graphql    a Relay id, MD5
//	x-<name>.graphql    a custom id; name is made of [A-Za-z0-9._-] and does
//	                    not start with a dot
//
// and, optionally, a metadata sidecar with the same base name, <base>.json,
// holding documents.Meta as JSON: {"public":true,"clients":["web"]}. Other
// files are ignored.
//
// Opening a folder reads its listing only, so that a folder of 100 000
// documents opens in well under a second: the store keeps an index of id,
// file name, size and modification time, and reads and verifies a document
// each time Get asks for it. It never keeps document text in memory; callers
// cache parsed documents. Run polls the folder, so files copied in by another
// process are served without a restart, and verifies every document in the
// background (all of them when it starts, then those each poll finds added
// or changed), so that a corrupt file is logged when it appears, not only
// when a client asks for it.
//
// The folder is trusted like configuration: whoever can write to it decides
// which documents run. Hash ids are checked against the text on every read,
// so a file altered by accident or by a tool is refused; a custom id cannot
// be checked. On a case-insensitive file system, custom ids that differ
// only in case share a file; do not use such ids there.
//
// The store is not for folders shared by several replicas over a network
// file system: use a shared store (Redis, PostgreSQL) for that.
package dirstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/atomicfile"
)

// ErrCorrupt is wrapped by errors for a file whose content is not what its
// name says: a document text that does not hash to the id its file name
// gives, or a metadata sidecar that is not valid JSON of documents.Meta. Such
// an entry is never returned; the store logs it at ERROR level.
var ErrCorrupt = documents.ErrCorrupt

// DefaultPollInterval is how often Run checks the folder when
// Options.PollInterval is zero.
const DefaultPollInterval = 2 * time.Second

// Options configures a Store. The zero value is usable.
type Options struct {
	// PollInterval is how often Run checks the folder for changes.
	// Zero means DefaultPollInterval.
	PollInterval time.Duration
	// Logger receives corrupt files (ERROR), changes seen by a poll
	// (INFO) and ignored files (DEBUG). Nil discards.
	Logger *slog.Logger
	// Now is the clock used to tell modification times too recent to be
	// trusted. Nil means time.Now.
	Now func() time.Time
}

// Store is a folder of trusted documents. It is safe for concurrent use.
type Store struct {
	dir      string
	prefix   string // dir followed by a path separator
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	// writeMu serialises Put and Poll, the only writers of the folder
	// (in this process) and of the index.
	writeMu sync.Mutex
	ignored map[string]struct{} // names already logged as ignored; guarded by writeMu

	mu    sync.RWMutex
	index map[documents.ID]fileState

	reportMu sync.Mutex
	reported map[documents.ID]fileState // corrupt files logged, by the state logged

	cbMu      sync.Mutex
	callbacks []func(documents.ID)

	// dirTime is the folder's modification time when it was last scanned;
	// set by Open, then used by Run only.
	dirTime time.Time
	// ticks, when set before Run, starts Run's polls in place of a ticker
	// of interval, so that tests count them.
	ticks <-chan time.Time

	// pending holds the ids a poll found added or changed, for the
	// verifier Run starts; wake tells it there are some.
	pendingMu sync.Mutex
	pending   map[documents.ID]struct{}
	wake      chan struct{}
}

// Open opens the folder dir as a store, creating it (mode 0755) if it is
// missing. It reads the folder's listing, not the documents.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("dirstore: no folder given")
	}
	if opts.PollInterval < 0 {
		return nil, fmt.Errorf("dirstore: PollInterval must be positive, not %v", opts.PollInterval)
	}
	s := &Store{
		dir:      dir,
		prefix:   dir + string(os.PathSeparator),
		interval: opts.PollInterval,
		log:      opts.Logger,
		now:      opts.Now,
		ignored:  map[string]struct{}{},
		reported: map[documents.ID]fileState{},
		pending:  map[documents.ID]struct{}{},
		wake:     make(chan struct{}, 1),
	}
	if s.interval == 0 {
		s.interval = DefaultPollInterval
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dirstore: %w", err)
	}
	start := time.Now()
	// The folder's time is read before its listing, so that a change made
	// while it is read shows in the next poll.
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("dirstore: %w", err)
	}
	var stale []string
	index, err := s.scan(&stale)
	if err != nil {
		return nil, err
	}
	s.index, s.dirTime = index, info.ModTime()
	s.log.Info("trusted documents folder opened", "dir", dir, "documents", len(index), "duration_us", time.Since(start).Microseconds())
	// A process killed mid-write leaves its temporary file behind; nothing
	// else would ever remove it.
	if len(stale) > 0 {
		removed, err := atomicfile.RemoveStale(dir, stale)
		if removed > 0 {
			s.log.Warn("removed temporary files left by an interrupted write", "dir", dir, "files", removed)
		}
		if err != nil {
			s.log.Error("temporary files left by an interrupted write could not be removed", "dir", dir, "error", err)
		}
	}
	return s, nil
}

// Get returns the document stored under id, read from its file and verified
// against id. An unknown id, or a file removed since the last poll, is an
// error wrapping documents.ErrNotFound; a file whose text does not hash to
// id is an error wrapping ErrCorrupt.
func (s *Store) Get(ctx context.Context, id documents.ID) (documents.Entry, error) {
	if err := ctx.Err(); err != nil {
		return documents.Entry{}, err
	}
	s.mu.RLock()
	st, ok := s.index[id]
	s.mu.RUnlock()
	if !ok {
		return documents.Entry{}, fmt.Errorf("dirstore: %s: %w", id, documents.ErrNotFound)
	}
	return s.read(id, st)
}

// read reads and verifies the files of one index entry.
func (s *Store) read(id documents.ID, st fileState) (documents.Entry, error) {
	path := s.prefix + nameOf(id, st.base) + textExt
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return documents.Entry{}, fmt.Errorf("dirstore: %s: the file %s was removed: %w", id, path, documents.ErrNotFound)
	}
	if err != nil {
		return documents.Entry{}, fmt.Errorf("dirstore: %w", err)
	}
	text := string(data)
	if err := id.Verify(text); err != nil {
		return documents.Entry{}, s.corrupt(id, st, path, err)
	}
	e := documents.Entry{ID: id, Text: text}
	if !st.hasMeta {
		return e, nil
	}
	e.MetaGiven = true
	path = s.prefix + nameOf(id, st.metaBase) + metaExt
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		// Removed since the last poll: no metadata, so not public.
		e.MetaGiven = false
		return e, nil
	}
	if err != nil {
		return documents.Entry{}, fmt.Errorf("dirstore: %w", err)
	}
	if e.Meta, err = decodeMeta(data); err != nil {
		return documents.Entry{}, s.corrupt(id, st, path, err)
	}
	return e, nil
}

// corrupt logs a file that does not match its id (or a sidecar that is not
// metadata), once per version of the file, and returns the error Get
// reports.
func (s *Store) corrupt(id documents.ID, st fileState, path string, cause error) error {
	s.reportMu.Lock()
	logged, ok := s.reported[id]
	if !ok || logged != st {
		s.reported[id] = st
	}
	s.reportMu.Unlock()
	if !ok || logged != st {
		s.log.Error("trusted document file refused: its content is not what its name says",
			"file", path, "id", id, "error", cause)
	}
	return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, cause)
}

// Put verifies every entry and then writes each to its file, so that a
// batch with an entry whose text does not hash to its id stores nothing. A
// text already on disk is not written again. The metadata of an entry that
// carries some is written to the sidecar, which is removed when the
// metadata becomes zero; the sidecar of an entry that carries none is left
// as it is. Each file is
// replaced atomically and flushed to disk with its directory; an I/O error
// part way through leaves the entries before it stored, each one whole.
// Entries that changed are reported to the OnChange callbacks. An entry
// whose id the folder holds with another text is refused with a
// *documents.ConflictError before anything is written.
func (s *Store) Put(ctx context.Context, entries []documents.Entry) error {
	bases := make([]string, len(entries))
	for i, e := range entries {
		base, err := baseFor(e.ID)
		if err != nil {
			return fmt.Errorf("%w; nothing was stored", err)
		}
		if err := e.ID.Verify(e.Text); err != nil {
			return fmt.Errorf("dirstore: %w; nothing was stored", err)
		}
		bases[i] = base
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.writeMu.Lock()
	if err := s.conflicts(entries, bases); err != nil {
		s.writeMu.Unlock()
		return err
	}
	changed, err := s.write(entries, bases)
	s.writeMu.Unlock()
	s.notify(changed)
	return err
}

// conflicts refuses entries whose ids the folder holds with another text,
// or that the batch lists with two texts. A SHA-256 id is its text, so only
// custom and Relay ids are read; a stored file that does not verify against
// its (Relay) id is corrupt, and may be replaced. The files are read, not
// the index, so that a file copied in since the last poll counts too. The
// caller holds writeMu.
func (s *Store) conflicts(entries []documents.Entry, bases []string) error {
	var ids []documents.ID
	texts := make(map[documents.ID]string, len(entries))
	for i, e := range entries {
		if text, dup := texts[e.ID]; dup {
			if text != e.Text && !slices.Contains(ids, e.ID) {
				ids = append(ids, e.ID)
			}
			continue
		}
		texts[e.ID] = e.Text
		if strings.HasPrefix(string(e.ID), "sha256:") {
			continue
		}
		conflict, err := s.storedElsewhere(e, bases[i])
		if err != nil {
			return err
		}
		if conflict {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) > 0 {
		return fmt.Errorf("dirstore: nothing was stored: %w", &documents.ConflictError{IDs: ids})
	}
	return nil
}

// storedElsewhere reports whether the folder holds e's id with another
// text that verifies against it: in its canonical file, or in the file the
// index names (hex digits in upper case).
func (s *Store) storedElsewhere(e documents.Entry, base string) (bool, error) {
	names := []string{base}
	s.mu.RLock()
	if st, ok := s.index[e.ID]; ok && st.base != "" {
		names = append(names, st.base)
	}
	s.mu.RUnlock()
	for _, name := range names {
		data, err := os.ReadFile(s.prefix + name + textExt)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("dirstore: %w", err)
		}
		if string(data) != e.Text && e.ID.Verify(string(data)) == nil {
			return true, nil
		}
	}
	return false, nil
}

// write stores verified entries under writeMu and returns the ids whose
// text or metadata changed.
func (s *Store) write(entries []documents.Entry, bases []string) ([]documents.ID, error) {
	var changed []documents.ID
	for i, e := range entries {
		textChanged, err := s.writeText(bases[i], e.Text)
		if err != nil {
			return changed, err
		}
		metaChanged, err := s.putMeta(bases[i], e)
		if err != nil {
			return changed, err
		}
		st, err := s.statWritten(bases[i])
		if err != nil {
			return changed, err
		}
		s.mu.Lock()
		old, had := s.index[e.ID]
		s.index[e.ID] = st
		s.mu.Unlock()
		if textChanged || metaChanged || !had || old.differs(st) {
			changed = append(changed, e.ID)
		}
	}
	return changed, nil
}

// statWritten returns the index state of files Put has just written: the
// text, and the sidecar if there is one.
func (s *Store) statWritten(base string) (fileState, error) {
	now := s.now()
	info, err := os.Stat(s.prefix + base + textExt)
	if err != nil {
		return fileState{}, fmt.Errorf("dirstore: %w", err)
	}
	st := fileState{hasText: true, text: stampOf(info)}
	st.racy = isRacy(info, now)
	info, err = os.Stat(s.prefix + base + metaExt)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return st, nil
	case err != nil:
		return fileState{}, fmt.Errorf("dirstore: %w", err)
	}
	st.hasMeta, st.meta = true, stampOf(info)
	st.racy = st.racy || isRacy(info, now)
	return st, nil
}

// List calls fn with every document, read and verified. Files that do not
// match their id are skipped (and logged); documents removed while List runs
// are skipped. It stops at the first error of fn, of ctx or of reading.
func (s *Store) List(ctx context.Context, fn func(documents.Entry) error) error {
	for _, id := range s.ids() {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := s.Get(ctx, id)
		switch {
		case errors.Is(err, documents.ErrNotFound), errors.Is(err, ErrCorrupt):
			continue
		case err != nil:
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Verify reads and verifies every document of the index, in id order. It
// returns how many verified and an error for each that did not (wrapping
// ErrCorrupt for a file that does not match its id). A cancelled ctx ends it
// with ctx's error as the last of bad.
func (s *Store) Verify(ctx context.Context) (ok int, bad []error) {
	ids := s.ids()
	slices.Sort(ids)
	return s.verify(ctx, ids)
}

// verify reads and verifies the documents ids, as Verify describes; an id
// no longer in the folder is skipped.
func (s *Store) verify(ctx context.Context, ids []documents.ID) (ok int, bad []error) {
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return ok, append(bad, err)
		}
		_, err := s.Get(ctx, id)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, documents.ErrNotFound):
			// Removed while verifying.
		default:
			bad = append(bad, err)
		}
	}
	return ok, bad
}

// Count returns the number of documents in the index.
func (s *Store) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.index)
}

// Dir returns the folder the store serves.
func (s *Store) Dir() string { return s.dir }

// OnChange registers fn to be called with the id of every document that was
// added, changed or removed, whether by Put or by another process (seen by a
// poll). fn is called from the goroutine that made or saw the change, never
// with a lock of the store held. A document may be reported more often than
// it changed, never less.
func (s *Store) OnChange(fn func(documents.ID)) {
	s.cbMu.Lock()
	defer s.cbMu.Unlock()
	s.callbacks = append(s.callbacks, fn)
}

func (s *Store) notify(ids []documents.ID) {
	if len(ids) == 0 {
		return
	}
	s.cbMu.Lock()
	fns := slices.Clone(s.callbacks)
	s.cbMu.Unlock()
	for _, fn := range fns {
		for _, id := range ids {
			fn(id)
		}
	}
}

// ids returns a snapshot of the indexed ids.
func (s *Store) ids() []documents.ID {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Collect(maps.Keys(s.index))
}

var _ documents.Store = (*Store)(nil)

var _ documents.Notifier = (*Store)(nil)
