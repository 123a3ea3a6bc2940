package documents

import (
	"container/list"
	"sync"
)

// Cache keeps the most recently used parsed documents, up to a fixed count.
// It is safe for concurrent use.
//
// A document read from the store while the store changes must not be
// cached: Remove may run between the read and Add, and the stale document
// (perhaps one no longer public) would then stay cached until evicted. So a
// caller reads Generation before it reads the store and adds with
// AddIfCurrent, which caches nothing if Remove ran in between.
type Cache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[ID]*list.Element
	gen   uint64 // incremented by every Remove
}

// NewCache returns a cache of at most size documents (at least one).
func NewCache(size int) *Cache {
	return &Cache{max: max(size, 1), ll: list.New(), items: make(map[ID]*list.Element)}
}

// Get returns the cached document for id.
func (c *Cache) Get(id ID) (*Document, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[id]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*Document), true
}

// Add stores d under id, evicting the least recently used document when
// full, and returns the document now cached under id (an earlier one wins a
// race, so every caller shares one parsed copy).
func (c *Cache) Add(id ID, d *Document) *Document {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.add(id, d)
}

// Generation returns a number that changes with every Remove. Read it
// before reading a document from the store, and give it to AddIfCurrent.
func (c *Cache) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// AddIfCurrent is Add if Remove has not run since Generation returned gen.
// Otherwise the store changed while d was read, so d may be stale: it is not
// cached, and the document cached under id since, if any, is returned in
// its place (else d, for this one request).
func (c *Cache) AddIfCurrent(id ID, d *Document, gen uint64) *Document {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, cached := c.items[id]; cached || c.gen == gen {
		return c.add(id, d) // the cached one, or d cached
	}
	return d
}

// add is Add with c.mu held.
func (c *Cache) add(id ID, d *Document) *Document {
	if e, ok := c.items[id]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*Document)
	}
	c.items[id] = c.ll.PushFront(d)
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*Document).ID)
	}
	return d
}

// Remove drops id, for example when the store reports that it changed.
func (c *Cache) Remove(id ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e, ok := c.items[id]; ok {
		c.ll.Remove(e)
		delete(c.items, id)
	}
}

// Len returns the number of cached documents.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
