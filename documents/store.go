package documents

import (
	"context"
	"errors"
	"strings"
)

// ErrNotFound is returned by Store.Get for an id the store does not hold.
var ErrNotFound = errors.New("document not found")

// ErrCorrupt is wrapped by Store.Get's error for an entry whose text does not
// hash to its id (or whose metadata is unreadable): the entry is never
// served, and the resolve stage answers as for an unknown id.
var ErrCorrupt = errors.New("corrupt document")

// ErrConflict is wrapped by Store.Put's error (a *ConflictError) for an
// entry whose id the store already holds with another text.
var ErrConflict = errors.New("document id already registered with another text")

// ConflictError refuses a batch with entries whose ids are registered with
// other texts. A document id names one text for good: a custom id (x-…)
// cannot be verified against its text, and a Relay id is an MD5 or SHA-1,
// which collisions can share, so re-binding one would silently change what
// every client sending it runs.
type ConflictError struct {
	// IDs are the ids refused, in batch order.
	IDs []ID
}

// Error names the ids and what to do instead.
func (e *ConflictError) Error() string {
	ids := make([]string, len(e.IDs))
	for i, id := range e.IDs {
		ids[i] = string(id)
	}
	if len(ids) == 1 {
		return "the id " + ids[0] + " is already registered with another text; an id names one document for good: register the new text under a new id"
	}
	return "the ids " + strings.Join(ids, ", ") + " are already registered with other texts; an id names one document for good: register the new texts under new ids"
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Store holds trusted documents. Every implementation passes the shared
// conformance suite in package documents/storetest.
type Store interface {
	// Get returns the entry stored under id, or an error wrapping
	// ErrNotFound. The entry's text has been verified against its id: an
	// entry whose hash is not its key is never returned.
	Get(ctx context.Context, id ID) (Entry, error)
	// Put stores entries atomically and durably. If any entry's text does
	// not verify against its id, nothing is stored. Storing an entry that
	// is already there with the same text is a no-op, so Put is idempotent.
	// The metadata of an entry that carries some (Entry.CarriesMeta) replaces
	// the stored metadata; an entry that carries none keeps what is stored,
	// so that registering a document again never loses what was registered
	// with it. An entry whose id the store holds with another text (or
	// that a batch lists with two texts) is refused with a *ConflictError,
	// and nothing is stored.
	Put(ctx context.Context, entries []Entry) error
	// List calls fn for every stored entry, in no particular order, until
	// fn returns an error.
	List(ctx context.Context, fn func(Entry) error) error
}

// Notifier is implemented by stores that learn of changes made elsewhere
// (another process, another replica), so that caches can drop what changed.
type Notifier interface {
	// OnChange registers fn to be called with the id of every entry that
	// was added, changed or removed.
	OnChange(fn func(ID))
}
