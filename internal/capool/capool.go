// Package capool reads PEM bundles of CA certificates. It imports nothing of
// the project, so that every package can use it (auth cannot import certs,
// which needs the config, which needs auth).
package capool

import (
	"crypto/x509"
	"fmt"
	"os"
)

// Read reads a PEM bundle of CA certificates into a pool. Its errors name
// the file, not the config key: callers add that.
func Read(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
