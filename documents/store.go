package documents

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Store.Get for an id the store does not hold.
var ErrNotFound = errors.New("document not found")

// ErrCorrupt is wrapped by Store.Get's error for an entry whose text does not
// hash to its id (or whose metadata is unreadable): the entry is never
// served, and the resolve stage answers as for an unknown id.
var ErrCorrupt = errors.New("corrupt document")

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
	// with it.
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
