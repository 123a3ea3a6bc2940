package cors

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Canonical returns an allowlist entry in the only spelling browsers send in
// an Origin header: the ASCII serialisation of an origin (RFC 6454 §6.2,
// the URL Standard's "serialization of an origin"), that is the scheme and
// host in lowercase, the port only when it is not the scheme's default, and
// nothing after it. A pattern keeps its leading "*." label. Canonical
// returns an error for an entry that is no origin at all: a scheme other
// than http and https, no host, a bad port, a host that is not ASCII, a
// wildcard anywhere but as the whole first label.
//
// The stage compares origins as exact strings, so an entry whose canonical
// form differs from it would never match what a browser sends; New refuses
// such entries instead of quietly fixing them.
func Canonical(entry string) (string, error) {
	return canonical(entry, true)
}

// canonical is Canonical; pattern allows a leading "*." label.
func canonical(entry string, pattern bool) (string, error) {
	u, err := url.Parse(entry)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "", fmt.Errorf("%q is not an origin like https://app.example.com", entry)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", fmt.Errorf("%q: the scheme must be https or http", entry)
	}
	host, err := canonicalHost(u, pattern)
	if err != nil {
		return "", fmt.Errorf("%q: %w", entry, err)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%q: %q is not a port", entry, p)
		}
		if !(scheme == "https" && n == 443 || scheme == "http" && n == 80) {
			host += ":" + strconv.Itoa(n)
		}
	}
	return scheme + "://" + host, nil
}

// canonicalHost returns u's host as browsers serialise it: an IPv6 address
// in brackets and its shortest form, an IPv4 address in dotted decimal, a
// domain in lowercase.
func canonicalHost(u *url.URL, pattern bool) (string, error) {
	name := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		ip, err := netip.ParseAddr(name)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", fmt.Errorf("%q is not an IPv6 address", name)
		}
		return "[" + ip.String() + "]", nil
	}
	if ip, err := netip.ParseAddr(name); err == nil && ip.Is4() {
		return ip.String(), nil
	}
	name = strings.ToLower(name)
	rest, wild := strings.CutPrefix(name, "*.")
	if wild && !pattern {
		return "", errors.New("a wildcard is not an origin")
	}
	if wild && !strings.Contains(rest, ".") {
		return "", errors.New("a wildcard must leave at least a registrable domain (https://*.example.com)")
	}
	if strings.Contains(rest, "*") {
		return "", errors.New("a wildcard must be the whole first label, and only one (https://*.example.com)")
	}
	if len(rest) > 253 {
		return "", errors.New("the host name is longer than 253 characters")
	}
	labels := strings.Split(rest, ".")
	for _, l := range labels {
		if !hostLabel(l) {
			return "", fmt.Errorf("%q is not a host name: write it in ASCII (an internationalised name as punycode, xn--…), in labels of letters, digits, - and _", u.Hostname())
		}
	}
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		// Browsers read a host that ends in a number as an IPv4 address
		// and rewrite it (127.000.0.1 is sent as 127.0.0.1).
		return "", fmt.Errorf("%q is not an IPv4 address as browsers write it (four decimal numbers, no leading zeros)", u.Hostname())
	}
	return name, nil
}

// hostLabel reports whether l is one label of a host name as browsers
// serialise it: 1 to 63 lowercase letters, digits, hyphens or underscores.
func hostLabel(l string) bool {
	if l == "" || len(l) > 63 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
