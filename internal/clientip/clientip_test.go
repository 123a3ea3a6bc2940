package clientip

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := Trusted{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		trusted Trusted
		peer    string
		xff     []string
		want    string
	}{
		{"no trusted proxies: forged header ignored", nil, "203.0.113.9:1234", []string{"1.2.3.4"}, "203.0.113.9"},
		{"untrusted peer: forged header ignored", trusted, "203.0.113.9:1234", []string{"1.2.3.4"}, "203.0.113.9"},
		{"trusted peer: rightmost untrusted entry", trusted, "10.0.0.1:1234", []string{"1.2.3.4, 198.51.100.7, 10.0.0.2"}, "198.51.100.7"},
		{"trusted peer, several headers", trusted, "10.0.0.1:1234", []string{"1.2.3.4", "198.51.100.7"}, "198.51.100.7"},
		{"trusted peer, garbage entry falls back to peer", trusted, "10.0.0.1:1234", []string{"nonsense"}, "10.0.0.1"},
		{"trusted peer without header", trusted, "10.0.0.1:1234", nil, "10.0.0.1"},
		{"IPv4-mapped peer", trusted, "[::ffff:10.0.0.1]:1", []string{"198.51.100.7"}, "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tt.trusted.ClientIP(r); got.String() != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
