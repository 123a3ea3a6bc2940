// Package clientip decides who the client of a request is when some peers are
// trusted proxies that report the client in X-Forwarded-For.
package clientip

import (
	"net/http"
	"net/netip"
	"strings"
)

// Trusted is a set of proxy networks whose forwarding headers are believed.
// The zero value trusts no one: the client is always the TCP peer.
type Trusted []netip.Prefix

// Peer returns the address of the TCP peer of r.
func Peer(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Contains reports whether addr is a trusted proxy.
func (t Trusted) Contains(addr netip.Addr) bool {
	for _, p := range t {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientIP returns the client's address: the peer, unless the peer is a
// trusted proxy, in which case X-Forwarded-For is read from the right and the
// first address that is not a trusted proxy is the client. Entries left of
// that are client-controlled and ignored, so a client cannot forge its
// address by sending X-Forwarded-For itself.
func (t Trusted) ClientIP(r *http.Request) netip.Addr {
	peer := Peer(r)
	if len(t) == 0 || !t.Contains(peer) {
		return peer
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		parts := strings.Split(values[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer
			}
			a = a.Unmap()
			if !t.Contains(a) {
				return a
			}
		}
	}
	return peer
}
