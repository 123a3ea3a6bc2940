package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StaleAge is how old a temporary file of Write must be before it counts as
// left by a crash. A write in progress (in this process or another sharing
// the folder) takes milliseconds; a minute leaves no doubt.
const StaleAge = time.Minute

// tempMarker separates a temporary file's target name from its random part.
const tempMarker = ".tmp-"

// tempName is the name of a temporary file for the file base.
func tempName(base, random string) string { return "." + base + tempMarker + random }

// IsTemp reports whether name has the exact form of Write's temporary
// files: "." + target name + ".tmp-" + 26 characters of rand.Text's
// alphabet (A–Z, 2–7). Nothing else matches, so that cleaning up never
// touches a file someone else put in the folder.
func IsTemp(name string) bool {
	if len(name) < 2 || name[0] != '.' {
		return false
	}
	i := strings.LastIndex(name, tempMarker)
	if i < 2 {
		return false
	}
	random := name[i+len(tempMarker):]
	if len(random) != 26 {
		return false
	}
	for _, c := range []byte(random) {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// IsStale reports whether the entry de is a regular file in the form of
// Write's temporary files and was last modified StaleAge or more before
// now: the leftover of a process that stopped mid-write.
func IsStale(de fs.DirEntry, now time.Time) bool {
	if !de.Type().IsRegular() || !IsTemp(de.Name()) {
		return false
	}
	info, err := de.Info()
	return err == nil && now.Sub(info.ModTime()) >= StaleAge
}

// RemoveStale removes the named files of dir, which IsStale picked, and
// returns how many it removed. A file already gone counts as removed by
// someone else, not as an error.
func RemoveStale(dir string, names []string) (int, error) {
	removed := 0
	var errs []error
	for _, name := range names {
		switch err := os.Remove(filepath.Join(dir, name)); {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// CleanDir removes every stale temporary file of Write from dir and returns
// how many it removed.
func CleanDir(dir string, now time.Time) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var stale []string
	for _, de := range entries {
		if IsStale(de, now) {
			stale = append(stale, de.Name())
		}
	}
	return RemoveStale(dir, stale)
}
