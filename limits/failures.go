package limits

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// FailureLimiter counts failures (failed authentications) per client
// address in token buckets: each address may fail Burst times at once and
// Rate times a second after that. An IPv6 client is counted by its /64, the
// block one subscriber gets, so that it cannot use fresh addresses for fresh
// budgets. Only failures are counted, so clients that succeed are never
// slowed down. It is safe for concurrent use, and bounded: buckets that have
// refilled are dropped, and past maxBuckets an arbitrary bucket makes room
// for a new one.
type FailureLimiter struct {
	rate  float64
	burst float64
	now   func() time.Time
	max   int // buckets kept at most

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds memory under a flood from many addresses.
const maxBuckets = 100_000

// NewFailureLimiter returns a limiter of rate failures a second with bursts
// of burst. now may be nil.
func NewFailureLimiter(rate float64, burst int, now func() time.Time) *FailureLimiter {
	if now == nil {
		now = time.Now
	}
	return &FailureLimiter{rate: rate, burst: float64(burst), now: now, max: maxBuckets, buckets: map[netip.Addr]*bucket{}}
}

// Fail records a failure from addr. It reports whether the failure is within
// the limit and, when it is not, how long until the next one would be.
func (l *FailureLimiter) Fail(addr netip.Addr) (bool, time.Duration) {
	addr = key(addr)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybeSweep(now)
	b := l.buckets[addr]
	if b == nil {
		l.makeRoom()
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[addr] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// Blocked reports whether addr has used up its failures, without counting
// one.
func (l *FailureLimiter) Blocked(addr netip.Addr) (bool, time.Duration) {
	addr = key(addr)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		return false, 0
	}
	tokens := math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / l.rate * float64(time.Second))
}

// maybeSweep drops buckets that have refilled, at most once a second: a
// sweep walks every bucket, so a flood of new addresses must not cause one
// per failure.
func (l *FailureLimiter) maybeSweep(now time.Time) {
	if now.Sub(l.sweep) < time.Second {
		return
	}
	l.sweep = now
	full := l.burst / l.rate
	for addr, b := range l.buckets {
		if now.Sub(b.last).Seconds() >= full-b.tokens/l.rate {
			delete(l.buckets, addr)
		}
	}
}

// makeRoom drops one arbitrary bucket when the limiter is full.
func (l *FailureLimiter) makeRoom() {
	if len(l.buckets) < l.max {
		return
	}
	for addr := range l.buckets {
		delete(l.buckets, addr)
		return
	}
}

// key is the address failures are counted under: an IPv4 address as it is,
// an IPv6 address by its /64.
func key(addr netip.Addr) netip.Addr {
	addr = addr.Unmap()
	if !addr.Is6() {
		return addr
	}
	p, err := addr.WithZone("").Prefix(64)
	if err != nil {
		return addr
	}
	return p.Addr()
}
