package limits

import (
	"net/netip"
	"testing"
	"time"
)

func TestFailureLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewFailureLimiter(1, 3, func() time.Time { return now })
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if ok, _ := l.Fail(a); !ok {
			t.Fatalf("failure %d refused within the burst", i+1)
		}
	}
	ok, wait := l.Fail(a)
	if ok || wait <= 0 || wait > time.Second {
		t.Errorf("fourth failure: ok=%v wait=%v", ok, wait)
	}
	if blocked, _ := l.Blocked(a); !blocked {
		t.Error("address not blocked after the burst")
	}
	if blocked, _ := l.Blocked(b); blocked {
		t.Error("another address is blocked")
	}
	if ok, _ := l.Fail(b); !ok {
		t.Error("another address limited")
	}
	now = now.Add(1100 * time.Millisecond)
	if ok, _ := l.Fail(a); !ok {
		t.Error("no failure allowed after refilling one token")
	}
	now = now.Add(time.Hour)
	l.Fail(b)
	if len(l.buckets) != 1 {
		t.Errorf("%d buckets kept; refilled ones must be dropped", len(l.buckets))
	}
}

func TestFailureLimiterCountsAnIPv6ClientByItsSlash64(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewFailureLimiter(0.01, 2, func() time.Time { return now })
	for i := range 2 {
		if ok, _ := l.Fail(netip.MustParseAddr("2001:db8:1:2::" + string(rune('a'+i)))); !ok {
			t.Fatalf("failure %d refused within the burst", i+1)
		}
	}
	if ok, _ := l.Fail(netip.MustParseAddr("2001:db8:1:2:ffff::1")); ok {
		t.Error("a fresh address in the same /64 got a fresh budget")
	}
	if blocked, _ := l.Blocked(netip.MustParseAddr("2001:db8:1:2::9")); !blocked {
		t.Error("the /64 is not blocked")
	}
	if ok, _ := l.Fail(netip.MustParseAddr("2001:db8:1:3::1")); !ok {
		t.Error("another /64 is limited")
	}
	if ok, _ := l.Fail(netip.MustParseAddr("::ffff:192.0.2.7")); !ok {
		t.Error("an IPv4-mapped address is limited")
	}
	if ok, _ := l.Fail(netip.MustParseAddr("192.0.2.7")); !ok {
		t.Error("the IPv4 address is limited after one failure")
	}
	if ok, _ := l.Fail(netip.MustParseAddr("192.0.2.7")); ok {
		t.Error("an IPv4 address and its mapped form have two budgets")
	}
}

func TestFailureLimiterStaysBoundedUnderAFlood(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewFailureLimiter(0.01, 1, func() time.Time { return now })
	l.max = 1000
	for i := range 5000 {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Fail(addr)
		if len(l.buckets) > l.max {
			t.Fatalf("%d buckets after %d addresses, want at most %d", len(l.buckets), i+1, l.max)
		}
	}
	// A new attacker is still limited while the map is full.
	a := netip.MustParseAddr("192.0.2.99")
	l.Fail(a)
	if ok, _ := l.Fail(a); ok {
		t.Error("a new address is not limited while the limiter is full")
	}
}
