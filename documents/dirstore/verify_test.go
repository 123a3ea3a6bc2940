package dirstore

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

// waitLog waits until the log holds want.
func waitLog(t *testing.T, log *logbuf.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never held %q:\n%s", want, log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runStore runs s until the test ends, and waits for Run to return.
func runStore(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func TestEveryDocumentIsVerifiedWithoutAClientAskingForIt(t *testing.T) {
	dir := t.TempDir()
	good := entry("query Good { a }", documents.Meta{})
	victim := entry("query Victim { me { id } }", documents.Meta{})
	write := func(name, content string) {
		t.Helper()
		if err := writeFile(filepath.Join(dir, name), content); err != nil {
			t.Fatal(err)
		}
	}
	write(good.ID.Hash()+".graphql", good.Text)
	write(victim.ID.Hash()+".graphql", "mutation Evil { deleteEverything }")
	log := &logbuf.Buffer{}
	s, err := Open(dir, Options{PollInterval: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "refused") {
		t.Fatalf("Open read the documents:\n%s", log)
	}
	runStore(t, s)

	// After Open, in the background.
	waitLog(t, log, "trusted documents verified")
	logs := log.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, victim.ID.Hash()+".graphql") ||
		!strings.Contains(logs, "documents=1 refused=1") {
		t.Errorf("the verification after Open did not report the tampered file:\n%s", logs)
	}

	// A file a poll finds, in the background too.
	later := entry("query Later { a }", documents.Meta{})
	write(later.ID.Hash()+".graphql", "query Later { b }")
	waitLog(t, log, later.ID.Hash()+".graphql")
	if n := strings.Count(log.String(), "level=ERROR"); n != 2 {
		t.Errorf("%d files reported, want the 2 tampered ones once each:\n%s", n, log)
	}
	// Never served.
	for _, id := range []documents.ID{victim.ID, later.ID} {
		if _, err := s.Get(t.Context(), id); err == nil {
			t.Errorf("Get(%s) of a tampered file succeeded", id)
		}
	}
}

func TestTheFirstPollAfterOpenDoesNotScanAgain(t *testing.T) {
	f := newFixture(t, Options{})
	f.advance() // the folder's time is not too fresh to be trusted
	// The test starts the polls: Run takes each tick only after it has
	// finished the poll before, so a send that returns proves the earlier
	// polls done.
	ticks := make(chan time.Time)
	f.store.ticks = ticks
	poll := func() { ticks <- f.clock() }
	runStore(t, f.store)
	waitLog(t, f.log, "trusted documents verified")
	for range 20 + 1 { // 20 polls, fewer than fullScanEvery
		poll()
	}
	if n := strings.Count(f.log.String(), "trusted documents folder scanned"); n != 0 {
		t.Errorf("the folder was scanned %d times after Open though it did not change:\n%s", n, f.log)
	}
	// A change is still seen.
	e := entry("query Added { a }", documents.Meta{})
	f.write(t, e.ID.Hash()+".graphql", e.Text)
	poll()
	poll()
	waitLog(t, f.log, "trusted documents folder scanned")
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o644)
}
