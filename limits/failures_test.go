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
