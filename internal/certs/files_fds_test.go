//go:build unix

package certs

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exhaustFileDescriptors lowers the process's open-file limit and opens
// files until no descriptor is left; release closes them and restores the
// limit.
func exhaustFileDescriptors(t *testing.T) (release func()) {
	t.Helper()
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	lowered := orig
	lowered.Cur = min(orig.Cur, 256)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	var held []*os.File
	release = func() {
		for _, f := range held {
			_ = f.Close()
		}
		held = nil
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
			t.Errorf("restoring the open-file limit: %v", err)
		}
	}
	for {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			return release
		}
		if err != nil {
			release()
			t.Fatalf("opening %s: %v", os.DevNull, err)
		}
		held = append(held, f)
	}
}

// A reload that finds the process out of file descriptors says so, rather
// than blaming the files, and keeps serving; once descriptors are back, the
// files are read again and nothing more is reported about files that did
// not change.
func TestReloadOutOfFileDescriptorsSaysSo(t *testing.T) {
	now := time.Now()
	p, serial := writePair(t, t.TempDir(), "a", pairOpts{notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour)})
	f := newFileSourceFixture(t, p)

	release := exhaustFileDescriptors(t)
	err := f.src.Reload()
	release()
	if !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("Reload out of descriptors = %v, want EMFILE", err)
	}
	if n := f.count(refused); n != 1 || !strings.Contains(f.logs.String(), "out of file descriptors") {
		t.Errorf("%d refusals logged, want one saying the process is out of file descriptors:\n%s", n, f.logs)
	}
	if got := f.served(); len(got) != 1 || got[0] != serial.String() {
		t.Errorf("serving %v, want the previous %s", got, serial)
	}

	if err := f.src.Reload(); err != nil {
		t.Errorf("Reload with descriptors back: %v", err)
	}
	if n := f.count("certificate loaded"); n != 1 { // the line of the start
		t.Errorf("unchanged files reported as loaded again after descriptors came back (%d lines, want the start's only):\n%s", n, f.logs)
	}
}
