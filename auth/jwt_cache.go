package auth

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/envelope"
)

// tokenCache remembers verified tokens, so that a client sending the same
// token on every request pays for one signature check, not one per request.
// It is a bounded LRU keyed by the SHA-256 of the token string: the whole
// string, signature included, so a token differing in any byte is a miss.
// An entry is never returned at or after the token's exp, whatever the
// clock skew tolerated when it was verified.
type tokenCache struct {
	mu    sync.Mutex
	limit int
	order *list.List // of *cacheItem, most recently used first
	items map[[sha256.Size]byte]*list.Element
}

// cacheEntry is what a verification proved, and with which key.
type cacheEntry struct {
	principal *envelope.Principal
	issuer    *issuer
	key       *verificationKey
}

type cacheItem struct {
	sum [sha256.Size]byte
	cacheEntry
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{limit: size, order: list.New(), items: map[[sha256.Size]byte]*list.Element{}}
}

// get returns the principal of the token hashing to sum, or nil when it is
// not cached or has expired by now.
func (c *tokenCache) get(sum [sha256.Size]byte, now time.Time) *envelope.Principal {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[sum]
	if !ok {
		return nil
	}
	it := el.Value.(*cacheItem)
	if !now.Before(it.principal.Expires) {
		c.order.Remove(el)
		delete(c.items, sum)
		return nil
	}
	c.order.MoveToFront(el)
	return it.principal
}

// add remembers e for the token hashing to sum, evicting the least recently
// used entry when full. An entry whose key its issuer's current set no
// longer holds is not added: a refresh may have withdrawn the key while the
// token was being verified, and its purge, which holds the same lock after
// the new set is in place, may already have run.
func (c *tokenCache) add(sum [sha256.Size]byte, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if set := e.issuer.keys.Load(); set == nil || !set.holds(e.key) {
		return
	}
	if el, ok := c.items[sum]; ok {
		el.Value.(*cacheItem).cacheEntry = e
		c.order.MoveToFront(el)
		return
	}
	c.items[sum] = c.order.PushFront(&cacheItem{sum: sum, cacheEntry: e})
	if c.order.Len() > c.limit {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheItem).sum)
	}
}

// purge drops every entry drop reports true for.
func (c *tokenCache) purge(drop func(cacheEntry) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if it := el.Value.(*cacheItem); drop(it.cacheEntry) {
			c.order.Remove(el)
			delete(c.items, it.sum)
		}
		el = next
	}
}

// len returns the number of entries.
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// sumBuffers hold token bytes while they are hashed: hashing takes bytes,
// and converting the token string would allocate on every request.
var sumBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// tokenSum is the cache key of token: the SHA-256 of the whole string.
func tokenSum(token string) [sha256.Size]byte {
	bp := sumBuffers.Get().(*[]byte)
	b := append((*bp)[:0], token...)
	sum := sha256.Sum256(b)
	*bp = b[:0]
	sumBuffers.Put(bp)
	return sum
}
