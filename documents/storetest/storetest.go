// Package storetest is the conformance suite every documents.Store passes.
//
// A store's own tests call Run with a constructor that returns a fresh, empty
// store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) documents.Store { return open(t) })
//	}
//
// The suite checks the behaviour the resolver relies on; it does not check
// durability across restarts or change notifications, which each store tests
// in its own way.
package storetest

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gqlguard/gqlguard/documents"
)

// Run runs the conformance suite against the stores newStore returns. Each
// subtest calls newStore once and expects an empty store.
func Run(t *testing.T, newStore func(t *testing.T) documents.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s documents.Store)
	}{
		{"put then get returns the exact text and metadata", testPutGet},
		{"get of an unknown id is not found", testGetUnknown},
		{"a batch with a text that does not hash to its id stores nothing", testBatchAtomic},
		{"an id that is not in canonical form is refused", testNonCanonicalID},
		{"put is idempotent", testIdempotent},
		{"put replaces metadata", testReplaceMeta},
		{"put of an entry without metadata keeps the stored metadata", testKeepMeta},
		{"list visits every entry once", testListOnce},
		{"custom x- ids round-trip", testCustomID},
		{"a registered custom id is never re-bound to another text", testCustomIDConflict},
		{"md5 and sha1 relay ids verify", testRelayIDs},
		{"concurrent puts and gets are race-free", testConcurrent},
		{"list honours context cancellation", testListCancel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// sha256Entry returns an entry keyed by the SHA-256 of text.
func sha256Entry(text string, meta documents.Meta) documents.Entry {
	return documents.Entry{ID: documents.SHA256(text), Text: text, Meta: meta}
}

func md5ID(text string) documents.ID {
	s := md5.Sum([]byte(text))
	return documents.ID("md5:" + hex.EncodeToString(s[:]))
}

func sha1ID(text string) documents.ID {
	s := sha1.Sum([]byte(text))
	return documents.ID("sha1:" + hex.EncodeToString(s[:]))
}

// mustPut stores entries or ends the test.
func mustPut(t *testing.T, s documents.Store, entries ...documents.Entry) {
	t.Helper()
	if err := s.Put(t.Context(), entries); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

// wantEntry checks that id is stored as want, text byte for byte.
func wantEntry(t *testing.T, s documents.Store, want documents.Entry) {
	t.Helper()
	got, err := s.Get(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("Get(%s): %v", want.ID, err)
	}
	if got.ID != want.ID {
		t.Errorf("Get(%s).ID = %s", want.ID, got.ID)
	}
	if got.Text != want.Text {
		t.Errorf("Get(%s).Text = %q, want %q", want.ID, got.Text, want.Text)
	}
	if !sameMeta(got.Meta, want.Meta) {
		t.Errorf("Get(%s).Meta = %+v, want %+v", want.ID, got.Meta, want.Meta)
	}
}

// wantNotFound checks that id is not stored.
func wantNotFound(t *testing.T, s documents.Store, id documents.ID) {
	t.Helper()
	_, err := s.Get(t.Context(), id)
	if !errors.Is(err, documents.ErrNotFound) {
		t.Errorf("Get(%s) error = %v, want one wrapping documents.ErrNotFound", id, err)
	}
}

// sameMeta compares metadata, a nil and an empty client list being equal.
func sameMeta(a, b documents.Meta) bool {
	return a.Public == b.Public && slices.Equal(a.Clients, b.Clients)
}

// listed returns how many times List visited each id.
func listed(t *testing.T, s documents.Store) map[documents.ID]int {
	t.Helper()
	seen := map[documents.ID]int{}
	err := s.List(t.Context(), func(e documents.Entry) error {
		seen[e.ID]++
		if err := e.ID.Verify(e.Text); err != nil {
			t.Errorf("List returned an entry that does not verify: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return seen
}

func testPutGet(t *testing.T, s documents.Store) {
	entries := []documents.Entry{
		sha256Entry("query Me { me { id } }", documents.Meta{}),
		sha256Entry("query Trailing { a }\n\n", documents.Meta{Public: true}),
		sha256Entry("query Unicode { search(q: \"héllo ☃ 🎉\") { id } }\r\n", documents.Meta{Clients: []string{"web@1.4.2", "ios@3.0.0"}}),
		sha256Entry("\ufeff# a comment with a byte order mark\n{ a }", documents.Meta{Public: true, Clients: []string{"web"}}),
		sha256Entry("  query Spaces {  a  }\t", documents.Meta{}),
	}
	mustPut(t, s, entries...)
	for _, e := range entries {
		wantEntry(t, s, e)
	}
}

func testGetUnknown(t *testing.T, s documents.Store) {
	mustPut(t, s, sha256Entry("{ known }", documents.Meta{}))
	wantNotFound(t, s, documents.SHA256("{ unknown }"))
	wantNotFound(t, s, md5ID("{ unknown }"))
	wantNotFound(t, s, "x-unknown")
}

func testBatchAtomic(t *testing.T, s documents.Store) {
	good1 := sha256Entry("query One { a }", documents.Meta{})
	good2 := sha256Entry("query Two { b }", documents.Meta{Public: true})
	bad := documents.Entry{ID: documents.SHA256("query Three { c }"), Text: "query Three { c } # tampered"}
	if err := s.Put(t.Context(), []documents.Entry{good1, good2, bad}); err == nil {
		t.Fatal("Put of a batch with a tampered entry succeeded")
	}
	badMD5 := documents.Entry{ID: md5ID("{ d }"), Text: "{ e }"}
	if err := s.Put(t.Context(), []documents.Entry{good1, badMD5}); err == nil {
		t.Fatal("Put of a batch with a tampered md5 entry succeeded")
	}
	for _, id := range []documents.ID{good1.ID, good2.ID, bad.ID, badMD5.ID} {
		wantNotFound(t, s, id)
	}
	if seen := listed(t, s); len(seen) != 0 {
		t.Errorf("List after refused batches = %v, want nothing", seen)
	}
}

func testNonCanonicalID(t *testing.T, s documents.Store) {
	text := "{ a }"
	hash := documents.SHA256(text).Hash()
	for _, id := range []documents.ID{
		documents.ID(hash),                       // bare hex: ParseID's job, not the store's
		documents.ID("sha256:" + upper(hash)),    // not lower case
		documents.ID("SHA256:" + hash),           // unknown algorithm spelling
		documents.ID("sha512:" + hash + hash),    // unknown algorithm
		"",                                       // empty
		documents.ID("x-with space"),             // not an id ParseID accepts
		documents.ID("../" + hash),               // not an id at all
		documents.ID(fmt.Sprintf("x-%0129d", 0)), // longer than a custom id may be
	} {
		if err := s.Put(t.Context(), []documents.Entry{{ID: id, Text: "{ tampered }"}}); err == nil {
			t.Errorf("Put with id %q succeeded, want it refused", id)
		}
	}
	if seen := listed(t, s); len(seen) != 0 {
		t.Errorf("List after refused ids = %v, want nothing", seen)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func testIdempotent(t *testing.T, s documents.Store) {
	batch := []documents.Entry{
		sha256Entry("query A { a }", documents.Meta{}),
		sha256Entry("query B { b }", documents.Meta{Public: true, Clients: []string{"web"}}),
		{ID: md5ID("query C { c }"), Text: "query C { c }"},
	}
	mustPut(t, s, batch...)
	mustPut(t, s, batch...)
	seen := listed(t, s)
	if len(seen) != len(batch) {
		t.Errorf("List after putting the same batch twice = %v, want %d entries", seen, len(batch))
	}
	for _, e := range batch {
		if seen[e.ID] != 1 {
			t.Errorf("List visited %s %d times, want once", e.ID, seen[e.ID])
		}
		wantEntry(t, s, e)
	}
}

func testReplaceMeta(t *testing.T, s documents.Store) {
	e := sha256Entry("query Flip { a }", documents.Meta{Public: true, Clients: []string{"web"}})
	mustPut(t, s, e)
	wantEntry(t, s, e)

	e.Meta = documents.Meta{Clients: []string{"ios"}}
	mustPut(t, s, e)
	wantEntry(t, s, e)

	// Metadata given as zero clears what was stored.
	e.Meta, e.MetaGiven = documents.Meta{}, true
	mustPut(t, s, e)
	wantEntry(t, s, e)

	e.Meta, e.MetaGiven = documents.Meta{Public: true}, false
	mustPut(t, s, e)
	wantEntry(t, s, e)
	if seen := listed(t, s); len(seen) != 1 || seen[e.ID] != 1 {
		t.Errorf("List = %v, want %s once", seen, e.ID)
	}
}

func testKeepMeta(t *testing.T, s documents.Store) {
	public := sha256Entry("query Status { status }", documents.Meta{Public: true, Clients: []string{"web"}})
	relay := documents.Entry{ID: md5ID("query Relay { a }"), Text: "query Relay { a }", Meta: documents.Meta{Clients: []string{"relay"}}}
	custom := documents.Entry{ID: "x-custom", Text: "query Custom { a }", Meta: documents.Meta{Public: true}}
	plain := sha256Entry("query Plain { a }", documents.Meta{})
	mustPut(t, s, public, relay, custom, plain)

	// The same documents again, as a manifest without metadata lists them.
	var bare []documents.Entry
	for _, e := range []documents.Entry{public, relay, custom, plain} {
		bare = append(bare, documents.Entry{ID: e.ID, Text: e.Text})
	}
	for range 2 {
		mustPut(t, s, bare...)
		for _, e := range []documents.Entry{public, relay, custom, plain} {
			wantEntry(t, s, e)
		}
	}
	// A new document without metadata has none.
	fresh := sha256Entry("query Fresh { a }", documents.Meta{})
	mustPut(t, s, fresh)
	wantEntry(t, s, fresh)
}

func testListOnce(t *testing.T, s documents.Store) {
	want := map[documents.ID]documents.Entry{}
	var batch []documents.Entry
	for i := range 50 {
		e := sha256Entry(fmt.Sprintf("query Q%d { f%d }", i, i), documents.Meta{Public: i%2 == 0})
		batch = append(batch, e)
		want[e.ID] = e
	}
	mustPut(t, s, batch[:20]...)
	mustPut(t, s, batch[20:]...)
	seen := map[documents.ID]int{}
	err := s.List(t.Context(), func(got documents.Entry) error {
		seen[got.ID]++
		w, ok := want[got.ID]
		switch {
		case !ok:
			t.Errorf("List returned unknown id %s", got.ID)
		case got.Text != w.Text || !sameMeta(got.Meta, w.Meta):
			t.Errorf("List returned %+v, want %+v", got, w)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("List visited %s %d times, want once", id, seen[id])
		}
	}

	stop := errors.New("stop")
	calls := 0
	err = s.List(t.Context(), func(documents.Entry) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with a callback that fails = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func testCustomID(t *testing.T, s documents.Store) {
	entries := []documents.Entry{
		{ID: "x-checkout", Text: "query Checkout { cart { total } }\n"},
		{ID: "x-web_1.4.2-Search", Text: "query Search($q: String!) { search(q: $q) { id } }", Meta: documents.Meta{Public: true}},
	}
	for _, e := range entries {
		if id, err := documents.ParseID(string(e.ID)); err != nil || id != e.ID {
			t.Fatalf("ParseID(%q) = %q, %v", e.ID, id, err)
		}
	}
	mustPut(t, s, entries...)
	for _, e := range entries {
		wantEntry(t, s, e)
	}
	seen := listed(t, s)
	for _, e := range entries {
		if seen[e.ID] != 1 {
			t.Errorf("List visited %s %d times, want once", e.ID, seen[e.ID])
		}
	}
}

func testCustomIDConflict(t *testing.T, s documents.Store) {
	checkout := documents.Entry{ID: "x-checkout", Text: "query Checkout { cart { total } }", Meta: documents.Meta{Public: true}}
	mustPut(t, s, checkout)
	// A custom id vouches for nothing but the store: once registered, it
	// names its text for good.
	rebound := documents.Entry{ID: "x-checkout", Text: "mutation Checkout { emptyCart }"}
	fresh := sha256Entry("query Fresh { a }", documents.Meta{})
	err := s.Put(t.Context(), []documents.Entry{fresh, rebound})
	var conflict *documents.ConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, documents.ErrConflict) || !slices.Equal(conflict.IDs, []documents.ID{"x-checkout"}) {
		t.Fatalf("Put re-binding x-checkout = %v, want a *documents.ConflictError naming it", err)
	}
	wantEntry(t, s, checkout)
	wantNotFound(t, s, fresh.ID)

	// One batch cannot list an id with two texts either.
	err = s.Put(t.Context(), []documents.Entry{{ID: "x-twice", Text: "{ a }"}, {ID: "x-twice", Text: "{ b }"}})
	if !errors.As(err, &conflict) || !slices.Equal(conflict.IDs, []documents.ID{"x-twice"}) {
		t.Errorf("Put listing x-twice with two texts = %v, want a *documents.ConflictError naming it", err)
	}
	wantNotFound(t, s, "x-twice")

	// The same text again is idempotent.
	mustPut(t, s, documents.Entry{ID: checkout.ID, Text: checkout.Text}, fresh)
	wantEntry(t, s, checkout)
	wantEntry(t, s, fresh)
}

func testRelayIDs(t *testing.T, s documents.Store) {
	md5Text := "query RelayMD5 { viewer { id } }"
	sha1Text := "query RelaySHA1 { viewer { name } }\n"
	entries := []documents.Entry{
		{ID: md5ID(md5Text), Text: md5Text},
		{ID: sha1ID(sha1Text), Text: sha1Text, Meta: documents.Meta{Clients: []string{"relay"}}},
	}
	for _, e := range entries {
		if id, err := documents.ParseID(e.ID.Hash()); err != nil || id != e.ID {
			t.Fatalf("ParseID(%q) = %q, %v; want %q", e.ID.Hash(), id, err, e.ID)
		}
	}
	mustPut(t, s, entries...)
	for _, e := range entries {
		wantEntry(t, s, e)
	}
	for _, bad := range []documents.Entry{
		{ID: md5ID(md5Text), Text: md5Text + " "},
		{ID: sha1ID(sha1Text), Text: "query RelaySHA1 { viewer { id } }\n"},
	} {
		if err := s.Put(t.Context(), []documents.Entry{bad}); err == nil {
			t.Errorf("Put of a %s id with another text succeeded", bad.ID)
		}
	}
	for _, e := range entries {
		wantEntry(t, s, e)
	}
}

func testConcurrent(t *testing.T, s documents.Store) {
	shared := sha256Entry("query Shared { a }", documents.Meta{Public: true})
	mustPut(t, s, shared)
	const workers, perWorker = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ctx := t.Context()
			for i := range perWorker {
				e := sha256Entry(fmt.Sprintf("query W%dI%d { a }", w, i), documents.Meta{Public: i%2 == 0})
				if err := s.Put(ctx, []documents.Entry{e, shared}); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				if got, err := s.Get(ctx, e.ID); err != nil || got.Text != e.Text {
					t.Errorf("Get(%s) = %q, %v; want %q", e.ID, got.Text, err, e.Text)
				}
				if got, err := s.Get(ctx, shared.ID); err != nil || got.Text != shared.Text {
					t.Errorf("Get(shared) = %q, %v", got.Text, err)
				}
			}
		})
	}
	wg.Go(func() {
		for range perWorker {
			if err := s.List(t.Context(), func(documents.Entry) error { return nil }); err != nil {
				t.Errorf("List: %v", err)
			}
		}
	})
	wg.Wait()
	if seen := listed(t, s); len(seen) != workers*perWorker+1 {
		t.Errorf("List after concurrent puts has %d entries, want %d", len(seen), workers*perWorker+1)
	}
}

func testListCancel(t *testing.T, s documents.Store) {
	var batch []documents.Entry
	for i := range 10 {
		batch = append(batch, sha256Entry(fmt.Sprintf("{ f%d }", i), documents.Meta{}))
	}
	mustPut(t, s, batch...)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := 0
	err := s.List(ctx, func(documents.Entry) error { calls++; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context = %v, want context.Canceled", err)
	}
	if calls != 0 {
		t.Errorf("List with a cancelled context called fn %d times, want none", calls)
	}

	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	calls = 0
	err = s.List(ctx, func(documents.Entry) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("List cancelled part way = %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("List cancelled in its first callback called fn %d times, want 1", calls)
	}
}
