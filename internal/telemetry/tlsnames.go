package telemetry

import "crypto/tls"

// cipherNames caches tls.CipherSuiteName, which builds two fresh slices of
// every suite on each call: too costly for a line logged per request.
var cipherNames = func() map[uint16]string {
	m := map[uint16]string{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		m[s.ID] = s.Name
	}
	return m
}()

// CipherSuiteName returns the standard name of a cipher suite, or
// "unknown".
func CipherSuiteName(id uint16) string {
	if n, ok := cipherNames[id]; ok {
		return n
	}
	return "unknown"
}

// TLSVersionName returns the name of a TLS version ("TLS 1.3").
func TLSVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLS 1.3"
	case tls.VersionTLS12:
		return "TLS 1.2"
	}
	return tls.VersionName(v)
}
