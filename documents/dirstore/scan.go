package dirstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/atomicfile"
)

// racyWindow is how close to the time of a scan a modification time must be
// for the store to distrust it. File systems with coarse timestamps (one or
// two seconds) let a file be rewritten with the same size and modification
// time; a sidecar flipping "public" could then go unnoticed and a cache keep
// serving the old metadata. An entry seen within this window of its last
// change is reported again by the next poll after it settles.
const racyWindow = 2 * time.Second

// fullScanEvery is how many polls may be skipped, because the folder's
// modification time did not change, before a full scan runs anyway.
const fullScanEvery = 30

// stamp identifies a version of a file: a different size or modification
// time means the file changed.
type stamp struct {
	size  int64
	mtime int64 // Unix nanoseconds
}

func stampOf(info fs.FileInfo) stamp {
	return stamp{size: info.Size(), mtime: info.ModTime().UnixNano()}
}

func isRacy(info fs.FileInfo, now time.Time) bool {
	return now.Sub(info.ModTime()).Abs() < racyWindow
}

// fileState is the index entry of one document: where its files are and
// which versions of them the store last saw. It holds no document text.
type fileState struct {
	base     string // base name of the text file; "" when canonical
	metaBase string // base name of the sidecar; "" when canonical
	text     stamp
	meta     stamp
	hasText  bool
	hasMeta  bool
	racy     bool // a modification time was too recent to be trusted
}

// differs reports whether the two states name different files or versions.
func (st fileState) differs(o fileState) bool {
	st.racy, o.racy = false, false
	return st != o
}

// metaName returns the file name of id's sidecar.
func (st fileState) metaName(id documents.ID) string {
	return nameOf(id, st.metaBase) + metaExt
}

// nameOf returns the base name of a file of id: base when it is not the
// canonical one, else the canonical one.
func nameOf(id documents.ID, base string) string {
	switch {
	case base != "":
		return base
	case id.Hash() != "":
		return id.Hash()
	}
	return string(id)
}

// Run polls the folder every poll interval until ctx is done, so that files
// added, replaced or removed by another process are served (or no longer
// served) without a restart, and reports each change to the OnChange
// callbacks. A folder that cannot be read is logged and the last listing is
// kept. Run also verifies, in the background, every document when it starts
// and every document a poll finds added or changed, logging each file whose
// content is not what its name says (such a file is never served). Call it
// once; it returns when ctx is done and the verification has stopped.
//
// A poll stats every file, which costs about as much as Open (half a second
// of CPU for 100 000 documents). Files are added, replaced and removed by
// renames, which change the folder's own modification time, so a poll that
// finds the folder unchanged since the last scan (Open's, at first) and not
// changed too recently to tell is skipped; every fullScanEvery polls a full
// scan runs regardless, to catch sidecars edited in place.
func (s *Store) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.verifyInBackground(ctx) })
	ticks := s.ticks
	if ticks == nil {
		t := time.NewTicker(s.interval)
		defer t.Stop()
		ticks = t.C
	}
	var lastErr string
	skipped := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		if info, err := os.Stat(s.dir); err == nil && skipped < fullScanEvery &&
			info.ModTime().Equal(s.dirTime) && !isRacy(info, s.now()) {
			skipped++
			continue
		} else if err == nil {
			s.dirTime = info.ModTime()
		}
		skipped = 0
		err := s.Poll()
		switch {
		case err != nil && err.Error() != lastErr:
			s.log.Warn("trusted documents folder cannot be read; serving the documents listed before", "dir", s.dir, "error", err)
			lastErr = err.Error()
		case err == nil && lastErr != "":
			s.log.Info("trusted documents folder can be read again", "dir", s.dir)
			lastErr = ""
		}
	}
}

// verifyInBackground verifies every document, then those polls report,
// until ctx is done. Corrupt files are logged by the reads themselves.
func (s *Store) verifyInBackground(ctx context.Context) {
	start := time.Now()
	ok, bad := s.Verify(ctx)
	if ctx.Err() != nil {
		return
	}
	s.logUnreadable(bad)
	s.log.Info("trusted documents verified", "dir", s.dir, "documents", ok, "refused", len(bad), "duration_us", time.Since(start).Microseconds())
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		if _, failed := s.verify(ctx, s.takePending()); ctx.Err() == nil {
			s.logUnreadable(failed)
		}
	}
}

// logUnreadable logs the verification failures that are not corrupt files
// (which the store logs when it reads them): files that could not be read.
func (s *Store) logUnreadable(errs []error) {
	for _, err := range errs {
		if !errors.Is(err, ErrCorrupt) {
			s.log.Warn("trusted document file cannot be read", "dir", s.dir, "error", err)
		}
	}
}

// queueVerify hands ids to the background verification.
func (s *Store) queueVerify(ids []documents.ID) {
	if len(ids) == 0 {
		return
	}
	s.pendingMu.Lock()
	for _, id := range ids {
		s.pending[id] = struct{}{}
	}
	s.pendingMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// takePending returns and forgets the ids queued for verification.
func (s *Store) takePending() []documents.ID {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	ids := slices.Collect(maps.Keys(s.pending))
	clear(s.pending)
	return ids
}

// Poll reads the folder's listing once, updates the index and reports every
// document added, changed or removed since the last poll to the OnChange
// callbacks. Run calls it; it is exported for tools and tests.
func (s *Store) Poll() error {
	start := time.Now()
	s.writeMu.Lock()
	next, err := s.scan(nil)
	if err != nil {
		s.writeMu.Unlock()
		return err
	}
	s.mu.RLock()
	changed, added, removed, rechecked := diff(s.index, next)
	s.mu.RUnlock()
	s.mu.Lock()
	s.index = next
	s.mu.Unlock()
	// next is the live index now, which Put writes under writeMu: read it
	// before letting go.
	count := len(next)
	s.forgetReported(next)
	s.writeMu.Unlock()

	s.log.Debug("trusted documents folder scanned", "dir", s.dir, "documents", count, "duration_us", time.Since(start).Microseconds())
	// Files checked again only because they were written too recently to
	// trust their times (Put's among them) are no news.
	if len(changed) > rechecked {
		s.log.Info("trusted documents folder changed", "dir", s.dir,
			"added", added, "removed", removed, "changed", len(changed)-added-removed-rechecked, "documents", count)
	}
	s.queueVerify(changed)
	s.notify(changed)
	return nil
}

// diff returns the ids that differ between two indexes, or may: a file
// whose times were too recent to trust counts until they are not. It says
// how many of them were added, removed, and only checked again (racy,
// with the same times).
func diff(old, next map[documents.ID]fileState) (changed []documents.ID, added, removed, rechecked int) {
	for id, n := range next {
		o, ok := old[id]
		switch same := ok && !o.differs(n); {
		case !ok:
			added++
		case same && !o.racy:
			continue
		case same:
			rechecked++
		}
		changed = append(changed, id)
	}
	for id := range old {
		if _, ok := next[id]; !ok {
			removed++
			changed = append(changed, id)
		}
	}
	return changed, added, removed, rechecked
}

// forgetReported drops corrupt-file reports of files that changed or went,
// so that a file corrupted again is logged again.
func (s *Store) forgetReported(index map[documents.ID]fileState) {
	s.reportMu.Lock()
	defer s.reportMu.Unlock()
	for id, st := range s.reported {
		if cur, ok := index[id]; !ok || cur.differs(st) {
			delete(s.reported, id)
		}
	}
}

// scan builds an index from the folder's listing: one stat per file, no
// file read. With stale non-nil, it also collects there the temporary files
// a crashed write left (see atomicfile.IsStale). The caller holds writeMu.
func (s *Store) scan(stale *[]string) (map[documents.ID]fileState, error) {
	f, err := os.Open(s.dir)
	if err != nil {
		return nil, fmt.Errorf("dirstore: %w", err)
	}
	defer f.Close()
	now := s.now()
	index := make(map[documents.ID]fileState, len(s.index))
	ignored := map[string]struct{}{}
	for {
		entries, err := f.ReadDir(4096)
		for _, de := range entries {
			if stale != nil && atomicfile.IsStale(de, now) {
				*stale = append(*stale, de.Name())
				continue
			}
			if !s.add(index, de, now) {
				s.ignore(ignored, de.Name())
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("dirstore: read folder %s: %w", s.dir, err)
		}
	}
	for id, st := range index {
		switch {
		case !st.hasText:
			delete(index, id)
			s.ignore(ignored, st.metaName(id))
		case st.hasMeta && st.metaBase != st.base:
			s.ignore(ignored, st.metaName(id))
			st.hasMeta, st.meta, st.metaBase = false, stamp{}, ""
			index[id] = st
		}
	}
	s.ignored = ignored
	return index, nil
}

// add records one directory entry in index and reports whether it belongs
// to the layout. Hidden files (temporary files of atomic writes among them)
// are skipped without a report.
func (s *Store) add(index map[documents.ID]fileState, de fs.DirEntry, now time.Time) bool {
	name := de.Name()
	if strings.HasPrefix(name, ".") {
		return true
	}
	base, isText := strings.CutSuffix(name, textExt)
	if !isText {
		var isMeta bool
		if base, isMeta = strings.CutSuffix(name, metaExt); !isMeta {
			return false
		}
	}
	id, canonical, ok := parseBase(base)
	if !ok {
		return false
	}
	info, ok := s.regularFile(de)
	if !ok {
		return false
	}
	if canonical {
		base = ""
	}
	st := index[id]
	if isText {
		if st.hasText && !preferred(base, st.base) {
			return true
		}
		st.hasText, st.base, st.text = true, base, stampOf(info)
	} else {
		if st.hasMeta && !preferred(base, st.metaBase) {
			return true
		}
		st.hasMeta, st.metaBase, st.meta = true, base, stampOf(info)
	}
	st.racy = st.racy || isRacy(info, now)
	index[id] = st
	return true
}

// preferred reports whether base should win over other when two files name
// the same id (hex digits in upper and lower case): the canonical name, else
// the smaller, so that the choice does not depend on listing order.
func preferred(base, other string) bool {
	return base == "" || other != "" && base < other
}

// regularFile returns the file information of a regular file, following a
// symbolic link (a Kubernetes ConfigMap volume is a folder of links).
func (s *Store) regularFile(de fs.DirEntry) (fs.FileInfo, bool) {
	info, err := de.Info()
	if err != nil {
		return nil, false
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		if info, err = os.Stat(s.prefix + de.Name()); err != nil {
			return nil, false
		}
	}
	return info, info.Mode().IsRegular()
}

// ignore logs, once while it stays in the folder, a file the layout does
// not know.
func (s *Store) ignore(seen map[string]struct{}, name string) {
	seen[name] = struct{}{}
	if _, logged := s.ignored[name]; !logged {
		s.log.Debug("file ignored: not <hash>.graphql, x-<name>.graphql or a .json sidecar of one", "dir", s.dir, "file", name)
	}
}
