package server

import (
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gqlguard/gqlguard/envelope"
)

// plainHTTPHandler answers ACME HTTP-01 challenges when ACME is on, and
// redirects everything else.
func (s *Server) plainHTTPHandler() http.Handler {
	redirect := http.HandlerFunc(s.redirectToHTTPS)
	if s.tls.acme != nil {
		return s.tls.acme.HTTPHandler(redirect)
	}
	return redirect
}

// redirectToHTTPS answers every plain-HTTP request with 308 to the same path
// on HTTPS. It never serves GraphQL: a request sent in clear text has already
// leaked, so it is not answered with data.
//
// The redirect goes only to the gateway's own names. The Host header is the
// client's to choose, and an open redirect would let a link on the
// gateway's domain (or a poisoned cache in front of it) send users to any
// site. A Host that is not one of the names is answered 421 Misdirected
// Request: the header is well-formed (that would be 400), but names an
// authority this listener does not answer for, which is what RFC 9110
// defines 421 for.
func (s *Server) redirectToHTTPS(w http.ResponseWriter, r *http.Request) {
	host := requestHostName(r.Host)
	if host == "" || len(host) > 255 {
		envelope.WriteError(w, r, envelope.Errorf(envelope.CodeBadRequest, "the request has no Host header; send it to the gateway's name"))
		return
	}
	if !s.isPublicHost(host) {
		// The host is not echoed: the body is for whoever chose it.
		e := envelope.Errorf(envelope.CodeBadRequest, "this gateway does not answer for the host the request names; send it over HTTPS to one of the gateway's names")
		e.Status = http.StatusMisdirectedRequest
		envelope.WriteError(w, r, e)
		return
	}
	if strings.Contains(host, ":") { // IPv6
		host = "[" + host + "]"
	}
	if port := s.httpsPort(); port != 443 {
		host += ":" + strconv.Itoa(port)
	}
	w.Header().Set("Location", "https://"+host+r.URL.RequestURI())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusPermanentRedirect)
}

// requestHostName returns the host a Host header names, in one spelling:
// without port, brackets or trailing dot, lower case, an IP address in its
// canonical form.
func requestHostName(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return host
}

// isPublicHost reports whether the redirect may name host (as
// requestHostName spells it): one of server.public_hosts when they are set,
// else a name the TLS config serves: a configured ACME domain, or a name
// some certificate file as last loaded is valid for (its subject alternative
// names, a wildcard standing for one label, as clients check them).
func (s *Server) isPublicHost(host string) bool {
	if len(s.cfg.Server.PublicHosts) > 0 {
		for _, p := range s.cfg.Server.PublicHosts {
			if requestHostName(p) == host {
				return true
			}
		}
		return false
	}
	if s.tls.acme != nil {
		return s.tls.acme.IsDomain(host)
	}
	for _, l := range s.tls.files.Certificates() {
		if l.Cert.Leaf.VerifyHostname(host) == nil {
			return true
		}
	}
	return false
}

func (s *Server) httpsPort() int {
	if s.cfg.Listen.HTTPSPort != 0 {
		return s.cfg.Listen.HTTPSPort
	}
	if s.lnHTTPS != nil {
		if ta, ok := s.lnHTTPS.Addr().(*net.TCPAddr); ok {
			return ta.Port
		}
	}
	return 443
}
