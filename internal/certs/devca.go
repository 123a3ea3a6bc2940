package certs

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names of the development CA inside its directory.
const (
	caCertName     = "ca.pem"
	caKeyName      = "ca-key.pem"
	serverCertName = "localhost.pem"
	serverKeyName  = "localhost-key.pem"
)

// minRemaining is how long a server certificate must stay valid to be reused.
const minRemaining = 30 * 24 * time.Hour

// DevCA describes the files of a development CA and the server certificate
// it issued, as left on disk by EnsureDevCA.
type DevCA struct {
	// CAFile is the CA certificate in PEM, the file clients add to their
	// trust store.
	CAFile string
	// CAKeyFile is the CA's private key in PEM (PKCS #8), mode 0600.
	CAKeyFile string
	// CertFile is the server certificate in PEM. It holds the leaf only:
	// the CA is a root that clients must already trust, so sending it in
	// the handshake would add nothing.
	CertFile string
	// KeyFile is the server certificate's private key in PEM (PKCS #8),
	// mode 0600.
	KeyFile string
	// CAFingerprint is the SHA-256 fingerprint of the CA certificate as
	// colon-separated uppercase hex, the way browsers and openssl show it.
	CAFingerprint string
	// NotAfter is when the server certificate expires.
	NotAfter time.Time
	// CACreated reports whether this run generated a new CA, which clients
	// have to trust anew.
	CACreated bool
	// CertIssued reports whether this run issued a new server certificate.
	CertIssued bool
}

// DefaultHosts returns the hosts a development server certificate covers
// unless told otherwise: localhost over IPv4 and IPv6.
func DefaultHosts() []string {
	return []string{"localhost", "127.0.0.1", "::1"}
}

// EnsureDevCA makes sure dir holds a development CA and a server
// certificate for hosts (DNS names or IP addresses) that is valid at now for
// at least 30 more days, and returns where they are. All paths are absolute.
//
// Files that are still usable are kept. A server certificate that does not
// parse, does not match its key, does not chain to the CA, misses one of
// hosts or expires within 30 days is re-issued from the existing CA, so
// clients that trust the CA keep working. A CA that is missing, does not
// parse or will expire within a server certificate's lifetime is replaced,
// together with the server certificate. The directory is created with mode
// 0700 if needed; every file is written atomically.
func EnsureDevCA(dir string, hosts []string, now time.Time) (*DevCA, error) {
	sans, err := parseHosts(hosts)
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	d := &DevCA{
		CAFile:    filepath.Join(dir, caCertName),
		CAKeyFile: filepath.Join(dir, caKeyName),
		CertFile:  filepath.Join(dir, serverCertName),
		KeyFile:   filepath.Join(dir, serverKeyName),
	}

	ca, err := loadCA(d.CAFile, d.CAKeyFile, now)
	if replaceable(err) {
		d.CACreated = true
		ca, err = newCA(now)
		if err == nil {
			err = ca.save(d.CAFile, d.CAKeyFile)
		}
	}
	if err != nil {
		return nil, err
	}

	server, err := loadServerCert(d.CertFile, d.KeyFile, ca, hosts, now)
	if d.CACreated || replaceable(err) {
		d.CertIssued = true
		server, err = issueServerCert(ca, sans, now)
		if err == nil {
			err = server.save(d.CertFile, d.KeyFile)
		}
	}
	if err != nil {
		return nil, err
	}

	d.CAFingerprint = fingerprint(ca.cert.Raw)
	d.NotAfter = server.cert.NotAfter
	return d, nil
}

// replaceable reports whether err means a file is missing or unusable, so
// that it may be generated again, rather than unreadable for another reason.
func replaceable(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, errUnusable)
}

// fingerprint formats the SHA-256 digest of der as AB:CD:….
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
